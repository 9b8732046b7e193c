"""Staff sign-in state and role checks, used by every blueprint that serves staff pages.

A staff session is a row in ``staff_session`` named by a random token in the signed cookie:
signing out deletes the row, so a cookie replayed afterwards signs in no one. The cookie also
carries the user's ``session_version`` (bumped when the password or roles change, and by "sign
out everywhere"), when the session began and when it was last used: it ends after
``STAFF_IDLE_MINUTES`` without a request and ``PERMANENT_SESSION_LIFETIME`` after sign-in,
whichever comes first.

Failed sign-ins (a wrong password, a wrong second-factor code) are counted by survey/throttle.py
per client address and prefix, and per (account, address) and (account, prefix): an account is
locked only from where the wrong passwords came, never for its owner elsewhere. Every refusal,
whatever its reason (wrong password, unknown email, inactive account, lock-out), is the same page
after the same password check, so the answer tells nothing about accounts or lock-outs.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from . import audit, tenancy, throttle
from .db import db
from .models import CAMPAIGN_ROLE, AuditEvent, Role, StaffSession, StaffUser, utcnow

F = TypeVar("F", bound=Callable[..., Any])

# Argon2id with the library's defaults (RFC 9106 "low memory" profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

TOTP_PENDING_SECONDS = 300


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: StaffUser | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


class SignIn(enum.Enum):
    OK = "ok"
    NEED_CODE = "need_code"
    REFUSED = "refused"  # wrong, unknown, inactive or locked out: one answer for all


def account_scope() -> int | None:
    """Whose accounts sign in here: the request's agency's id, or None on the campaign's pages."""
    if tenancy.on_campaign_pages():
        return None
    from .context import current_agency

    return current_agency().id


def _of_scope(agency_id: int | None) -> Any:
    return StaffUser.agency_id.is_(None) if agency_id is None else StaffUser.agency_id == agency_id


def sign_in_account(email: str, agency_id: int | None) -> str:
    """What the sign-in throttle counts failures against: the email at its agency, so that
    wrong passwords at one agency never lock the same email's account at another."""
    return f"{agency_id if agency_id is not None else 'campaign'}/{email.strip().lower()}"


def find_user(email: str, agency_id: int | None) -> StaffUser | None:
    """The account of ``email`` at agency ``agency_id`` (None: a campaign account)."""
    email = email.strip().lower()
    return db.session.scalars(
        select(StaffUser).where(func.lower(StaffUser.email) == email, _of_scope(agency_id))
    ).first()


def attempt_password(email: str, password: str) -> SignIn:
    """Check an email and password; on success sign in or ask for the second factor.

    The password is checked (an Argon2 verification, against a dummy hash for an unknown email)
    before the lock-out is looked at, so a refusal takes the same time whatever its reason. No
    transaction is open during the check: the counters are written afterwards in their own short
    write transaction, so concurrent sign-ins queue for milliseconds, not for each other's hashing.
    """
    scope = account_scope()
    user = find_user(email, scope)
    right = verify_password(user, password) and user is not None and user.active
    db.session.rollback()  # no transaction stays open across the slow part
    account = sign_in_account(email, scope)
    if not throttle.take(throttle.SIGNIN, account) or not right:
        return SignIn.REFUSED
    throttle.refund(throttle.SIGNIN, account)
    if user.totp_secret:
        # Failures are forgotten only once the second factor is right too: a known password
        # must not reset the count of wrong codes.
        session.clear()
        session["pending_staff_id"] = user.id
        session["pending_staff_v"] = user.session_version
        session["pending_at"] = int(time.time())
        return SignIn.NEED_CODE
    _signed_in_from_here(user)
    return SignIn.OK


def _signed_in_from_here(user: StaffUser) -> None:
    """A full sign-in: forget this account's failures from this client, then start the session."""
    db.write()
    throttle.forget_account(throttle.SIGNIN, sign_in_account(user.email, user.agency_id))
    sign_in(user)


def pending_user() -> StaffUser | None:
    """The user who gave the right password and still owes a second-factor code."""
    staff_id = session.get("pending_staff_id")
    if staff_id is None or time.time() - session.get("pending_at", 0) > TOTP_PENDING_SECONDS:
        return None
    user = db.session.get(StaffUser, staff_id)
    if user is None or not user.active or user.session_version != session.get("pending_staff_v"):
        return None
    if user.agency_id != account_scope():
        return None
    return user


