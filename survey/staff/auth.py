"""Staff sign-in state and role checks shared by every staff page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, g, redirect, request, session, url_for

from ..db import db
from ..models import Role, StaffUser

F = TypeVar("F", bound=Callable[..., Any])

# Argon2id with the library's defaults (RFC 9106 "low memory" profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(user: StaffUser | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def sign_in(user: StaffUser) -> None:
    session.clear()
    session["staff_id"] = user.id
    session["staff_v"] = user.session_version
    session.permanent = True


def sign_out() -> None:
    session.pop("staff_id", None)
    session.pop("staff_v", None)


def current_user() -> StaffUser | None:
    """The signed-in staff user, or None. A session from before "sign out everywhere" is refused."""
    if "staff_user" not in g:
        user = None
        staff_id = session.get("staff_id")
        if staff_id is not None:
            user = db.session.get(StaffUser, staff_id)
            if user is None or not user.active or user.session_version != session.get("staff_v"):
                sign_out()
                user = None
        g.staff_user = user
    return g.staff_user


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Require a signed-in staff user holding at least one of ``roles``.

    Anonymous visitors are sent to sign in (and brought back); a signed-in user without the role
    gets 403. Roles are never implied: an admin who must see complaints also holds investigator.
    """
    if not roles:
        raise ValueError("roles_required needs at least one role")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("staff.sign_in", next=request.full_path.rstrip("?")))
            if not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = frozenset(str(r) for r in roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def signed_in_required(view: F) -> F:
    """Any staff role may see this page (the dashboard, one's own account)."""
    return roles_required(*Role)(view)
