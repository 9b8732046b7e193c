"""The questionnaire as pages, the draft kept between pages, admission by code, and the submit.

Everything here is independent of the HTTP details (cookies, templates) so that the resident's
pages and the staff's paper/phone entry page share one set of rules.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, select, update

from ..context import current_agency, fill, locale_code
from ..db import db
from ..instrument_store import definition_of
from ..instruments import InstrumentDef, Item, Option, cached_instrument
from ..models import (
    Answer,
    Channel,
    InstrumentVersion,
    Invitation,
    Response,
    Sample,
    SurveyDraft,
    Wave,
    WaveMode,
    WaveStratum,
    random_id,
    today,
    utcnow,
)
from ..security import is_well_formed, keyed_hash, normalize_code

#: Invitation codes carry 72 bits (15 characters of the code alphabet), as the demo and letters make them.
CODE_BITS = 72
#: How long an unfinished questionnaire is kept (the expiry is rounded up to the hour).
DRAFT_HOURS = 4
#: The answer key of the "which area do you live in" question asked in open-link waves.
STRATUM_KEY = "stratum_area"
#: Draft bookkeeping keys start with "_" (item keys never do).
LAST_PAGE = "_at"


class AlreadySent(Exception):
    """The draft is gone: its answers were already submitted (a double tap, reload or replay)."""


class CodeAlreadyUsed(Exception):
    """The invitation was used by another submission (e.g. the same code on a second phone)."""


@dataclass(frozen=True)
class Page:
    key: str
    title: Mapping[str, str]
    items: tuple[Item, ...]
    single: bool = False  # one question: the question itself is the page's h1

    def shown_items(self, answers: Mapping[str, Any]) -> list[Item]:
        return [item for item in self.items if item.is_shown(answers)]


def instrument_of(wave: AnyWave, content_hash: str | None = None) -> InstrumentDef:
    """The wave's instrument without loading its stored definition on every page view.

    Only the version's content hash is read (or passed in by a caller that already fetched it);
    the definition is loaded only when no instrument was rebuilt for that hash yet, so an edited
    (not yet used) version is still picked up.
    """
    if content_hash is None:
        content_hash = db.session.scalar(
            select(InstrumentVersion.content_hash).where(InstrumentVersion.id == wave.instrument_version_id)
        )
    return cached_instrument(content_hash) or definition_of(db.session.get(InstrumentVersion, wave.instrument_version_id))


def text_in(mapping: Mapping[str, str], lang: str) -> str:
    """Questionnaire text in ``lang``, else English, with {agency} and {city} filled."""
    value = mapping.get(lang) or mapping.get("en") or next(iter(mapping.values()), "")
    return fill(value)


def survey_language(inst: InstrumentDef, wave: AnyWave) -> str:
    """The resident's language when the wave offers it, else English (the source language)."""
    lang = locale_code()
    if lang in wave.languages and lang in inst.languages:
        return lang
    return "en" if "en" in inst.languages else next(iter(inst.languages))


def stratum_item(wave: AnyWave) -> Item:
    """The "which area" question open-link waves ask (their strata), built in the current language."""
    lang = locale_code()
    options = tuple(
        Option(code=n, text={lang: stratum.name}) for n, stratum in enumerate(wave.strata, start=1)
    )
    return Item(
        key=STRATUM_KEY,
        type="choice",
        section="_area",
        text={lang: _("Which area of %(city)s do you live in?", city=current_agency().city)},
        hint={},
        options=options,
    )


#: What a survey page may hold, in CSS pixels of estimated height on a 360 px phone: with the
#: header, the progress line, the heading and the Continue button the page stays within about
#: two screens of 640 px. Long sections are split into several pages.
PAGE_BUDGET = 860
#: Characters per line of a question (bold) and of an answer label at 360 px, and line height.
_QUESTION_CHARS, _LABEL_CHARS, _LINE = 32, 30, 24


