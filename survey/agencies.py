"""The campaign's side of its agencies: what each has run and publishes (counts and yes/no only,
never a complaint or a response), a new agency with its first administrator, and the published
scores shown on the campaign's public page.

The latest published scores are made by the results area (survey/results), which registers its
reader here (``register_scores``), so the campaign's pages never import another area.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from . import audit, invites
from .auth import record_role_change
from .db import db
from .instrument_store import sync_instruments
from .instruments import InstrumentDef, load_dir
from .models import Agency, Complaint, Response, Role, StaffUser, Wave, today
from .targets import TargetRow, replace_targets


def instruments_on_offer() -> list[InstrumentDef]:
    """The questionnaire versions in the deployment's instruments folder, a new agency's choice."""
    return load_dir(current_app.config["INSTRUMENTS_DIR"])


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass(frozen=True)
class Progress:
    """Where one agency stands, in counts: what the campaign console shows."""

    agency: Agency
    waves_run: int = 0
    waves_open: int = 0
    responses: int = 0
    waves_published: int = 0
    # Complaint figures are published by finished quarter (the agency's complaint data page):
    # there are some once a complaint came in before the current quarter began.
    complaints_published: bool = False
    staff: int = 0


def progress(agencies: Sequence[Agency]) -> list[Progress]:
    """Every agency's progress, with one grouped query per figure (not one per agency)."""
    ids = [a.id for a in agencies]
    on = today()

    def counts(query: Any) -> dict[int, int]:
        return {agency_id: int(n) for agency_id, n in db.session.execute(query).all()}

    started = counts(select(Wave.agency_id, func.count()).where(Wave.agency_id.in_(ids), Wave.opens_on <= on)
                     .group_by(Wave.agency_id))
    running = counts(select(Wave.agency_id, func.count())
                     .where(Wave.agency_id.in_(ids), Wave.opens_on <= on, Wave.closes_on >= on, Wave.closed_early_on.is_(None))
                     .group_by(Wave.agency_id))
    published = counts(select(Wave.agency_id, func.count()).where(Wave.agency_id.in_(ids), Wave.published.is_(True))
                       .group_by(Wave.agency_id))
    responses = counts(select(Wave.agency_id, func.count(Response.id)).join(Response, Response.wave_id == Wave.id)
                       .where(Wave.agency_id.in_(ids)).group_by(Wave.agency_id))
    staff = counts(select(StaffUser.agency_id, func.count()).where(StaffUser.agency_id.in_(ids))
                   .group_by(StaffUser.agency_id))
    first_complaint = dict(db.session.execute(
        select(Complaint.agency_id, func.min(Complaint.received_on)).where(Complaint.agency_id.in_(ids))
        .group_by(Complaint.agency_id)).all())
    this_quarter = quarter_start(on)
    return [
        Progress(
            agency=a, waves_run=started.get(a.id, 0), waves_open=running.get(a.id, 0),
            responses=responses.get(a.id, 0), waves_published=published.get(a.id, 0),
            complaints_published=first_complaint.get(a.id) is not None and first_complaint[a.id] < this_quarter,
            staff=staff.get(a.id, 0),
        )
        for a in agencies
    ]


@dataclass
class NewAgency:
    """What the campaign's "New agency" form gives, checked."""

    name: str
    city: str
    slug: str
    languages: list[str]
    districts: list[str]
    instrument: tuple[str, int]
    peer_group: str | None
    listed: bool
    admin_name: str
    admin_email: str
    targets: list[TargetRow] = field(default_factory=list)
    targets_source: str | None = None
    host: str | None = None


def create(new: NewAgency, by: StaffUser) -> tuple[Agency, StaffUser, str]:
    """Create the agency with its questionnaire and targets, and its first administrator (an
    account without a usable password); return them with the one-time link's token. Written to
    the campaign's audit chain and to the new agency's. The caller commits."""
    db.write()
    default = "en" if "en" in new.languages else new.languages[0]
    agency = Agency(slug=new.slug, name=new.name, city=new.city, default_language=default,
                    languages=new.languages, districts=new.districts, listed=new.listed,
                    peer_group=new.peer_group, host=new.host, texts={})
    db.session.add(agency)
    db.session.flush()
    list(sync_instruments(agency, Path(current_app.config["INSTRUMENTS_DIR"]), only={new.instrument}))
    replace_targets(agency.id, new.targets, new.targets_source)
    admin = StaffUser(agency_id=agency.id, email=new.admin_email, name=new.admin_name,
                      password_hash=invites.UNUSABLE, roles=[str(Role.ADMIN)])
    db.session.add(admin)
    db.session.flush()
    what = {"slug": agency.slug, "name": agency.name, "instrument": f"{new.instrument[0]} v{new.instrument[1]}",
            "targets": len(new.targets)}
    audit.record(db.session, "campaign.agency_created", "agency", str(agency.id), staff_user_id=by.id,
                 agency_id=None, detail=what)
    audit.record(db.session, "agency.created", "agency", str(agency.id), staff_user_id=by.id,
                 agency_id=agency.id, detail=what | {"by": by.email})
    record_role_change(admin, [], by)
    token = invite(admin, by)
    return agency, admin, token


def invite(admin: StaffUser, by: StaffUser) -> str:
    """A new one-time link for ``admin`` (earlier ones stop working), on both audit chains."""
    token = invites.create(admin)
    detail = {"email": admin.email, "expires_in_days": invites.VALID_FOR.days}
    audit.record(db.session, "campaign.admin_invited", "staff_user", str(admin.id), staff_user_id=by.id,
                 agency_id=None, detail=detail | {"agency_id": admin.agency_id})
    audit.record(db.session, "staff.invited", "staff_user", str(admin.id), staff_user_id=by.id,
                 agency_id=admin.agency_id, detail=detail | {"by": by.email})
    return token


#: The settings the campaign may change after creating an agency.
SETTINGS = ("peer_group", "listed", "languages", "host")


def change_settings(agency: Agency, values: dict[str, Any], by: StaffUser) -> dict[str, Any]:
    """Change the campaign's settings of ``agency``; return what changed (before, after), written
    to both audit chains. The caller commits."""
    changed = {}
    for name in SETTINGS:
        if name in values and getattr(agency, name) != values[name]:
            changed[name] = [getattr(agency, name), values[name]]
            setattr(agency, name, values[name])
    if changed:
        audit.record(db.session, "campaign.agency_settings", "agency", str(agency.id), staff_user_id=by.id,
                     agency_id=None, detail={"slug": agency.slug, "changed": changed})
        audit.record(db.session, "agency.campaign_settings", "agency", str(agency.id), staff_user_id=by.id,
                     agency_id=agency.id, detail={"by": by.email, "changed": changed})
    return changed


# ------------------------------------------------------------------ published scores

#: The results area's reader of an agency's latest published scores.
_SCORES: list[Callable[[Agency], Any]] = []


def register_scores(reader: Callable[[Agency], Any]) -> None:
    """Set the reader of an agency's latest published scores (the results area, at import)."""
    if reader not in _SCORES:
        _SCORES[:] = [reader]


def latest_scores(agency: Agency) -> Any:
    """The headline scores of the agency's latest published wave (None: nothing published, or no
    reader registered)."""
    return _SCORES[0](agency) if _SCORES else None
