"""The databases tests run on: SQLite always, PostgreSQL too when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def throwaway_postgres(admin_url: str, prefix: str = "survey_test") -> tuple[str, Callable[[], None]]:
    """A new, empty database on the server at ``admin_url``; returns its URL and a drop function.

    Parallel runs (two developers, CI, several tests) each get their own database on one server.
    """
    admin = make_url(admin_url)
    if admin.drivername == "postgresql":
        admin = admin.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop
