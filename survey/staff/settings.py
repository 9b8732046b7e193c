"""The agency's own settings, for its administrators: name and contact text in each language,
languages offered, districts, complaint deadlines and whether the campaign may name it."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import format_number
from flask_babel import gettext as _

from ..agencies import AgencySettingsForm, AgencyTextsForm, forget_cached, save_settings, save_texts
from ..auth import current_user, roles_required
from ..context import agency_languages, current_agency
from ..db import db
from ..i18n import KNOWN
from ..menu import Fact, Panel, register_panel
from ..models import Agency, Role
from .blueprint import bp


def _agency_panel(user: object) -> list[Panel]:
    """The administrator's dashboard box: what residents are offered, and the way to change it."""
    agency = current_agency()
    facts = [
        Fact(_("Languages offered"), format_number(len(agency_languages())), url_for("staff.settings")),
        Fact(_("Districts"), format_number(len(agency.districts))),
        Fact(_("On the campaign's public page"), _("Yes") if agency.listed else _("No")),
    ]
    return [Panel(_("Agency settings"), facts, [(_("Change the agency's settings"), url_for("staff.settings"))])]


register_panel(_agency_panel, (Role.ADMIN,), order=90)


def _agency_for_writing() -> Agency:
    write = db.write()
    agency = write.get(Agency, current_agency().id)
    if agency is None:
        abort(404)
    return agency


@bp.route("/settings", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def settings():
    agency = db.session.get(Agency, current_agency().id)
    form = AgencySettingsForm()
    if form.validate_on_submit():
        agency = _agency_for_writing()
        changed = save_settings(db.session, agency, form, current_user().id)
        db.session.commit()
        forget_cached(current_app)
        if changed:
            flash(_("The agency's settings are saved. Every server shows them within a minute."), "success")
        else:
            flash(_("Nothing was changed."), "info")
        return redirect(url_for("staff.settings"), code=303)
    if not form.is_submitted():
        form.fill_from(agency)
    languages = [KNOWN[code] for code in agency_languages() if code in KNOWN and code != agency.default_language]
    return render_template("staff/settings.html", form=form, agency=agency, other_languages=languages)


@bp.route("/settings/texts/<lang>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def settings_texts(lang: str):
    if lang not in KNOWN or lang not in current_app.config["LANGUAGES"]:
        abort(404)
    agency = db.session.get(Agency, current_agency().id)
    form = AgencyTextsForm()
    if form.validate_on_submit():
        agency = _agency_for_writing()
        save_texts(db.session, agency, lang, form, current_user().id)
        db.session.commit()
        forget_cached(current_app)
        flash(_("The agency's name and address in %(language)s are saved.", language=KNOWN[lang].native), "success")
        return redirect(url_for("staff.settings"), code=303)
    if not form.is_submitted():
        given = (agency.texts or {}).get(lang, {})
        for key in ("name", "city", "address"):
            getattr(form, key).data = given.get(key, "")
    return render_template("staff/settings_texts.html", form=form, agency=agency, language=KNOWN[lang])
