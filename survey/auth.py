"""Staff sign-in state and role checks, used by every blueprint that serves staff pages.

A staff session carries the user id, the user's ``session_version`` (bumped by "sign out
everywhere"), when it began and when it was last used: it ends after
``STAFF_IDLE_MINUTES`` without a request and ``PERMANENT_SESSION_LIFETIME`` after sign-in,
whichever comes first. Sign-in is throttled per email address (an attacker learns nothing about
whether an account exists), per account (``failed_logins``/``locked_until``) and for the whole
site (``STAFF_SIGNIN_PER_MINUTE``); no IP address is kept anywhere.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from . import throttle
from .db import db
from .models import Role, StaffUser, utcnow

F = TypeVar("F", bound=Callable[..., Any])

# Argon2id with the library's defaults (RFC 9106 "low memory" profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MAX_FAILURES = 5
LOCK_MINUTES = 15
EMAIL_WINDOW_SECONDS = LOCK_MINUTES * 60
TOTP_PENDING_SECONDS = 300


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: StaffUser | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


class SignIn(enum.Enum):
    OK = "ok"
    NEED_CODE = "need_code"
    WRONG = "wrong"
    LOCKED = "locked"
    BUSY = "busy"


def find_user(email: str) -> StaffUser | None:
    email = email.strip().lower()
    return db.session.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)).first()


def _record_failure(email: str, user: StaffUser | None) -> None:
    throttle.hit("signin-email", email, EMAIL_WINDOW_SECONDS)
    if user is not None:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = utcnow() + dt.timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
    db.session.commit()


def is_locked(email: str, user: StaffUser | None) -> bool:
    if throttle.count("signin-email", email, EMAIL_WINDOW_SECONDS) >= MAX_FAILURES:
        return True
    locked_until = _aware(user.locked_until) if user else None
    return locked_until is not None and locked_until > utcnow()


def attempt_password(email: str, password: str) -> SignIn:
    """Check an email and password; on success sign in or ask for the second factor."""
    email = email.strip().lower()
    if throttle.hit("signin-global", "all", 60) > _setting("STAFF_SIGNIN_PER_MINUTE", 60):
        db.session.commit()
        return SignIn.BUSY
    db.session.commit()
    user = find_user(email)
    if is_locked(email, user):
        return SignIn.LOCKED
    if not verify_password(user, password) or user is None or not user.active:
        _record_failure(email, user)
        return SignIn.WRONG
    user.failed_logins = 0
    user.locked_until = None
    throttle.clear("signin-email", email)
    db.session.commit()
    if user.totp_secret:
        session.clear()
        session["pending_staff_id"] = user.id
        session["pending_staff_v"] = user.session_version
        session["pending_at"] = int(time.time())
        return SignIn.NEED_CODE
    sign_in(user)
    return SignIn.OK


def pending_user() -> StaffUser | None:
    """The user who gave the right password and still owes a second-factor code."""
    staff_id = session.get("pending_staff_id")
    if staff_id is None or time.time() - session.get("pending_at", 0) > TOTP_PENDING_SECONDS:
        return None
    user = db.session.get(StaffUser, staff_id)
    if user is None or not user.active or user.session_version != session.get("pending_staff_v"):
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
    if is_locked(user.email.lower(), user):
        return SignIn.LOCKED
    if user.totp_secret and check_totp(user, user.totp_secret, code):
        user.failed_logins = 0
        db.session.commit()
        sign_in(user)
        return SignIn.OK
    _record_failure(user.email.lower(), user)
    return SignIn.WRONG


def sign_in(user: StaffUser) -> None:
    session.clear()
    now = int(time.time())
    session["staff_id"] = user.id
    session["staff_v"] = user.session_version
    session["staff_since"] = now
    session["staff_seen"] = now
    session.permanent = True


def sign_out() -> None:
    for key in ("staff_id", "staff_v", "staff_since", "staff_seen", "totp_enrol_secret"):
        session.pop(key, None)


def sign_out_everywhere(user: StaffUser) -> None:
    user.session_version += 1
    db.session.commit()
    sign_out()


def _expired() -> bool:
    now = time.time()
    idle = _setting("STAFF_IDLE_MINUTES", 30) * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    return now - session.get("staff_seen", 0) > idle or now - session.get("staff_since", 0) > lifetime


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
            elif user is None or not user.active or user.session_version != session.get("staff_v"):
                sign_out()
                user = None
            elif time.time() - session.get("staff_seen", 0) > 30:
                session["staff_seen"] = int(time.time())
        g.staff_user = user
    return g.staff_user


def needs_second_factor(user: StaffUser) -> bool:
    return bool(user.totp_required and not user.totp_secret)


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
                if g.get("staff_session_expired"):
                    flash(_("You were signed out because your session expired. Please sign in again."), "info")
                target = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("staff.sign_in", next=target))
            if not user.has_role(*roles):
                abort(403)
            if not allow_without_totp and needs_second_factor(user):
                return redirect(url_for("staff.totp_enrol"))
            return view(*args, **kwargs)

        wrapped.required_roles = frozenset(str(r) for r in roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def signed_in_required(view: F) -> F:
    """Any staff role may see this page (the dashboard, one's own account)."""
    return roles_required(*Role)(view)
