"""Staff keying in a paper or phone questionnaire: the same instrument and validation as the web."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import menu
from ..auth import roles_required
from ..context import current_agency
from ..db import db
from ..i18n import KNOWN
from ..models import Channel, Role, Wave
from . import flow
from .forms import KeyedEntryForm, page_form, values_of

bp = Blueprint("respond_staff", __name__, template_folder="templates")

menu.register(_l("Key in questionnaires"), "respond_staff.choose_wave", (Role.SURVEY_MANAGER,), order=40)


def _wave_or_404(slug: str) -> Wave:
    wave = db.session.scalars(select(Wave).where(Wave.agency_id == current_agency().id, Wave.slug == slug)).first()
    if wave is None:
        abort(404)
    return wave


@bp.get("/")
@roles_required(Role.SURVEY_MANAGER)
def choose_wave():
    waves = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc())
    ).all()
    return render_template("respond/staff_choose.html", waves=waves)


@bp.route("/<slug>", methods=["GET", "POST"])
@roles_required(Role.SURVEY_MANAGER)
def entry(slug: str):
    wave = _wave_or_404(slug)
    inst = flow.instrument_of(wave)
    lang = flow.survey_language(inst, wave)
    items = list(inst.items.values())
    form = page_form(items, lang, {}, base=KeyedEntryForm)
    form.language.choices = [
        SelectChoice(code, KNOWN[code].native if code in KNOWN else code) for code in wave.languages
    ]
    form.stratum.choices = [SelectChoice(s.name, s.name) for s in wave.strata]
    if form.validate_on_submit():
        try:
            flow.store_keyed_response(
                wave,
                values_of(form, items),
                channel=Channel(form.channel.data),
                language=form.language.data,
                stratum=form.stratum.data or None,
                code=(form.code.data or "").strip() or None,
            )
        except flow.CodeAlreadyUsed:
            form.code.errors.append(
                _("This code is not one of this wave's unused codes. Check it against the form, or leave it blank.")
            )
        else:
            flash(_("The questionnaire is saved. You can enter the next one."), "success")
            return redirect(url_for("respond_staff.entry", slug=wave.slug), code=303)
    sections = [(flow.text_in(section.title, lang), inst.items_in(section)) for section in inst.sections]
    return render_template(
        "respond/staff_entry.html", form=form, wave=wave, sections=sections, qlang=lang, text_in=flow.text_in
    )
