"""The survey as residents see it: getting in with a code or an open link, one page per section,
and a submit that stores each questionnaire exactly once."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as HTTPResponse

from .. import throttle
from ..context import current_agency
from ..db import db
from ..models import Wave, WaveMode
from ..security import normalize_code
from . import flow
from .forms import CodeForm, FieldHtml, KeptPage, StartOpenForm, form_key, page_form, values_of

bp = Blueprint("respond", __name__, template_folder="templates")

DRAFT_COOKIE = "survey_draft"
PENDING_CODE = "pending_code"


# ------------------------------------------------------------------ helpers


@bp.after_request
def _never_cache(response: HTTPResponse) -> HTTPResponse:
    """Survey pages hold a resident's answers: a shared or library computer must not keep them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_draft_cookie(response: HTTPResponse, token: str, draft: flow.DraftRow) -> HTTPResponse:
    response.set_cookie(
        DRAFT_COOKIE,
        token,
        max_age=flow.seconds_left(draft),
        path=url_for("respond.start"),
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response


def _forget_draft(response: HTTPResponse) -> HTTPResponse:
    response.delete_cookie(DRAFT_COOKIE, path=url_for("respond.start"))
    return response


def _current() -> tuple[flow.DraftRow, flow.WaveRow, flow.InstrumentDef] | None:
    found = flow.load_current(request.cookies.get(DRAFT_COOKIE))
    if found is None:
        return None
    draft, wave, content_hash = found
    if not wave.is_open() or wave.agency_id != current_agency().id:
        # Another agency's survey (its cookie carried here by hand): nothing in progress here.
        return None
    return draft, wave, flow.instrument_of(wave, content_hash)


def _bad_code_message() -> str:
    return _(
        "We could not accept this access code. Check it against your letter and type it again. "
        "A code that was already used, or is for a survey that has closed, cannot be used."
    )


def _begin(wave: Wave, invitation: Any) -> HTTPResponse:
    token, draft = flow.new_draft(wave, invitation)
    session.pop(PENDING_CODE, None)
    first = flow.visible_pages(flow.build_pages(flow.instrument_of(wave), wave), {})[0]
    return _set_draft_cookie(redirect(url_for("respond.page", key=first.key), code=303), token, draft)


# ------------------------------------------------------------------ getting in


@bp.get("/start")
@bp.get("/")
def start():
    """The start page. A printed QR link's ?code= is bound to the session and dropped from the URL."""
    if "code" in request.args:
        session[PENDING_CODE] = normalize_code(request.args.get("code", ""))[:32]
        return redirect(url_for("respond.start"), code=303)
    form = CodeForm(data={"code": session.get(PENDING_CODE, "")})
    return _render_start(form)


def _render_start(form: CodeForm, status: int = 200, *, throttled: bool = False):
    current = _current()
    resume_url = None
    if current is not None:
        draft, wave, inst = current
        pages = flow.build_pages(inst, wave)
        answers = draft.answers or {}
        at = next((p for p in pages if p.key == answers.get(flow.LAST_PAGE)), None)
        target = (flow.next_page(pages, at, answers) or at) if at else flow.visible_pages(pages, answers)[0]
        resume_url = url_for("respond.page", key=target.key)
    return (
        render_template(
            "respond/start.html",
            form=form,
            open_form=StartOpenForm(),
            invitation_waves=flow.open_waves(WaveMode.INVITATION),
            open_link_waves=flow.open_waves(WaveMode.OPEN_LINK),
            resume_url=resume_url,
            throttled=throttled,
        ),
        status,
    )


@bp.post("/start")
@bp.post("/")
def enter_code():
    form = CodeForm()
    if not form.validate_on_submit():
        return _render_start(form, 400)
    if not throttle.take(throttle.ACCESS_CODE):
        form.code.errors.append(_("Too many codes were tried. Please wait 10 minutes, then try again."))
        return _render_start(form, 429, throttled=True)
    invitation = flow.find_invitation(form.code.data)
    if invitation is None:
        form.code.errors.append(_bad_code_message())
        return _render_start(form, 400)
    throttle.refund(throttle.ACCESS_CODE)  # only wrong codes count
    return _begin(db.session.get(Wave, invitation.wave_id), invitation)


@bp.post("/open/<slug>")
def start_open(slug: str):
    """Start an open-link wave: no code; its responses are a non-probability sample."""
    form = StartOpenForm()
    wave = next((w for w in flow.open_waves(WaveMode.OPEN_LINK) if w.slug == slug), None)
    if wave is None:
        abort(404)
    if not form.validate_on_submit():
        return _render_start(CodeForm(), 400)
    return _begin(wave, None)


# ------------------------------------------------------------------ answering


@bp.route("/q/<key>", methods=["GET", "POST"])
def page(key: str):
    current = _current()
    if current is None:
        if request.method == "POST" and request.cookies.get(DRAFT_COOKIE):
            # The draft is gone but the browser still holds its cookie: the answers were sent
            # (a double tap, reload or replay of the last page). Never store them twice.
            return _forget_draft(redirect(url_for("respond.done"), code=303))
        flash(_("We could not find a survey in progress on this phone. Please start again with your access code."), "error")
        return _forget_draft(redirect(url_for("respond.start"), code=303))
    draft, wave, inst = current
    lang = flow.survey_language(inst, wave)
    pages = flow.build_pages(inst, wave)
    page = next((p for p in pages if p.key == key), None)
    if page is None:
        abort(404)
    answers = dict(draft.answers or {})
    if not page.shown_items(answers):
        target = flow.next_page(pages, page, answers)
        return redirect(url_for("respond.page", key=target.key) if target else url_for("respond.start"), code=303)

    items = page.shown_items(answers)
    # The area question is built from the wave's strata on each request: its class is not kept.
    cache_key = None if any(item.key in (flow.STRATUM_KEY, flow.AREA_KEY) for item in items) else (inst.content_hash, page.key)
    key = form_key(items, lang, FlaskForm, cache_key)
    field_html = FieldHtml(key)
    if request.method == "POST":
        form = page_form(items, lang, answers, formdata=request.form, key=key)
        if form.validate():
            answers, stratum = flow.merge_answers(draft, wave, page, values_of(form, items))
            following = flow.next_page(pages, page, answers)
            if following is not None:
                if not flow.save_answers(draft, answers, stratum):
                    return _forget_draft(redirect(url_for("respond.done"), code=303))
                return _set_draft_cookie(
                    redirect(url_for("respond.page", key=following.key), code=303), request.cookies[DRAFT_COOKIE], draft
                )
            try:
                flow.submit_draft(draft, wave, lang, answers, stratum, inst)
            except flow.AlreadySent:
                pass
            except flow.CodeAlreadyUsed:
                return _forget_draft(redirect(url_for("respond.code_used"), code=303))
            return _forget_draft(redirect(url_for("respond.done"), code=303))
    else:
        form = KeptPage.of(items, answers, field_html) or page_form(items, lang, answers, key=key)

    number, total = flow.progress(pages, page, answers)
    previous = flow.previous_page(pages, page, answers)
    return render_template(
        "respond/page.html",
        form=form,
        page=page,
        items=items,
        qlang=lang,
        text_in=flow.text_in,
        heading=flow.text_in(page.items[0].text if page.single else page.title, lang),
        number=number,
        total=total,
        last=flow.next_page(pages, page, answers) is None,
        back_url=url_for("respond.page", key=previous.key) if previous else url_for("respond.start"),
        survey_title=flow.text_in(inst.title, lang),
        field_html=field_html,
    )


@bp.get("/done")
def done():
    return render_template("respond/done.html")


@bp.get("/code-used")
def code_used():
    return render_template("respond/code_used.html")
