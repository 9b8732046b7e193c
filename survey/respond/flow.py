"""The questionnaire as pages, the draft kept between pages, admission by code, and the submit.

Everything here is independent of the HTTP details (cookies, templates) so that the resident's
pages and the staff's paper/phone entry page share one set of rules.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, select, update

from .. import crypto
from ..context import current_agency, fill, locale_code
from ..db import db
from ..instrument_store import definition_of
from ..instruments import InstrumentDef, Item, Option, cached_instrument
from ..models import (
    Answer,
    AreaKind,
    AreaSource,
    Channel,
    InstrumentVersion,
    Invitation,
    Response,
    Sample,
    SurveyDraft,
    Wave,
    WaveArea,
    WaveMode,
    WaveStratum,
    random_id,
    this_week,
    utcnow,
)
from ..security import is_well_formed, keyed_hash, normalize_code

#: Invitation codes carry 72 bits (15 characters of the code alphabet), as the demo and letters make them.
CODE_BITS = 72
#: How long an unfinished questionnaire is kept (the expiry is rounded up to the hour).
DRAFT_HOURS = 4
#: The answer key of the "which area do you live in" question asked in open-link waves.
STRATUM_KEY = "stratum_area"
#: The answer key of the "which neighborhood (or beat)" question of waves whose residents give their area.
AREA_KEY = "small_area"
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


def area_item(wave: AnyWave) -> Item:
    """The "which neighborhood (or beat)" question of waves whose residents give their small area."""
    lang = locale_code()
    city = current_agency().city
    if wave.area_kind == AreaKind.BEAT:
        text = _("Which police beat of %(city)s do you live in?", city=city)
    else:
        text = _("Which neighborhood of %(city)s do you live in?", city=city)
    options = tuple(Option(code=n, text={lang: area.name}) for n, area in enumerate(wave.areas, start=1))
    return Item(key=AREA_KEY, type="choice", section="_area", text={lang: text}, hint={}, options=options)


def area_of(wave: AnyWave, answers: Mapping[str, Any]) -> str | None:
    """The area the resident chose (None when they skipped the question or chose not to say)."""
    code = answers.get(AREA_KEY)
    names = [area.name for area in wave.areas]
    return names[code - 1] if isinstance(code, int) and 1 <= code <= len(names) else None


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
    if wave.area_source == AreaSource.RESIDENT and wave.areas:
        pages.append(Page("neighborhood", {}, (area_item(wave),), single=True))
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
#
# A draft row holds its wave, the day after which it may be purged, and the rest sealed under a
# key derived from the cookie's token (which the server never stores): the invitation, the
# stratum, the answers and the exact expiry. Someone with the database files and every server
# key, but no resident's cookie, cannot tell which invitation a draft came from or what it says.


def _expiry() -> dt.datetime:
    return utcnow() + dt.timedelta(hours=DRAFT_HOURS)


def _purge_after(expires: dt.datetime) -> dt.date:
    return expires.astimezone(dt.UTC).date()


def draft_id(token: str) -> str:
    """Drafts are stored under a keyed hash of the cookie's token, never the token itself."""
    return keyed_hash("draft", token)


@dataclass
class DraftRow:
    """An opened draft: what its sealed column holds, and the cookie token that opened it."""

    id: str
    token: str
    wave_id: int
    invitation_id: int | None
    stratum: str | None
    answers: dict[str, Any]
    expires_at: dt.datetime

    def sealed(self) -> bytes:
        data = {"invitation_id": self.invitation_id, "stratum": self.stratum, "answers": self.answers,
                "expires_at": self.expires_at.isoformat()}
        return crypto.seal_with_token(self.token, json.dumps(data).encode(), _aad(self.id))

    @classmethod
    def opened(cls, token: str, row_id: str, wave_id: int, blob: bytes) -> DraftRow | None:
        data = crypto.open_with_token(token, blob, _aad(row_id))
        if data is None:
            return None
        state = json.loads(data)
        return cls(row_id, token, wave_id, state["invitation_id"], state["stratum"], state["answers"],
                   dt.datetime.fromisoformat(state["expires_at"]))


