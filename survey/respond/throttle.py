"""Throttle access-code attempts per client and per session without ever storing an address.

A client is counted under an HMAC of its address with a random key that lives only in this
process's memory and is replaced every hour: the ``throttle_bucket`` rows cannot be turned back
into addresses, not even by someone holding the database and the configuration. Each gunicorn
worker has its own key, so a client gets at most ``LIMIT`` failures per worker per window; the
per-session count (in the signed session cookie) adds a second, cheaper limit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from flask import request, session
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..models import ThrottleBucket

WINDOW_SECONDS = 600
LIMIT = 10

_lock = threading.Lock()
_rotating = {"hour": -1, "key": b""}


def _memory_key() -> bytes:
    hour = int(time.time() // 3600)
    with _lock:
        if _rotating["hour"] != hour:
            _rotating["hour"] = hour
            _rotating["key"] = secrets.token_bytes(32)
        return _rotating["key"]  # type: ignore[return-value]


def _window() -> int:
    return int(time.time() // WINDOW_SECONDS)


def _client_key(purpose: str) -> str:
    address = request.remote_addr or "unknown"
    return hmac.new(_memory_key(), f"{purpose}:{address}".encode(), hashlib.sha256).hexdigest()


def _session_count(purpose: str) -> int:
    stored = session.get(f"tries_{purpose}")
    if isinstance(stored, list) and len(stored) == 2 and stored[0] == _window():
        return int(stored[1])
    return 0


def is_throttled(purpose: str) -> bool:
    """True when this client or this session already failed ``LIMIT`` times in this window."""
    if _session_count(purpose) >= LIMIT:
        return True
    count = db.session.scalar(
        select(ThrottleBucket.count).where(
            ThrottleBucket.key == _client_key(purpose), ThrottleBucket.window_start == _window()
        )
    )
    return (count or 0) >= LIMIT


def record_failure(purpose: str) -> None:
    """Count one failed attempt for this client (database) and this session (cookie)."""
    window = _window()
    session[f"tries_{purpose}"] = [window, _session_count(purpose) + 1]
    key = _client_key(purpose)
    for _attempt in range(2):
        write = db.write()
        bumped = write.execute(
            update(ThrottleBucket)
            .where(ThrottleBucket.key == key, ThrottleBucket.window_start == window)
            .values(count=ThrottleBucket.count + 1)
        ).rowcount
        if bumped:
            write.commit()
            return
        # Old windows are useless; clear them when a new bucket starts.
        write.execute(delete(ThrottleBucket).where(ThrottleBucket.window_start < window - 1))
        write.add(ThrottleBucket(key=key, window_start=window, count=1))
        try:
            write.commit()
            return
        except IntegrityError:
            # Another worker created the bucket at the same moment: count in it instead.
            write.rollback()
