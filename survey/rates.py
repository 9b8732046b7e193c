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

from sqlalchemy import case, func, select

from .db import db
from .models import Invitation, InvitationStatus, Response, Wave


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
    used = Invitation.used.is_(True)
    rows = db.session.execute(
        select(
            Invitation.stratum,
            func.count(),
            func.sum(case((used, 1), else_=0)),
            func.sum(case((Invitation.started.is_(True) & Invitation.used.is_(False), 1), else_=0)),
            func.sum(case(((Invitation.status == InvitationStatus.UNDELIVERABLE) & Invitation.used.is_(False), 1), else_=0)),
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


def responses_by_stratum(wave: Wave) -> list[tuple[str | None, int]]:
    return [
        (name, int(n))
        for name, n in db.session.execute(
            select(Response.stratum, func.count()).where(Response.wave_id == wave.id).group_by(Response.stratum).order_by(Response.stratum)
        ).all()
    ]


def completes_per_week(wave: Wave) -> list[tuple[dt.date, int]]:
    """Responses received in each week (by its Monday: the only date a response keeps) from the
    first to the last week with any, zeros included."""
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
        day += dt.timedelta(days=7)
    return days
