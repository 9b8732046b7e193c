"""The append-only, hash-chained audit log of staff actions, and its verification.

Every agency has its own chain, and the campaign's own events (agency None) another: an event
links to the previous event of the same agency and carries its place in that chain (``seq``), so
one agency's chain verifies, and a deleted event shows as a gap, without reading any other
agency's events. The row id is only the database's key; it is in no hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEvent, utcnow

GENESIS = "0" * 64
_LOCK_ID = 7_303_001  # PostgreSQL advisory lock that serialises appends to the chain


def _canonical(event: AuditEvent) -> str:
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
    return json.dumps(
        {
            "agency_id": event.agency_id,
            "seq": event.seq,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "staff_user_id": event.staff_user_id,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "detail": event.detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + "\n" + _canonical(event)).encode()).hexdigest()


def record(
    session: Session,
    action: str,
    object_type: str,
    object_id: str | None = None,
    *,
    staff_user_id: int | None = None,
    agency_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (the caller commits).

    ``at`` is for loading history (the demo's past complaints); live events take the current time.
    """
    if session.get_bind().dialect.name == "postgresql":
        # One lock per chain: agencies append side by side, each chain one event at a time.
        session.execute(text("SELECT pg_advisory_xact_lock(:k, :a)"), {"k": _LOCK_ID, "a": agency_id or 0})
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(_of_chain(agency_id)).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    prev = last.hash if last else GENESIS
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        agency_id=agency_id,
        at=at or utcnow(),
        staff_user_id=staff_user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail or {},
        prev_hash=prev,
        hash="",
    )
    event.hash = chain_hash(prev, event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def _of_chain(agency_id: int | None) -> Any:
    return AuditEvent.agency_id.is_(None) if agency_id is None else AuditEvent.agency_id == agency_id


def chains(session: Session) -> list[int | None]:
    """The agencies that have a chain (None: the campaign's own events)."""
    return sorted(session.scalars(select(AuditEvent.agency_id).distinct()), key=lambda a: (a is not None, a or 0))


def verify(session: Session, agency_id: int | None = None) -> ChainCheck:
    """Walk one agency's chain in order; report the first event whose link or content does not match.

    ``agency_id`` None walks the campaign's own events. Places must run 1, 2, 3, ... without gaps,
    so a deleted row is caught even at the end... except the very last row, which only an
    external copy of the latest hash can vouch for. ``broken_id`` is the place in the chain.
    """
    prev = GENESIS
    expected = 1
    count = 0
    query = select(AuditEvent).where(_of_chain(agency_id)).order_by(AuditEvent.seq)
    for event in session.scalars(query).yield_per(1000):
        if event.seq != expected:
            return ChainCheck(False, count, expected, f"event {expected} is missing")
        if event.prev_hash != prev:
            return ChainCheck(False, count, event.seq, "its link to the previous event does not match")
        if chain_hash(prev, event) != event.hash:
            return ChainCheck(False, count, event.seq, "its content was changed after it was written")
        prev = event.hash
        expected += 1
        count += 1
    return ChainCheck(True, count)
