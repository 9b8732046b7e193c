"""Attempt counters in the shared ThrottleBucket table: per email and for the whole site, no IPs."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .db import db
from .models import ThrottleBucket
from .security import keyed_hash


def _key(purpose: str, hint: str) -> str:
    # A keyed hash, so the table never holds an email address or anything else readable.
    return keyed_hash("throttle", f"{purpose}:{hint}")


def _window(seconds: int) -> int:
    return int(time.time()) // seconds


def count(purpose: str, hint: str, seconds: int) -> int:
    """Attempts recorded for (purpose, hint) in the current window of ``seconds``."""
    bucket = db.session.get(ThrottleBucket, (_key(purpose, hint), _window(seconds)))
    return bucket.count if bucket else 0


def hit(purpose: str, hint: str, seconds: int) -> int:
    """Record one attempt and return the window's count (the caller commits)."""
    key, window = _key(purpose, hint), _window(seconds)
    session = db.session
    session.execute(delete(ThrottleBucket).where(ThrottleBucket.key == key, ThrottleBucket.window_start < window))
    for _attempt in range(2):
        bucket = session.scalars(
            select(ThrottleBucket).where(ThrottleBucket.key == key, ThrottleBucket.window_start == window)
        ).first()
        if bucket is None:
            bucket = ThrottleBucket(key=key, window_start=window, count=0)
            try:
                with session.begin_nested():
                    session.add(bucket)
            except IntegrityError:
                continue  # another process created it first; read it again
        bucket.count += 1
        session.flush()
        return bucket.count
    raise RuntimeError("could not record a throttle attempt")


def clear(purpose: str, hint: str) -> None:
    db.session.execute(delete(ThrottleBucket).where(ThrottleBucket.key == _key(purpose, hint)))