def _lines(texts: Mapping[str, str], per_line: int) -> int:
    """Lines the longest translation of a text needs (every language gets the same pages)."""
    longest = max((len(t) for t in texts.values()), default=0)
    return -(-longest // per_line) if longest else 0


def item_height(item: Item) -> int:
    """The estimated height of a question on a 360 px phone, in CSS pixels."""
    height = 24 + 8 + _LINE * _lines(item.text, _QUESTION_CHARS) + _LINE * _lines(item.hint, _LABEL_CHARS + 6)
    choice = 8 + 44  # "Prefer not to say" and any one-line answer: a 44 px target and the gap
    if item.type == "scale":
        return height + 44 + 48 + 16 + choice
    if item.type == "text":
        return height + 4 * _LINE + 24 + _LINE
    for option in item.options:
        height += 8 + max(44, 20 + _LINE * _lines(option.text, _LABEL_CHARS))
    return height + choice


def _fill_pages(items: list[Item], budget: int = PAGE_BUDGET) -> list[tuple[Item, ...]]:
    """Consecutive items in the fewest pages that hold them within ``budget`` (a question taller
    than that alone on its page), the tallest page as short as possible: six short questions make
    two pages of three, not five and one. Sections are short, so every split is tried."""
    heights = [item_height(item) for item in items]
    best: tuple[tuple[int, int], list[tuple[Item, ...]]] | None = None
    for cuts in range(2 ** max(len(items) - 1, 0)):
        groups: list[tuple[Item, ...]] = [(items[0],)]
        tallest, used = 0, heights[0]
        for k in range(1, len(items)):
            if cuts >> (k - 1) & 1:
                tallest = max(tallest, used)
                groups.append((items[k],))
                used = heights[k]
            else:
                groups[-1] = (*groups[-1], items[k])
                used += heights[k]
        tallest = max(tallest, used)
        fits = all(len(g) == 1 or sum(item_height(i) for i in g) <= budget for g in groups)
        score = (len(groups), tallest)
        if fits and (best is None or score < best[0]):
            best = (score, groups)
    return best[1] if best else [(item,) for item in items]


def build_pages(inst: InstrumentDef, wave: AnyWave, *, ask_stratum: bool | None = None) -> list[Page]:
    """One page per section, or several when a section would not fit about two phone screens
    (:data:`PAGE_BUDGET`); an item marked ``own_page`` gets a page to itself."""
    pages: list[Page] = []
    for section in inst.sections:
        # Consecutive items share a page; an own_page item splits the section around itself.
        runs: list[list[Item]] = []
        for item in inst.items_in(section):
            if item.own_page or not runs or runs[-1][0].own_page:
                runs.append([item])
            else:
                runs[-1].append(item)
        groups = [group for run in runs for group in ([tuple(run)] if run[0].own_page else _fill_pages(run))]
        shared = 0
        for group in groups:
            if group[0].own_page:
                pages.append(Page(group[0].key.replace("_", "-"), section.title, group, single=True))
            else:
                shared += 1
                key = section.key if shared == 1 else f"{section.key}-{shared}"
                pages.append(Page(key, section.title, group))
    if ask_stratum is None:
        ask_stratum = wave.mode == WaveMode.OPEN_LINK
    if ask_stratum and wave.strata:
        item = stratum_item(wave)
        pages.append(Page("area", {}, (item,), single=True))
    return pages


def visible_pages(pages: Iterable[Page], answers: Mapping[str, Any]) -> list[Page]:
    return [page for page in pages if page.shown_items(answers)]


def progress(pages: list[Page], current: Page, answers: Mapping[str, Any]) -> tuple[int, int]:
    """"Page N of M" for ``current``: M counts the pages the routing shows, and a page whose
    question depends on a question not yet answered (on this page or later) as shown, so M is
    known from the first page and only falls when an answer skips pages."""
    at = pages.index(current)
    page_of = {item.key: index for index, page in enumerate(pages) for item in page.items}

    def may_show(item: Item) -> bool:
        gate = item.show_if["item"] if item.show_if else None
        if gate and answers.get(gate) is None and page_of.get(gate, -1) >= at:
            return True
        return item.is_shown(answers)

    counted = [page for page in pages if page is current or any(may_show(item) for item in page.items)]
    return counted.index(current) + 1, len(counted)


def next_page(pages: list[Page], current: Page, answers: Mapping[str, Any]) -> Page | None:
    after = pages[pages.index(current) + 1 :]
    return next((p for p in after if p.shown_items(answers)), None)


def previous_page(pages: list[Page], current: Page, answers: Mapping[str, Any]) -> Page | None:
    before = pages[: pages.index(current)]
    return next((p for p in reversed(before) if p.shown_items(answers)), None)


# ------------------------------------------------------------------ drafts


def _expiry() -> dt.datetime:
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    return hour + dt.timedelta(hours=DRAFT_HOURS + 1)


def draft_id(token: str) -> str:
    """Drafts are stored under a keyed hash of the cookie's token, never the token itself."""
    return keyed_hash("draft", token)


def new_draft(wave: Wave, invitation: Invitation | None) -> tuple[str, SurveyDraft]:
    """Start a questionnaire: returns the cookie token and the stored draft (committed)."""
    wave_id = wave.id
    invitation_id = invitation.id if invitation else None
    stratum = invitation.stratum if invitation else None
    token = secrets.token_urlsafe(32)
    session = db.write()
    session.execute(delete(SurveyDraft).where(SurveyDraft.expires_at < utcnow()))
    draft = SurveyDraft(
        id=draft_id(token),
        wave_id=wave_id,
        invitation_id=invitation_id,
        stratum=stratum,
        answers={},
        expires_at=_expiry(),
    )
    session.add(draft)
    if invitation_id is not None:
        session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.started_on.is_(None))
            .values(started_on=today())
        )
    session.commit()
    return token, draft


