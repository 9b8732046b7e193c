"""Population targets (census margins) for weighting: import a CSV with row-by-row validation."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from ..auth import roles_required
from ..context import current_agency
from ..db import db
from ..menu import register
from ..models import Agency, PopulationTarget, Role, Wave, WaveStratum
from ..targets import known_categories, parse_targets, read_upload, replace_targets
from .blueprint import bp
from .forms import TargetsForm

TARGET_ROLES = (Role.ANALYST, Role.SURVEY_MANAGER)
register(_l("Population targets"), "staff.targets", TARGET_ROLES, order=50)


def strata_names(agency: Agency) -> list[str]:
    return sorted(
        set(db.session.scalars(select(WaveStratum.name).join(Wave).where(Wave.agency_id == agency.id)).all())
    )


@bp.route("/targets", methods=["GET", "POST"])
@roles_required(*TARGET_ROLES)
def targets():
    agency = current_agency()
    form = TargetsForm()
    problems: list[str] = []
    if form.validate_on_submit():
        text, problem = read_upload(form.upload.data, form.text.data)
        if problem:
            form.upload.errors.append(problem)
        else:
            strata = strata_names(agency)
            rows, problems = parse_targets(text, known_categories(agency.id, strata), strata)
            if not problems:
                replace_targets(agency.id, rows, (form.source.data or "").strip())
                db.session.commit()
                flash(ngettext("%(num)d target is imported.", "%(num)d targets are imported.", len(rows)), "success")
                return redirect(url_for("staff.targets"), code=303)
    current = db.session.scalars(
        select(PopulationTarget).where(PopulationTarget.agency_id == agency.id)
        .order_by(PopulationTarget.variable, PopulationTarget.stratum, PopulationTarget.category)
    ).all()
    return render_template("staff/targets.html", form=form, problems=problems, current=current,
                           labels=_target_labels(agency))


def _target_labels(agency) -> dict[str, tuple[str, dict[str, str]]]:
    """Each weighting variable's name and its categories' labels in the staff member's language,
    from the export's codebook of the latest wave (the same labels analysts see)."""
    from .. import export
    from ..context import locale_code

    wave = db.session.scalars(select(Wave).where(Wave.agency_id == agency.id).order_by(Wave.opens_on.desc())).first()
    if wave is None:
        return {}
    lang = locale_code()
    out = {}
    for var in export.build([wave], response_ids=()).codebook["variables"]:
        if var["kind"] != "weighting":
            continue
        name = var["label"].get(lang) or var["label"].get("en") or var["name"]
        values = {str(v["code"]): (v["label"].get(lang) or v["label"].get("en") or str(v["code"])) for v in var.get("values", [])}
        out[var["name"]] = (name, values)
    return out
