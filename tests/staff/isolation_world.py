"""Two agencies in one path-mode deployment, each with a full set of data, for the isolation tests.

Alpha and Bravo have the same kinds of objects, some under the same names (two waves share their
slugs, as waves are unique per agency only). Everything Bravo shows a person carries the word
``Quokka`` (its name, its waves' titles, its districts, its staff, its complaints' words), so a page
or a download of Alpha's that shows anything of Bravo's is caught by looking for that word. Slugs,
ids and references carry no marker: an address may echo them back harmlessly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from survey import audit
from survey.auth import hash_password
from survey.complaints import service as complaint_service
from survey.db import db
from survey.instrument_store import sync_instruments
from survey.models import (
    Agency,
    Answer,
    AreaKind,
    AreaSource,
    AuditEvent,
    Channel,
    Complaint,
    ComplaintMessage,
    Instrument,
    InstrumentVersion,
    Invitation,
    PopulationTarget,
    Response,
    Role,
    StaffSession,
    StaffUser,
    SurveyDraft,
    Wave,
    WaveArea,
    WaveMode,
    WaveStratum,
)
from survey.models import today as app_today
from tests.conftest import PASSWORD, ROOT

#: The word every text of Bravo's carries (and Alpha's never does).
MARK = "Quokka"
#: The roles of the matrix: an agency's four, and a campaign account (no agency).
CAMPAIGN = "campaign"
ROLES = (str(Role.ADMIN), str(Role.SURVEY_MANAGER), str(Role.ANALYST), str(Role.INVESTIGATOR), CAMPAIGN)


@dataclass
class AgencyData:
    slug: str
    id: int = 0
    staff: dict[str, int] = field(default_factory=dict)  # role -> user id
    emails: dict[str, str] = field(default_factory=dict)
    waves: dict[str, tuple[int, str]] = field(default_factory=dict)  # kind -> (id, slug)
    codes: list[str] = field(default_factory=list)  # unused access codes of the open invitation wave
    receipts: list[str] = field(default_factory=list)  # receipt codes of complaints
    complaints: list[tuple[str, str]] = field(default_factory=list)  # (id, reference)
    letters_token: str = ""
    responses: dict[str, int] = field(default_factory=dict)  # wave kind -> number of responses


def _answers(n: int, strata: list[str]) -> list[tuple[str, dict[str, int]]]:
    out = []
    for k in range(n):
        out.append((strata[k % len(strata)], {"trust_agency": (3 + 5 * k) % 11, "safety_feel": (2 + 3 * k) % 11,
                                              "pj_respect": 1 + k % 4, "pj_listen": 1 + (k // 2) % 4, "pj_fair": 1 + (k * 3) % 4}))
    return out


def build_agency(app: Flask, slug: str, name: str, strata: list[str], responses: int, extra: str = "") -> AgencyData:
    """One agency with staff, waves (open, closed, published, open-link, scheduled), invitations,
    responses, targets, small areas, complaints with messages and audit events. Returns its handles."""
    data = AgencyData(slug)
    today = app_today()
    with app.app_context():
        agency = Agency(slug=slug, name=f"{name} Police Department", city=name, phone="555-0101",
                        address=f"1 {name} Plaza")
        db.session.add(agency)
        db.session.flush()
        data.id = agency.id
        list(sync_instruments(agency, ROOT / "instruments"))
        version = db.session.scalars(
            select(InstrumentVersion).join(Instrument).where(Instrument.agency_id == agency.id, Instrument.key == "core-trust")
            .order_by(InstrumentVersion.version.desc())).first()
        for role in ROLES[:4]:
            email = f"{role}@{slug}.example"
            user = StaffUser(agency_id=agency.id, email=email, name=f"{name} {role.replace('_', ' ').title()}",
                             password_hash=hash_password(PASSWORD), roles=[role])
            db.session.add(user)
            db.session.flush()
            data.staff[role], data.emails[role] = user.id, email
        spans = {
            "open": (today - dt.timedelta(days=5), today + dt.timedelta(days=20), False, WaveMode.INVITATION),
            "published": (today - dt.timedelta(days=200), today - dt.timedelta(days=150), True, WaveMode.INVITATION),
            "closed": (today - dt.timedelta(days=100), today - dt.timedelta(days=60), False, WaveMode.INVITATION),
            "openlink": (today - dt.timedelta(days=3), today + dt.timedelta(days=30), False, WaveMode.OPEN_LINK),
            "scheduled": (today + dt.timedelta(days=10), today + dt.timedelta(days=40), False, WaveMode.INVITATION),
        }
        #: The open and the published wave have the same slugs at both agencies.
        slugs = {"open": "shared-open", "published": "shared-published", "closed": f"{slug}-closed",
                 "openlink": f"{slug}-openlink", "scheduled": f"{slug}-scheduled"}
        for kind, (opens, closes, published, mode) in spans.items():
            wave = Wave(agency_id=agency.id, instrument_version_id=version.id, slug=slugs[kind],
                        title=f"{name} {kind} survey{extra}", opens_on=opens, closes_on=closes, mode=mode,
                        languages=["en", "es"], accepted_draft_languages=["es"], published=published,
                        strata=[WaveStratum(name=s, population=10_000) for s in strata])
            if kind == "published":
                wave.area_kind, wave.area_source = AreaKind.NEIGHBORHOOD, AreaSource.INVITATION
                wave.areas = [WaveArea(name=f"{s} Park", stratum=s, population=3000, covariates={"owner_share": 0.5})
                              for s in strata]
            db.session.add(wave)
            db.session.flush()
            data.waves[kind] = (wave.id, wave.slug)
        waves = {kind: db.session.get(Wave, wid) for kind, (wid, _s) in data.waves.items()}
        for kind, n in (("published", responses), ("closed", responses), ("open", responses // 2), ("openlink", 3)):
            for stratum, answers in _answers(n, strata):
                response = Response(wave_id=waves[kind].id, stratum=stratum, language="en", channel=Channel.WEB,
                                    selection_probability=0.01, submitted_on=waves[kind].opens_on + dt.timedelta(days=1))
                response.answers = [Answer(item_key=k, ordinal=0, code=v) for k, v in answers.items()]
                db.session.add(response)
            data.responses[kind] = n
        from survey.staff.invitations import generate

        data.codes = [issued.code for issued in generate(waves["open"], strata[0], 6, 0.01)]
        generate(waves["closed"], strata[1], 3, 0.01)
        for variable, category in (("district", strata[0]), ("district", strata[1])):
            db.session.add(PopulationTarget(agency_id=agency.id, variable=variable, category=category, stratum=None,
                                            population=10_000, source=f"{name} census"))
        investigator = data.staff[str(Role.INVESTIGATOR)]
        for n in range(3):
            complaint, code = complaint_service.file_complaint(
                db.session, agency, {"categories": ["other"], "narrative": f"{name} complaint story {n}",
                                     "location": f"{name} Street", "contact_method": "none"})
            complaint.assigned_to_id = investigator
            complaint_service.add_message(db.session, complaint, "resident", f"{name} resident message {n}")
            complaint_service.add_message(db.session, complaint, "staff", f"{name} staff reply {n}", investigator)
            complaint_service.add_message(db.session, complaint, "note", f"{name} internal note {n}", investigator)
            audit.record(db.session, "complaint.view", "complaint", complaint.id, staff_user_id=investigator,
                         agency_id=agency.id)
            data.receipts.append(code)
            data.complaints.append((complaint.id, complaint.reference))
        audit.record(db.session, "staff.roles", "staff_user", str(data.staff["admin"]), agency_id=agency.id,
                     detail={"email": data.emails["admin"], "before": [], "after": ["admin"]})
        db.session.commit()
    return data


def campaign_account(app: Flask) -> int:
    with app.app_context():
        user = StaffUser(agency_id=None, email="campaign@campaign.example", name="Campaign Chief",
                         password_hash=hash_password(PASSWORD), roles=[CAMPAIGN])
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(client: Any, slug: str, email: str) -> None:
    response = client.post(f"/a/{slug}/staff/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, (slug, email, response.status_code)


def forge_session(app: Flask, client: Any, slug: str, user_id: int) -> None:
    """A live staff session of ``user_id`` in a cookie kept to ``/a/<slug>/``, without signing in
    (a campaign account has no sign-in page at an agency; this is what it would carry if it had one)."""
    token = secrets.token_urlsafe(32)
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        db.session.add(StaffSession(id=hashlib.sha256(token.encode()).hexdigest(), staff_user_id=user_id))
        db.session.commit()
        version = user.session_version
    now = int(time.time())
    value = app.session_interface.get_signing_serializer(app).dumps(
        {"staff_id": user_id, "staff_sid": token, "staff_v": version, "staff_since": now, "staff_seen": now,
         "_permanent": True})
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value, path=f"/a/{slug}/")


def _rows(query: Any) -> list[tuple]:
    return sorted(tuple(map(repr, row)) for row in db.session.execute(query).all())


def snapshot(app: Flask, agency_id: int) -> dict[str, list[tuple]]:
    """Every row of one agency, as text: compared before and after the other agency's requests."""
    with app.app_context():
        waves = select(Wave.id).where(Wave.agency_id == agency_id)
        complaints = select(Complaint.id).where(Complaint.agency_id == agency_id)
        staff = select(StaffUser.id).where(StaffUser.agency_id == agency_id)
        tables = {
            "agency": select(Agency.__table__).where(Agency.id == agency_id),
            "instrument": select(Instrument.__table__).where(Instrument.agency_id == agency_id),
            "wave": select(Wave.__table__).where(Wave.agency_id == agency_id),
            "wave_stratum": select(WaveStratum.__table__).where(WaveStratum.wave_id.in_(waves)),
            "wave_area": select(WaveArea.__table__).where(WaveArea.wave_id.in_(waves)),
            "invitation": select(Invitation.__table__).where(Invitation.wave_id.in_(waves)),
            "response": select(Response.__table__).where(Response.wave_id.in_(waves)),
            "answer": select(Answer.__table__).join(Response).where(Response.wave_id.in_(waves)),
            "survey_draft": select(SurveyDraft.__table__).where(SurveyDraft.wave_id.in_(waves)),
            "population_target": select(PopulationTarget.__table__).where(PopulationTarget.agency_id == agency_id),
            "staff_user": select(StaffUser.__table__).where(StaffUser.agency_id == agency_id),
            "staff_session": select(StaffSession.__table__).where(StaffSession.staff_user_id.in_(staff)),
            "complaint": select(Complaint.__table__).where(Complaint.agency_id == agency_id),
            "complaint_message": select(ComplaintMessage.__table__).where(ComplaintMessage.complaint_id.in_(complaints)),
            "audit_event": select(AuditEvent.__table__).where(AuditEvent.agency_id == agency_id),
        }
        return {name: _rows(query) for name, query in tables.items()}


def letters_files(app: Flask) -> set[str]:
    folder = Path(app.config["LETTERS_DIR"])
    return {p.name for p in folder.glob("*.bin")} if folder.exists() else set()