@dataclass
class DraftRow:
    """The draft as a page reads it (writes go through the table statements below)."""

    id: str
    wave_id: int
    invitation_id: int | None
    stratum: str | None
    answers: dict[str, Any]
    expires_at: dt.datetime


@dataclass
class WaveRow:
    """What a survey page needs of its wave, read as plain columns with the draft.

    Loading the draft and the wave as ORM objects cost as much as the rest of the page's query
    work; the open/closed rules are the model's own (:meth:`Wave.is_open`).
    """

    id: int
    agency_id: int
    mode: WaveMode
    opens_on: dt.date
    closes_on: dt.date
    closed_early_on: dt.date | None
    languages: list[str]
    instrument_version_id: int

    last_day = Wave.last_day
    is_open = Wave.is_open

    @cached_property
    def strata(self) -> list[WaveStratum]:
        """The wave's strata by name (asked only by open-link waves' area question)."""
        return list(db.session.scalars(
            select(WaveStratum).where(WaveStratum.wave_id == self.id).order_by(WaveStratum.name)
        ))


#: A draft or wave as the survey pages use them: the ORM object when just created, otherwise the
#: plain row :func:`load_current` reads. Both have the attributes the functions here read.
AnyDraft = SurveyDraft | DraftRow
AnyWave = Wave | WaveRow


def load_current(token: str | None) -> tuple[DraftRow, WaveRow, str] | None:
    """The live draft of this cookie with its wave and the wave's instrument content hash.

    One query of plain columns: every survey page needs all of them (see bench/load_survey.py).
    """
    if not token or len(token) > 100:
        return None
    row = db.session.connection().execute(_CURRENT, {"draft_id": draft_id(token), "now": utcnow()}).first()
    if row is None:
        return None
    draft = DraftRow(row.id, row.wave_id, row.invitation_id, row.stratum, row.answers, row.expires_at)
    wave = WaveRow(row.wave_id, row.agency_id, row.mode, row.opens_on, row.closes_on, row.closed_early_on,
                   row.languages, row.instrument_version_id)
    return draft, wave, row.content_hash


# Built once: constructing the statement cost more than running it.
_DRAFTS, _W, _V = SurveyDraft.__table__, Wave.__table__, InstrumentVersion.__table__
_CURRENT = (
    select(
        _DRAFTS.c.id, _DRAFTS.c.wave_id, _DRAFTS.c.invitation_id, _DRAFTS.c.stratum, _DRAFTS.c.answers, _DRAFTS.c.expires_at,
        _W.c.agency_id, _W.c.mode, _W.c.opens_on, _W.c.closes_on, _W.c.closed_early_on, _W.c.languages,
        _W.c.instrument_version_id, _V.c.content_hash,
    )
    .join(_W, _W.c.id == _DRAFTS.c.wave_id)
    .join(_V, _V.c.id == _W.c.instrument_version_id)
    .where(_DRAFTS.c.id == bindparam("draft_id"), _DRAFTS.c.expires_at > bindparam("now"))
)