def _aad(row_id: str) -> str:
    # Bound to its row: a sealed draft copied onto another row does not open.
    return f"survey_draft.sealed:{row_id}"


def new_draft(wave: Wave, invitation: Invitation | None) -> tuple[str, DraftRow]:
    """Start a questionnaire: returns the cookie token and the stored draft (committed)."""
    token = secrets.token_urlsafe(32)
    draft = DraftRow(draft_id(token), token, wave.id, invitation.id if invitation else None,
                     invitation.stratum if invitation else None, {}, _expiry())
    session = db.write()
    session.execute(delete(SurveyDraft).where(SurveyDraft.purge_after < utcnow().date()))
    session.add(SurveyDraft(id=draft.id, wave_id=draft.wave_id, sealed=draft.sealed(),
                            purge_after=_purge_after(draft.expires_at)))
    if draft.invitation_id is not None:
        session.execute(
            update(Invitation).where(Invitation.id == draft.invitation_id, Invitation.started.is_(False)).values(started=True)
        )
    session.commit()
    return token, draft


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
    area_kind: AreaKind | None = None
    area_source: AreaSource | None = None

    last_day = Wave.last_day
    is_open = Wave.is_open

    @cached_property
    def strata(self) -> list[WaveStratum]:
        """The wave's strata by name (asked only by open-link waves' area question)."""
        return list(db.session.scalars(
            select(WaveStratum).where(WaveStratum.wave_id == self.id).order_by(WaveStratum.name)
        ))

    @cached_property
    def areas(self) -> list[WaveArea]:
        """The wave's small areas by name (asked when residents give their area)."""
        return list(db.session.scalars(select(WaveArea).where(WaveArea.wave_id == self.id).order_by(WaveArea.name)))


#: A wave as the survey pages use it: the ORM object when just started, otherwise the plain row
#: :func:`load_current` reads. Both have the attributes the functions here read.
AnyWave = Wave | WaveRow


def load_current(token: str | None) -> tuple[DraftRow, WaveRow, str] | None:
    """The live draft of this cookie with its wave and the wave's instrument content hash.

    One query of plain columns: every survey page needs all of them (see bench/load_survey.py).
    """
    if not token or len(token) > 100:
        return None
    row = db.session.connection().execute(_CURRENT, {"draft_id": draft_id(token)}).first()
    if row is None:
        return None
    draft = DraftRow.opened(token, row.id, row.wave_id, row.sealed)
    if draft is None or draft.expires_at <= utcnow():
        return None
    wave = WaveRow(row.wave_id, row.agency_id, row.mode, row.opens_on, row.closes_on, row.closed_early_on,
                   row.languages, row.instrument_version_id, row.area_kind, row.area_source)
    return draft, wave, row.content_hash


# Built once: constructing the statement cost more than running it.
_DRAFTS, _W, _V = SurveyDraft.__table__, Wave.__table__, InstrumentVersion.__table__
_CURRENT = (
    select(
        _DRAFTS.c.id, _DRAFTS.c.wave_id, _DRAFTS.c.sealed,
        _W.c.agency_id, _W.c.mode, _W.c.opens_on, _W.c.closes_on, _W.c.closed_early_on, _W.c.languages,
        _W.c.instrument_version_id, _W.c.area_kind, _W.c.area_source, _V.c.content_hash,
    )
    .join(_W, _W.c.id == _DRAFTS.c.wave_id)
    .join(_V, _V.c.id == _W.c.instrument_version_id)
    .where(_DRAFTS.c.id == bindparam("draft_id"))
)


