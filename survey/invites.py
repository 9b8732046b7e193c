"""One-time links that let an invited account set its own password (an agency's first
administrator, made by the campaign): a random token whose SHA-256 alone is stored, that
works once and only until it expires. The campaign passes the link on; no email is sent."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from sqlalchemy import select, update

from . import audit
from .auth import hash_password
from .db import db
from .models import StaffInvite, StaffUser, utcnow

#: How long a link works.
VALID_FOR = dt.timedelta(days=7)
#: What the password of an account that has not chosen one yet is: no Argon2 hash, so no
#: password ever verifies against it.
UNUSABLE = "!invited"


class Refused(enum.Enum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(user: StaffUser) -> str:
    """A new link token for ``user`` (in the caller's transaction); earlier unused links of the
    account stop working, so only the link given out last can be used."""
    now = utcnow()
    db.session.execute(
        update(StaffInvite).where(StaffInvite.staff_user_id == user.id, StaffInvite.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(24)
    db.session.add(StaffInvite(agency_id=user.agency_id, staff_user_id=user.id, token_hash=_hash(token),
                               created_at=now, expires_at=now + VALID_FOR))
    return token


def find(token: str, agency_id: int) -> StaffInvite | Refused:
    """The link's invitation at this agency, or why it does not work."""
    invite = db.session.scalars(
        select(StaffInvite).where(StaffInvite.token_hash == _hash(token or ""), StaffInvite.agency_id == agency_id)
    ).first()
    if invite is None:
        return Refused.UNKNOWN
    if invite.used_at is not None:
        return Refused.USED
    expires = invite.expires_at if invite.expires_at.tzinfo else invite.expires_at.replace(tzinfo=dt.UTC)
    if expires <= utcnow():
        return Refused.EXPIRED
    return invite


def accept(invite: StaffInvite, password: str) -> StaffUser:
    """Set the invited account's password and use the link up (in the caller's write transaction)."""
    user = db.session.get(StaffUser, invite.staff_user_id)
    invite.used_at = utcnow()
    user.password_hash = hash_password(password)
    user.session_version += 1
    audit.record(db.session, "staff.invitation_used", "staff_user", str(user.id), staff_user_id=user.id,
                 agency_id=user.agency_id, detail={"email": user.email})
    return user