def merge_answers(draft: AnyDraft, wave: AnyWave, page: Page, values: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The draft's answers with this page's replaced (an emptied question is removed), and the stratum."""
    answers = dict(draft.answers or {})
    for item in page.items:
        value = values.get(item.key)
        if value in (None, "", []):
            answers.pop(item.key, None)
        else:
            answers[item.key] = value
    answers[LAST_PAGE] = page.key
    stratum = draft.stratum
    if any(item.key == STRATUM_KEY for item in page.items):
        code = answers.get(STRATUM_KEY)
        names = [s.name for s in wave.strata]
        stratum = names[code - 1] if isinstance(code, int) and 1 <= code <= len(names) else None
    return answers, stratum


def save_answers(draft: AnyDraft, answers: dict[str, Any], stratum: str | None) -> bool:
    """Store the answers and extend the draft; False when the draft is gone (already submitted)."""
    expires = _expiry()
    session = db.write()
    updated = session.connection().execute(
        _SAVE, {"draft_id": draft.id, "new_answers": answers, "new_stratum": stratum, "new_expiry": expires}
    ).rowcount
    session.commit()
    draft.answers, draft.stratum, draft.expires_at = answers, stratum, expires
    return updated == 1


# A plain table UPDATE built once: the ORM's bulk-update machinery cost more than the write itself.
_SAVE = (
    _DRAFTS.update()
    .where(_DRAFTS.c.id == bindparam("draft_id"))
    .values(
        answers=bindparam("new_answers", type_=_DRAFTS.c.answers.type),
        stratum=bindparam("new_stratum", type_=_DRAFTS.c.stratum.type),
        expires_at=bindparam("new_expiry", type_=_DRAFTS.c.expires_at.type),
    )
)


def seconds_left(draft: AnyDraft) -> int:
    expires = draft.expires_at if draft.expires_at.tzinfo else draft.expires_at.replace(tzinfo=dt.UTC)
    return max(0, int((expires - utcnow()).total_seconds()))


# ------------------------------------------------------------------ admission


def find_invitation(typed: str) -> Invitation | None:
    """The unused invitation for a typed code in an open wave of this agency, else None.

    Unknown, malformed, used and expired codes all give None: callers show one message for all.
    """
    normalized = normalize_code(typed or "")
    if not is_well_formed(normalized, CODE_BITS):
        return None
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.code_hash == keyed_hash("invitation", normalized))
    ).first()
    if invitation is None or invitation.used_on is not None:
        return None
    wave = db.session.get(Wave, invitation.wave_id)
    if wave is None or wave.agency_id != current_agency().id or not wave.is_open():
        return None
    return invitation


def open_waves(mode: WaveMode | None = None) -> list[Wave]:
    agency = current_agency()
    query = select(Wave).where(Wave.agency_id == agency.id).order_by(Wave.opens_on, Wave.id)
    if mode is not None:
        query = query.where(Wave.mode == mode)
    return [wave for wave in db.session.scalars(query) if wave.is_open()]


# ------------------------------------------------------------------ submit


def answer_values(inst: InstrumentDef, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Answer rows (as column values) for every item the skip logic shows; hidden items' stale answers are dropped."""
    rows: list[dict[str, Any]] = []
    for key, item in inst.items.items():
        value = answers.get(key)
        if value in (None, "", []) or not item.is_shown(answers):
            continue
        if item.type == "multi":
            rows.extend({"item_key": key, "ordinal": n, "code": int(code), "text": None} for n, code in enumerate(value))
        elif item.type == "text":
            rows.append({"item_key": key, "ordinal": 0, "code": None, "text": str(value)})
        else:
            rows.append({"item_key": key, "ordinal": 0, "code": int(value), "text": None})
    return rows


def answer_rows(inst: InstrumentDef, answers: Mapping[str, Any]) -> list[Answer]:
    """The same as :func:`answer_values`, as ORM rows."""
    return [Answer(**values) for values in answer_values(inst, answers)]


# Plain table statements built once for the submit: the ORM's unit of work for a response and
# its forty-odd answers cost several times the writes themselves.
_INVITATIONS = Invitation.__table__
_DELETE_DRAFT = _DRAFTS.delete().where(_DRAFTS.c.id == bindparam("draft_id"))
_USE_CODE = (
    _INVITATIONS.update()
    .where(_INVITATIONS.c.id == bindparam("invitation_id"), _INVITATIONS.c.used_on.is_(None))
    .values(used_on=bindparam("day", type_=_INVITATIONS.c.used_on.type))
)
_CODE_DESIGN = select(_INVITATIONS.c.stratum, _INVITATIONS.c.selection_probability).where(
    _INVITATIONS.c.id == bindparam("invitation_id")
)
_INSERT_RESPONSE = Response.__table__.insert()
_INSERT_ANSWERS = Answer.__table__.insert()


def submit_draft(
    draft: AnyDraft,
    wave: AnyWave,
    language: str,
    answers: Mapping[str, Any],
    stratum: str | None,
    inst: InstrumentDef | None = None,
) -> str:
    """Store the draft as a response in ONE transaction that also uses up the code and the draft.

    The guards are the row counts of ``DELETE draft`` and ``UPDATE invitation ... WHERE used_on IS
    NULL``: on SQLite the transaction holds the write lock from its start; on PostgreSQL the second
    of two concurrent submits waits on the row lock and then finds nothing to delete or update.
    Returns the new response's id.
    """
    inst = inst or instrument_of(wave)
    draft_key, invitation_id, wave_id = draft.id, draft.invitation_id, wave.id
    rows = answer_values(inst, answers)
    session = db.write()
    conn = session.connection()
    if conn.execute(_DELETE_DRAFT, {"draft_id": draft_key}).rowcount != 1:
        session.rollback()
        raise AlreadySent
    probability: float | None = None
    sample = Sample.NONPROBABILITY
    if invitation_id is not None:
        used = conn.execute(_USE_CODE, {"invitation_id": invitation_id, "day": today()}).rowcount
        if used != 1:
            session.rollback()
            # The code was used from elsewhere: this draft can never be sent, so drop it.
            db.write().connection().execute(_DELETE_DRAFT, {"draft_id": draft_key})
            db.session.commit()
            raise CodeAlreadyUsed
        invitation = conn.execute(_CODE_DESIGN, {"invitation_id": invitation_id}).one()
        probability = invitation.selection_probability
        stratum = invitation.stratum
        sample = Sample.PROBABILITY
    response_id = random_id()
    conn.execute(_INSERT_RESPONSE, {
        "id": response_id, "wave_id": wave_id, "stratum": stratum, "language": language, "channel": Channel.WEB,
        "selection_probability": probability, "sample": sample, "submitted_on": today(),
    })
    if rows:
        conn.execute(_INSERT_ANSWERS, [{**row, "response_id": response_id} for row in rows])
    session.commit()
    return response_id


def store_keyed_response(
    wave: Wave,
    answers: Mapping[str, Any],
    *,
    channel: Channel,
    language: str,
    stratum: str | None,
    code: str | None,
) -> Response:
    """Store a paper or phone questionnaire keyed in by staff, using up its code if it had one.

    Raises :class:`CodeAlreadyUsed` when the code is unknown, used or belongs to another wave.
    """
    inst = instrument_of(wave)
    session = db.write()
    probability: float | None = None
    sample = Sample.NONPROBABILITY if wave.mode == WaveMode.OPEN_LINK else Sample.PROBABILITY
    if code:
        code_hash = keyed_hash("invitation", normalize_code(code))
        invitation = session.scalars(
            select(Invitation).where(Invitation.code_hash == code_hash, Invitation.wave_id == wave.id)
        ).first()
        used = 0
        if invitation is not None:
            used = session.execute(
                update(Invitation)
                .where(Invitation.id == invitation.id, Invitation.used_on.is_(None))
                .values(used_on=today(), started_on=invitation.started_on or today())
            ).rowcount
        if used != 1 or invitation is None:
            session.rollback()
            raise CodeAlreadyUsed
        probability = invitation.selection_probability
        stratum = invitation.stratum or stratum
        sample = Sample.PROBABILITY
    elif wave.mode == WaveMode.INVITATION and stratum:
        # A mailed paper form without its code: the stratum's design probability still applies.
        probability = session.scalar(
            select(Invitation.selection_probability)
            .where(Invitation.wave_id == wave.id, Invitation.stratum == stratum)
            .limit(1)
        )
        if probability is None:
            sample = Sample.NONPROBABILITY
    else:
        sample = Sample.NONPROBABILITY
    response = Response(
        wave_id=wave.id,
        stratum=stratum,
        language=language,
        channel=channel,
        selection_probability=probability,
        sample=sample,
        submitted_on=today(),
        answers=answer_rows(inst, answers),
    )
    session.add(response)
    session.commit()
    return response