def check_totp(user: StaffUser, secret: str, code: str) -> bool:
    """Accept a current code (one step of clock drift either way), each time step only once."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = time.time()
    for drift in (-1, 0, 1):
        moment = now + drift * totp.interval
        step = int(moment // totp.interval)
        if hmac.compare_digest(totp.at(moment), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def attempt_code(user: StaffUser, code: str) -> SignIn:
    account = sign_in_account(user.email, user.agency_id)
    if not throttle.take(throttle.SIGNIN, account):
        return SignIn.REFUSED
    db.write()
    if user.totp_secret and check_totp(user, user.totp_secret, code):
        db.session.commit()
        throttle.refund(throttle.SIGNIN, account)
        _signed_in_from_here(user)
        return SignIn.OK
    db.session.rollback()
    return SignIn.REFUSED


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(user: StaffUser) -> None:
    """Start a server-side session for ``user`` (commits) and put its token in the cookie."""
    ended = session.get("staff_sid")
    session.clear()
    token = secrets.token_urlsafe(32)
    write = db.write()
    if ended:
        write.execute(delete(StaffSession).where(StaffSession.id == _token_id(ended)))
    # Sessions older than the longest a session can last are dead anyway: drop them as we go.
    oldest = utcnow() - current_app.permanent_session_lifetime
    write.execute(delete(StaffSession).where(StaffSession.created_at < oldest))
    write.add(StaffSession(id=_token_id(token), staff_user_id=user.id))
    write.commit()
    now = int(time.time())
    session["staff_id"] = user.id
    session["staff_sid"] = token
    session["staff_v"] = user.session_version
    session["staff_since"] = now
    session["staff_seen"] = now
    session.permanent = True


def _forget_cookie() -> None:
    for key in ("staff_id", "staff_sid", "staff_v", "staff_since", "staff_seen", "totp_enrol_secret"):
        session.pop(key, None)


def sign_out() -> None:
    """End this session on the server (commits) and in the cookie."""
    token = session.get("staff_sid")
    if token:
        write = db.write()
        write.execute(delete(StaffSession).where(StaffSession.id == _token_id(token)))
        write.commit()
    _forget_cookie()


def sign_out_everywhere(user: StaffUser) -> None:
    write = db.write()
    write.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))
    write.merge(user).session_version += 1
    write.commit()
    _forget_cookie()


def _expired() -> bool:
    now = time.time()
    idle = int(current_app.config["STAFF_IDLE_MINUTES"]) * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return now - session.get("staff_seen", 0) > idle or now - session.get("staff_since", 0) > lifetime


def _session_alive(user: StaffUser) -> bool:
    token = session.get("staff_sid")
    if not isinstance(token, str):
        return False
    row = db.session.get(StaffSession, _token_id(token))
    return row is not None and row.staff_user_id == user.id


def current_user() -> StaffUser | None:
    """The signed-in staff user, or None. Expired sessions and those from before "sign out
    everywhere" are refused."""
    if "staff_user" not in g:
        user = None
        staff_id = session.get("staff_id")
        if staff_id is not None:
            user = db.session.get(StaffUser, staff_id)
            if _expired():
                g.staff_session_expired = True
                sign_out()
                user = None
            elif (user is None or not user.active or user.session_version != session.get("staff_v")
                  or not _session_alive(user)):
                sign_out()
                user = None
            elif user.agency_id != account_scope():
                # Another agency's account (or a campaign account on an agency's pages): no one here.
                user = None
            elif time.time() - session.get("staff_seen", 0) > 30:
                session["staff_seen"] = int(time.time())
        g.staff_user = user
    return g.staff_user


def needs_second_factor(user: StaffUser) -> bool:
    return bool(user.totp_required and not user.totp_secret)


def _to_sign_in(endpoint: str) -> Any:
    """Send an anonymous visitor to sign in, and back here afterwards (a page, not a form post)."""
    if g.get("staff_session_expired"):
        flash(_("You were signed out because your session expired. Please sign in again."), "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for(endpoint, next=target))


def roles_required(*roles: Role, allow_without_totp: bool = False) -> Callable[[F], F]:
    """Require a signed-in staff user holding at least one of ``roles``.

    Anonymous visitors are sent to sign in (and brought back); a signed-in user without the role
    gets 403. Roles are never implied: an admin who must see complaints also holds investigator.
    A user whom an admin requires to use a second factor is sent to set it up first.
    """
    if not roles:
        raise ValueError("roles_required needs at least one role")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _to_sign_in("staff.sign_in")
            if not user.has_role(*roles):
                abort(403)
            if not allow_without_totp and needs_second_factor(user):
                return redirect(url_for("staff.totp_enrol"))
            return view(*args, **kwargs)

        wrapped.required_roles = frozenset(str(r) for r in roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def campaign_required(view: F) -> F:
    """A campaign account (no agency, the campaign role) must be signed in on the campaign's pages."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return _to_sign_in("campaign.sign_in")
        if user.agency_id is not None or CAMPAIGN_ROLE not in user.roles:
            abort(403)
        return view(*args, **kwargs)

    wrapped.required_roles = frozenset({CAMPAIGN_ROLE})  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


def signed_in_required(view: F) -> F:
    """Any staff role may see this page (the dashboard, one's own account)."""
    return roles_required(*Role)(view)


# ------------------------------------------------------------------ changes of roles

ROLE_CHANGE = "staff.roles"
RECENT_ROLE_CHANGES = 50


def record_role_change(person: StaffUser, before: list[str], by: StaffUser | None) -> None:
    """Write a change of ``person``'s roles to the audit log (in the caller's write transaction).

    Every change is recorded, an administrator's change of their own roles included, and listed
    on the staff accounts page that every administrator sees.
    """
    after = sorted(person.roles)
    if sorted(before) == after:
        return
    audit.record(
        db.session, ROLE_CHANGE, "staff_user", str(person.id), staff_user_id=by.id if by else None,
        agency_id=person.agency_id, detail={"email": person.email, "before": sorted(before), "after": after},
    )


def role_changes(agency_id: int, limit: int = RECENT_ROLE_CHANGES) -> list[dict]:
    """The latest role changes, newest first, with who made them."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == ROLE_CHANGE, AuditEvent.agency_id == agency_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    ).all()
    names = dict(db.session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.agency_id == agency_id)).all())
    return [
        {
            "at": event.at,
            "by": names.get(event.staff_user_id) if event.staff_user_id else None,
            "own": event.staff_user_id is not None and str(event.staff_user_id) == event.object_id,
            "email": event.detail.get("email", ""),
            "before": event.detail.get("before", []),
            "after": event.detail.get("after", []),
        }
        for event in events
    ]
