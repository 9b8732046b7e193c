"""Response rates per wave and stratum (AAPOR RR1 and RR2, adapted to a mailed address sample).

Every invitation is one sampled address. Completes (I) are codes used to submit; partials (P) are
codes that opened the questionnaire without submitting. Letters returned undeliverable are not
eligible and leave the denominator. Every other address (no reply: unknown eligibility, UH/UO) is
counted as eligible, which is how RR1 and RR2 treat unknown eligibility. Refusals and non-contacts
cannot be told apart from no reply in a mail survey, so they are inside the no-reply count.

    RR1 = I / (I + P + R + NC + O + UH + UO) = I / (invited - undeliverable)
    RR2 = (I + P) / (same denominator)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template, url_for
from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from ..db import db
from ..models import Invitation, InvitationStatus, Response, Role, StaffUser, Wave, WaveMode, today
from .auth import roles_required
from .blueprint import bp
from .menu import Fact, Panel, register, register_panel
from .waves import get_wave

RATE_ROLES = (Role.SURVEY_MANAGER, Role.ANALYST)
register(_l("Response rates"), "staff.rates_index", RATE_ROLES, order=30)


@dataclass(frozen=True)
class Rates:
    label: str | None
    invited: int
    completes: int
    partials: int
    undeliverable: int

    @property
    def eligible(self) -> int:
        return self.invited - self.undeliverable

    @property
    def no_reply(self) -> int:
        return self.eligible - self.completes - self.partials

    @property
    def rr1(self) -> float | None:
        return self.completes / self.eligible if self.eligible > 0 else None

    @property
    def rr2(self) -> float | None:
        return (self.completes + self.partials) / self.eligible if self.eligible > 0 else None


def invitation_rates(wave: Wave) -> tuple[Rates, list[Rates]]:
    """The wave's totals and one row per stratum (in the wave's stratum order)."""
    used = Invitation.used_on.is_not(None)
    rows = db.session.execute(
        select(
            Invitation.stratum,
            func.count(),
            func.sum(case((used, 1), else_=0)),
            func.sum(case((Invitation.started_on.is_not(None) & Invitation.used_on.is_(None), 1), else_=0)),
            func.sum(case(((Invitation.status == InvitationStatus.UNDELIVERABLE) & Invitation.used_on.is_(None), 1), else_=0)),
        )
        .where(Invitation.wave_id == wave.id)
        .group_by(Invitation.stratum)
    ).all()
    found = {r[0]: Rates(r[0], int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows}
    order = [s.name for s in wave.strata] + sorted((k for k in found if k not in {s.name for s in wave.strata}), key=str)
    strata = [found.get(name) or Rates(name, 0, 0, 0, 0) for name in order]
    total = Rates(
        None,
        sum(r.invited for r in strata),
        sum(r.completes for r in strata),
        sum(r.partials for r in strata),
        sum(r.undeliverable for r in strata),
    )
    return total, strata


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


def completes_per_week(wave: Wave) -> list[tuple[dt.date, int]]:
    """Responses received in each week (weeks start on Monday), from the first week with any to the last."""
    weeks: dict[dt.date, int] = {}
    for day, n in completes_per_day(wave):
        start = day - dt.timedelta(days=day.weekday())
        weeks[start] = weeks.get(start, 0) + n
    return sorted(weeks.items())


def responses_by_stratum(wave: Wave) -> list[tuple[str | None, int]]:
    return [
        (name, int(n))
        for name, n in db.session.execute(
            select(Response.stratum, func.count()).where(Response.wave_id == wave.id).group_by(Response.stratum).order_by(Response.stratum)
        ).all()
    ]


def completes_per_day(wave: Wave) -> list[tuple[dt.date, int]]:
    """Responses received on each day from the first to the last day with any (zeros included)."""
    counts = dict(
        db.session.execute(
            select(Response.submitted_on, func.count()).where(Response.wave_id == wave.id).group_by(Response.submitted_on)
        ).all()
    )
    if not counts:
        return []
    day, last = min(counts), max(counts)
    days = []
    while day <= last:
        days.append((day, int(counts.get(day, 0))))
        day += dt.timedelta(days=1)
    return days


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
