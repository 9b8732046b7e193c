"""The staff console's response-rate pages (the rates themselves are computed in survey/rates.py)."""

from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..auth import roles_required
from ..db import db
from ..menu import register
from ..models import Role, Wave, WaveMode
from ..rates import completes_per_week, invitation_rates, responses_by_stratum
from .blueprint import bp
from .waves import get_wave

RATE_ROLES = (Role.SURVEY_MANAGER, Role.ANALYST)
register(_l("Response rates"), "staff.rates_index", RATE_ROLES, order=30)


@bp.get("/rates")
@roles_required(*RATE_ROLES)
def rates_index():
    from ..context import current_agency

    waves = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc())
    ).all()
    return render_template("staff/rates_index.html", waves=waves)


@bp.get("/waves/<slug>/rates")
@roles_required(*RATE_ROLES)
def rates(slug: str):
    wave = get_wave(slug)
    days = completes_per_week(wave)
    peak = max((n for _d, n in days), default=0)
    if wave.mode == WaveMode.INVITATION:
        total, strata = invitation_rates(wave)
        return render_template("staff/rates.html", wave=wave, total=total, strata=strata, days=days, peak=peak, counts=None)
    counts = responses_by_stratum(wave)
    return render_template(
        "staff/rates.html", wave=wave, total=None, strata=[], days=days, peak=peak, counts=counts,
        count_total=sum(n for _s, n in counts),
    )
