"""The analyst's export page: the respondent-level CSV and codebook as one zip download."""

from __future__ import annotations

from flask import Response as FlaskResponse
from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import export as export_module
from ..auth import roles_required
from ..context import current_agency, locale_code
from ..db import db
from ..menu import register
from ..models import Role, Wave
from .blueprint import bp
from .forms import ExportForm, choices

register(_l("Exports"), "staff.export", (Role.ANALYST,), order=40)


@bp.route("/export", methods=["GET", "POST"])
@roles_required(Role.ANALYST)
def export():
    waves = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc())
    ).all()
    form = ExportForm()
    form.waves.choices = choices(
        (w.slug, f"{w.title} ({w.slug}, {w.instrument_version.instrument.key} v{w.instrument_version.version})")
        for w in waves
    )
    if form.validate_on_submit():
        chosen = [w for w in waves if w.slug in set(form.waves.data)]
        try:
            result = export_module.build(chosen, include_text=form.include_text.data)
        except export_module.ExportError as exc:
            form.waves.errors.append(str(exc))
        else:
            name = "-".join(sorted(w.slug for w in chosen))[:80]
            response = FlaskResponse(
                export_module.to_zip(result, statistics_files=form.statistics_files.data, language=locale_code()),
                mimetype="application/zip")
            response.headers["Content-Disposition"] = f'attachment; filename="export-{name}.zip"'
            return response
    return render_template("staff/export.html", form=form)