def merge_answers(draft: DraftRow, wave: AnyWave, page: Page, values: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
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


def save_answers(draft: DraftRow, answers: dict[str, Any], stratum: str | None) -> bool:
    """Store the answers and extend the draft; False when the draft is gone (already submitted)."""
    draft.answers, draft.stratum, draft.expires_at = answers, stratum, _expiry()
    session = db.write()
    updated = session.connection().execute(
        _SAVE, {"draft_id": draft.id, "new_sealed": draft.sealed(), "new_purge": _purge_after(draft.expires_at)}
    ).rowcount
    session.commit()
    return updated == 1


# A plain table UPDATE built once: the ORM's bulk-update machinery cost more than the write itself.
_SAVE = (
    _DRAFTS.update()
    .where(_DRAFTS.c.id == bindparam("draft_id"))
    .values(
        sealed=bindparam("new_sealed", type_=_DRAFTS.c.sealed.type),
        purge_after=bindparam("new_purge", type_=_DRAFTS.c.purge_after.type),
    )
)


def seconds_left(draft: DraftRow) -> int:
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
    if invitation is None or invitation.used:
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
    .where(_INVITATIONS.c.id == bindparam("invitation_id"), _INVITATIONS.c.used.is_(False))
    .values(used=True)
)
_CODE_DESIGN = select(_INVITATIONS.c.stratum, _INVITATIONS.c.selection_probability, _INVITATIONS.c.area).where(
    _INVITATIONS.c.id == bindparam("invitation_id")
)
# A used invitation keeps no area: only the response has it, as it has the stratum.
_FORGET_AREA = _INVITATIONS.update().where(_INVITATIONS.c.id == bindparam("invitation_id")).values(area=None)
_INSERT_RESPONSE = Response.__table__.insert()
_INSERT_ANSWERS = Answer.__table__.insert()


def submit_draft(
    draft: DraftRow,
    wave: AnyWave,
    language: str,
    answers: Mapping[str, Any],
    stratum: str | None,
    inst: InstrumentDef | None = None,
) -> str:
    """Store the draft as a response in ONE transaction that also uses up the code and the draft.

    The guards are the row counts of ``DELETE draft`` and ``UPDATE invitation ... WHERE NOT
    used``: on SQLite the transaction holds the write lock from its start; on PostgreSQL the second
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
    area = area_of(wave, answers) if wave.area_source == AreaSource.RESIDENT else None
    if invitation_id is not None:
        used = conn.execute(_USE_CODE, {"invitation_id": invitation_id}).rowcount
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
        if wave.area_source == AreaSource.INVITATION:
            area = invitation.area
        if invitation.area is not None:
            conn.execute(_FORGET_AREA, {"invitation_id": invitation_id})
    response_id = random_id()
    conn.execute(_INSERT_RESPONSE, {
        "id": response_id, "wave_id": wave_id, "stratum": stratum, "area": area, "language": language,
        "channel": Channel.WEB, "selection_probability": probability, "sample": sample, "submitted_on": this_week(),
    })
    if rows:
        conn.execute(_INSERT_ANSWERS, [{**row, "response_id": response_id} for row in rows])
    session.commit()
    # The write-ahead log still holds the draft's pages and this commit's frames side by side.
    db.checkpoint()
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
    area = area_of(wave, answers) if wave.area_source == AreaSource.RESIDENT else None
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
                .where(Invitation.id == invitation.id, Invitation.used.is_(False))
                .values(used=True, started=True)
            ).rowcount
        if used != 1 or invitation is None:
            session.rollback()
            raise CodeAlreadyUsed
        probability = invitation.selection_probability
        stratum = invitation.stratum or stratum
        sample = Sample.PROBABILITY
        if wave.area_source == AreaSource.INVITATION:
            area = invitation.area
        invitation.area = None
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
        area=area,
        language=language,
        channel=channel,
        selection_probability=probability,
        sample=sample,
        submitted_on=this_week(),
        answers=answer_rows(inst, answers),
    )
    session.add(response)
    session.commit()
    return response
