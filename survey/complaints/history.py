"""A complaint's history for investigators: its audit events in plain words, newest first.

Only the action, who did it, when, and labels that staff chose (status, outcome, assignee,
channel) are shown; nothing a resident wrote, and no free-form audit detail, reaches the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import get_timezone, ngettext, to_user_timezone
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Channel, Complaint, ComplaintStatus, Disposition, StaffUser
from .forms import CHANNEL_LABELS, DISPOSITION_LABELS, STATUS_LABELS

#: Older events are counted but not listed, so a long-running complaint's page stays light.
LIMIT = 200

VIEW = "complaint.view"


@dataclass
class Entry:
    """One line of the history; consecutive views by one person on one day share a line."""

    first: dt.datetime  # in the user's time zone
    last: dt.datetime
    staff_user_id: int | None
    who: str
    action: str
    what: str
    count: int = 1


@dataclass(frozen=True)
class History:
    entries: list[Entry]
    total: int  # every event of the complaint, listed or not
    limit: int
    zone: str  # the time zone the times are shown in

    @property
    def truncated(self) -> bool:
        return self.total > self.limit


def _label(labels: dict[Any, Any], kind: type, value: Any) -> str:
    try:
        return str(labels[kind(value)])
    except (KeyError, ValueError):
        return str(value)


def _status(event: AuditEvent, names: dict[int, str]) -> str:
    old = _label(STATUS_LABELS, ComplaintStatus, event.detail.get("old"))
    new = _label(STATUS_LABELS, ComplaintStatus, event.detail.get("new"))
    if event.detail.get("disposition"):
        outcome = _label(DISPOSITION_LABELS, Disposition, event.detail["disposition"])
        return _("Status changed from %(old)s to %(new)s (%(outcome)s)", old=old, new=new, outcome=outcome)
    return _("Status changed from %(old)s to %(new)s", old=old, new=new)


def _assign(event: AuditEvent, names: dict[int, str]) -> str:
    assignee = event.detail.get("assigned_to")
    if assignee is None:
        return _("Assignment removed")
    return _("Assigned to %(name)s", name=names.get(assignee, f"#{assignee}"))


def _create(event: AuditEvent, names: dict[int, str]) -> str:
    channel = _label(CHANNEL_LABELS, Channel, event.detail.get("channel"))
    return _("Entered the complaint (%(channel)s)", channel=channel)


DESCRIBE: dict[str, Callable[[AuditEvent, dict[int, str]], str]] = {
    "complaint.create": _create,
    VIEW: lambda event, names: _("Viewed"),
    "complaint.assign": _assign,
    "complaint.status": _status,
    "complaint.note": lambda event, names: _("Added an internal note"),
    "complaint.message": lambda event, names: _("Sent a message to the resident"),
    "complaint.erase_contact": lambda event, names: _("Contact details erased (retention period over)"),
}


def _describe(event: AuditEvent, names: dict[int, str]) -> str:
    describe = DESCRIBE.get(event.action)
    if describe is None:  # an action added later: name it rather than hide it
        return _("Other action: %(action)s", action=event.action)
    return describe(event, names)


def history(session: Session, complaint: Complaint, limit: int = LIMIT) -> History:
    """The latest ``limit`` audit events of one complaint, newest first, views collapsed."""
    where = (
        AuditEvent.object_type == "complaint",
        AuditEvent.object_id == complaint.id,
        AuditEvent.agency_id == complaint.agency_id,
    )
    # Ids follow the chain, so they order events exactly even when two share a timestamp.
    events = session.scalars(select(AuditEvent).where(*where).order_by(AuditEvent.id.desc()).limit(limit)).all()
    total = len(events)
    if total == limit:  # there may be more: count them
        total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    ids = {e.staff_user_id for e in events if e.staff_user_id is not None}
    ids |= {e.detail["assigned_to"] for e in events if e.action == "complaint.assign" and e.detail.get("assigned_to")}
    names = dict(session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids))).all())

    entries: list[Entry] = []
    for event in events:
        at = to_user_timezone(event.at)
        previous = entries[-1] if entries else None
        if (
            event.action == VIEW
            and previous is not None
            and previous.action == VIEW
            and previous.staff_user_id == event.staff_user_id
            and previous.first.date() == at.date()
        ):
            previous.first = at
            previous.count += 1
            continue
        who = names.get(event.staff_user_id, f"#{event.staff_user_id}") if event.staff_user_id else _("System")
        entries.append(Entry(at, at, event.staff_user_id, who, event.action, _describe(event, names)))
    for entry in entries:
        if entry.count > 1:
            entry.what = ngettext("Viewed %(num)d time", "Viewed %(num)d times", entry.count)
    return History(entries, total, limit, str(get_timezone()))
