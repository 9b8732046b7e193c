"""Rate limits for receipt-code look-ups that never store an IP address.

Two counters per window (``THROTTLE_WINDOW_SECONDS``, default 15 minutes), both in the
``throttle_bucket`` table so every app process and thread shares them:

* per client: the key is HMAC-SHA256(window key, client address). The window key is random,
  held only in this process's memory and replaced when the window ends, so a bucket key cannot
  be reversed to an address (not even by someone holding the database and every configured
  secret), and yesterday's keys cannot be linked to today's. Each process has its own window
  key, so with N worker processes a client gets at most N times the per-client limit.
* global: one bucket for all clients, a ceiling on distributed guessing.

Only wrong codes count. Buckets from earlier windows are deleted as new windows start.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from flask import current_app, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db import db
from ..models import ThrottleBucket

_lock = threading.Lock()
_window_keys: dict[int, bytes] = {}


def _window() -> tuple[int, int]:
    length = int(current_app.config.get("THROTTLE_WINDOW_SECONDS", 900))
    return int(time.time()) // length, length


def _window_key(window: int) -> bytes:
    with _lock:
        key = _window_keys.get(window)
        if key is None:
            _window_keys.clear()  # forget every earlier window's key
            key = _window_keys[window] = secrets.token_bytes(32)
        return key


def _client_key(purpose: str, window: int) -> str:
    address = (request.remote_addr or "").encode()
    digest = hmac.new(_window_key(window), purpose.encode() + b"\0" + address, hashlib.sha256)
    return digest.hexdigest()


def _keys(purpose: str, window: int) -> list[tuple[str, int]]:
    per_client = int(current_app.config.get("THROTTLE_PER_CLIENT", 20))
    global_limit = int(current_app.config.get("THROTTLE_GLOBAL", 1000))
    return [(_client_key(purpose, window), per_client), (f"global:{purpose}", global_limit)]


def is_blocked(purpose: str) -> bool:
    """True when this client, or everyone together, has used up this window's wrong tries."""
    window, _length = _window()
    for key, limit in _keys(purpose, window):
        count = db.session.scalar(
            select(ThrottleBucket.count).where(ThrottleBucket.key == key, ThrottleBucket.window_start == window)
        )
        if count is not None and count >= limit:
            return True
    return False


def record_failure(purpose: str) -> None:
    """Count one wrong try for this client and globally (commits its own small transaction)."""
    window, _length = _window()
    for attempt in range(3):
        session = db.write()
        try:
            session.execute(delete(ThrottleBucket).where(ThrottleBucket.window_start < window))
            for key, _limit in _keys(purpose, window):
                bucket = session.get(ThrottleBucket, (key, window))
                if bucket is None:
                    session.add(ThrottleBucket(key=key, window_start=window, count=1))
                else:
                    bucket.count += 1
            session.commit()
            return
        except IntegrityError:
            # Two processes created the same new bucket at once (PostgreSQL); count again.
            session.rollback()
            if attempt == 2:
                raise
