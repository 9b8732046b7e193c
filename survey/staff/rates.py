"""The staff console's response-rate pages (the rates themselves are computed in survey/rates.py)."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..auth import roles_required
from ..db import db
from ..menu import Fact, Panel, register, register_panel
from ..models import Response, Role, StaffUser, Wave, WaveMode, today
from ..rates import completes_per_week, invitation_rates, responses_by_stratum
from .blueprint import bp
from .waves import get_wave

RATE_ROLES = (Role.SURVEY_MANAGER, Role.ANALYST)
register(_l("Response rates"), "staff.rates_index", RATE_ROLES, order=30)


def _waves_panels(user: StaffUser) -> list[Panel]:
    """Each open wave's responses and response rate so far, and what needs doing next, by role."""
    from ..context import current_agency

    day = today()
    waves = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc())).all()
    counts = dict(db.session.execute(
        select(Response.wave_id, func.count()).where(Response.wave_id.in_([w.id for w in waves])).group_by(Response.wave_id)
    ).all())
    manager = user.has_role(Role.SURVEY_MANAGER)
    panels, todo = [], []
    for wave in (w for w in waves if w.status(day) == "open"):
        facts = [Fact(_("Responses so far"), format_decimal(counts.get(wave.id, 0), "#,##0"),
                      url_for("staff.rates", slug=wave.slug))]
        if wave.mode == WaveMode.INVITATION:
            total, _strata = invitation_rates(wave)
            facts.append(Fact(_("Response rate so far (RR1)"),
                              "–" if total.rr1 is None else format_percent(total.rr1, "#,##0.0%")))
            facts.append(Fact(_("Invitations sent"), format_decimal(total.invited, "#,##0")))
            if manager and total.invited == 0:
                todo.append((_("Make the invitation letters for %(title)s.", title=wave.title),
                             url_for("staff.invitations", slug=wave.slug)))
        facts.append(Fact(_("Last day"), format_date(wave.last_day())))
        panels.append(Panel(_("%(title)s: open", title=wave.title), facts))
    if manager and not any(w.status(day) in ("open", "scheduled") for w in waves):
        todo.append((_("No wave is open or scheduled: schedule the next one."), url_for("staff.wave_copy")))
    closed = [w for w in waves if w.status(day) == "closed"]
    if user.has_role(Role.ADMIN):
        todo += [(_("%(title)s has closed: publish its results.", title=w.title), url_for("staff.wave", slug=w.slug))
                 for w in closed if not w.published]
    if user.has_role(Role.ANALYST) and len(closed) >= 2:
        latest = closed[0]
        same = [w.slug for w in closed if w.instrument_version.instrument_id == latest.instrument_version.instrument_id]
        if len(same) >= 2:
            todo.append((_("Compare %(title)s with the waves before it.", title=latest.title),
                         url_for("results_staff.compare", waves=same[::-1])))
    if todo or not panels:
        panels.append(Panel(_("What needs doing next"), [], todo or [(_("Nothing is waiting. See the waves."), url_for("staff.rates_index"))]))
    return panels


register_panel(_waves_panels, (Role.SURVEY_MANAGER, Role.ANALYST, Role.ADMIN), order=10)


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
