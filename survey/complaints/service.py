"""What a complaint can do, apart from any page: filing, look-up by receipt, status path, deadlines.

Views stay thin; these functions change the model and leave committing to the caller.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .. import crypto
from ..models import (
    Agency,
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    Disposition,
    today,
)
from ..security import generate_code, keyed_hash, normalize_code

RECEIPT_BITS = 90

#: The only order a complaint may move in; each step needs the one before it.
STATUS_PATH = [
    ComplaintStatus.RECEIVED,
    ComplaintStatus.ACKNOWLEDGED,
    ComplaintStatus.UNDER_REVIEW,
    ComplaintStatus.CLOSED,
]


class TransitionRefused(ValueError):
    """A status change that skips a step, goes backwards, or closes without a disposition."""


def receipt_hash(code: str) -> str:
    return keyed_hash("receipt", normalize_code(code))


#: Any fixed number: with the agency's id, the PostgreSQL advisory lock that queues the writers of
#: one agency's complaint references.
_REFERENCE_LOCK = 0x5C0E_2026


def next_reference(session: Session, agency_id: int, year: int) -> str:
    """The agency's next free reference of the year, e.g. ``C-2026-0042``.

    Each agency numbers its own complaints: a number counted over the whole campaign would tell
    one agency's staff how many complaints the others receive. On PostgreSQL two concurrent
    filings would both count the same rows and collide on the unique reference (50 residents at
    once exhausted the caller's retries and got a 500), so the count is taken under a
    transaction-scoped advisory lock of the agency; SQLite's write transaction already holds its
    database lock (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(CAST(:key AS integer), CAST(:agency AS integer))"),
                        {"key": _REFERENCE_LOCK, "agency": agency_id})
    prefix = f"C-{year}-"
    of_agency = Complaint.agency_id == agency_id
    count = session.scalar(
        select(func.count()).select_from(Complaint).where(of_agency, Complaint.reference.like(prefix + "%"))
    )
    number = (count or 0) + 1
    while session.scalar(select(Complaint.id).where(of_agency, Complaint.reference == f"{prefix}{number:04d}")):
        number += 1
    return f"{prefix}{number:04d}"


def _officers_text(data: dict[str, Any]) -> str | None:
    return data.get("officers") or None


def _contact_text(method: str | None, details: str | None) -> str | None:
    if not method or method == "none":
        return None
    return json.dumps({"method": method, "details": details or ""}, ensure_ascii=False)


def contact_of(complaint: Complaint) -> dict[str, str] | None:
    text = crypto.decrypt(complaint.contact_enc, Complaint.contact_enc)
    return json.loads(text) if text else None


def incident_date_of(complaint: Complaint) -> dt.date | None:
    """The date of the incident the resident gave (sealed: it could find the complaint about a stop)."""
    text = crypto.decrypt(complaint.incident_date_enc, Complaint.incident_date_enc)
    return dt.date.fromisoformat(text) if text else None


def body_of(message: ComplaintMessage) -> str | None:
    return crypto.decrypt(message.body_enc, ComplaintMessage.body_enc)


def file_complaint(
    session: Session,
    agency: Agency,
    data: dict[str, Any],
    *,
    channel: Channel = Channel.WEB,
    entered_by_id: int | None = None,
) -> tuple[Complaint, str]:
    """Store a complaint from validated form data; return it and its receipt code (shown once)."""
    code = generate_code(RECEIPT_BITS)
    received = today()
    wants_contact = data.get("contact_method") not in (None, "", "none")
    incident: dt.date | None = data.get("incident_date")
    complaint = Complaint(
        agency_id=agency.id,
        reference=next_reference(session, agency.id, received.year),
        receipt_hash=receipt_hash(code),
        channel=channel,
        categories=sorted(set(data.get("categories") or [])),
        language_enc=crypto.encrypt(data.get("language") or agency.default_language, Complaint.language_enc),
        on_behalf=bool(data.get("on_behalf")) or channel == Channel.THIRD_PARTY,
        wants_contact=wants_contact,
        incident_date_enc=crypto.encrypt(incident.isoformat() if incident else None, Complaint.incident_date_enc),
        narrative_enc=crypto.encrypt(data.get("narrative"), Complaint.narrative_enc),
        location_enc=crypto.encrypt(data.get("location"), Complaint.location_enc),
        officers_enc=crypto.encrypt(_officers_text(data), Complaint.officers_enc),
        witnesses_enc=crypto.encrypt(data.get("witnesses"), Complaint.witnesses_enc),
        contact_enc=crypto.encrypt(
            _contact_text(data.get("contact_method"), data.get("contact_details")), Complaint.contact_enc
        )
        if wants_contact
        else None,
        received_on=received,
        entered_by_id=entered_by_id,
    )
    session.add(complaint)
    session.flush()
    return complaint, code


def find_by_receipt(session: Session, code: str, agency_id: int) -> Complaint | None:
    """Look a complaint of agency ``agency_id`` up by its receipt code; malformed codes, and
    another agency's codes, take the same path as unknown ones."""
    return session.scalars(
        select(Complaint).where(Complaint.receipt_hash == receipt_hash(code), Complaint.agency_id == agency_id)
    ).first()


def add_message(
    session: Session, complaint: Complaint, author: str, body: str, staff_user_id: int | None = None
) -> ComplaintMessage:
    if author not in ("resident", "staff", "note"):
        raise ValueError(f"unknown message author {author!r}")
    seq = (session.scalar(select(func.max(ComplaintMessage.seq)).where(ComplaintMessage.complaint_id == complaint.id)) or 0) + 1
    message = ComplaintMessage(
        complaint_id=complaint.id,
        seq=seq,
        author=author,
        staff_user_id=staff_user_id,
        body_enc=crypto.encrypt(body, ComplaintMessage.body_enc),
        created_on=today(),
    )
    session.add(message)
    session.flush()
    session.refresh(complaint, ["messages"])
    return message


def change_status(complaint: Complaint, new: ComplaintStatus, disposition: Disposition | None = None) -> None:
    """Move one step along the path; refuse skips, reversals and closing without a disposition."""
    current = STATUS_PATH.index(complaint.status)
    target = STATUS_PATH.index(new)
    if target != current + 1:
        raise TransitionRefused(str(new))
    if new == ComplaintStatus.CLOSED and disposition is None:
        raise TransitionRefused("disposition")
    on = today()
    complaint.status = new
    if new == ComplaintStatus.ACKNOWLEDGED:
        complaint.acknowledged_on = on
    elif new == ComplaintStatus.UNDER_REVIEW:
        complaint.review_started_on = on
    elif new == ComplaintStatus.CLOSED:
        complaint.closed_on = on
        complaint.disposition = disposition


@dataclass(frozen=True)
class Deadlines:
    acknowledge_by: dt.date
    close_by: dt.date
    overdue: bool


def deadlines(complaint: Complaint, agency: Agency, on: dt.date | None = None) -> Deadlines:
    on = on or today()
    ack_by = complaint.received_on + dt.timedelta(days=agency.acknowledge_days or 7)
    close_by = complaint.received_on + dt.timedelta(days=agency.close_days or 90)
    overdue = (complaint.status == ComplaintStatus.RECEIVED and on > ack_by) or (
        complaint.status != ComplaintStatus.CLOSED and on > close_by
    )
    return Deadlines(ack_by, close_by, overdue)


def decrypted(complaint: Complaint) -> dict[str, Any]:
    """Everything the resident wrote, decrypted, for staff pages (shown escaped by Jinja)."""
    return {
        "incident_date": incident_date_of(complaint),
        "language": crypto.decrypt(complaint.language_enc, Complaint.language_enc),
        "narrative": crypto.decrypt(complaint.narrative_enc, Complaint.narrative_enc),
        "location": crypto.decrypt(complaint.location_enc, Complaint.location_enc),
        "officers": crypto.decrypt(complaint.officers_enc, Complaint.officers_enc),
        "witnesses": crypto.decrypt(complaint.witnesses_enc, Complaint.witnesses_enc),
        "contact": contact_of(complaint),
    }
