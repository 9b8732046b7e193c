"""The database: one engine per app, one session per request or command, and the declarative Base."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Stable constraint names so that Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so writers wait, not fail.

    ``hide_parameters``: a database error's message (which ends up in the server log when a
    request fails) names the statement but never the values, which can be what a resident wrote.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that "BEGIN IMMEDIATE" can be used for writes.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # A deleted row (a submitted draft, an erased contact) is overwritten with zeros
            # instead of staying readable in a free page of the file.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Reads begin DEFERRED; writers ask for IMMEDIATE (see Database.write) so that two
            # submits serialise on the lock instead of one failing with SQLITE_BUSY_SNAPSHOT.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


class Database:
    """Binds an engine to a Flask app and hands out a session per request (``db.session``)."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["survey.db"] = {
            "engine": engine,
            "sessionmaker": sessionmaker(bind=engine, expire_on_commit=False),
            "sqlite": engine.dialect.name == "sqlite",
        }
        app.teardown_appcontext(self._close)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["survey.db"]["engine"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = current_app.extensions["survey.db"]["sessionmaker"]()
        return g.db_session

    def write(self) -> Session:
        """End any read transaction and start a write transaction that holds the lock at once.

        On SQLite this is ``BEGIN IMMEDIATE`` (writers queue on the busy timeout). On PostgreSQL a
        transaction already open for reading simply goes on (at READ COMMITTED each statement sees
        what others committed, and row locks serialise conflicting writers), which spares a commit
        and a connection check-out per request. Use it before a read-check-write sequence such as
        "is this code unused? then mark it used".
        """
        session = self.session
        if not current_app.extensions["survey.db"]["sqlite"]:
            return session
        if session.in_transaction():
            session.commit()
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        return session

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and truncate it, so the pages of
        deleted rows and the frames of recent commits do not stay in the ``-wal`` file.

        Best effort and never blocking: with a short busy timeout the checkpoint gives way when a
        reader or writer is busy (it then happens after a later submission). PostgreSQL: nothing.
        """
        self._outside_transaction("PRAGMA busy_timeout=50", "PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA busy_timeout=30000")

    def compact(self) -> None:
        """SQLite: rewrite the whole file (VACUUM) and empty the log, so no free page keeps old data."""
        self._outside_transaction("VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)")

    def _outside_transaction(self, *statements: str) -> None:
        if not current_app.extensions["survey.db"]["sqlite"]:
            return
        if self.session.in_transaction():
            self.session.commit()
        conn = self.engine.raw_connection()  # autocommit (see the pragmas): no BEGIN around these
        try:
            cursor = conn.cursor()
            for statement in statements:
                cursor.execute(statement)
            cursor.close()
        finally:
            conn.close()

    def discard(self) -> None:
        """Drop this request's session after a database error; the next use opens a fresh one.

        When the server went away mid-request (a restart, a failover) even the rollback fails:
        the connection is then invalidated so the pool replaces it, and nothing is raised, so the
        visitor still gets the "try again in a moment" page.
        """
        session = g.pop("db_session", None)
        if session is None:
            return
        try:
            session.close()
        except SQLAlchemyError:
            with contextlib.suppress(SQLAlchemyError):
                session.invalidate()

    def _close(self, _exc: BaseException | None) -> None:
        self.discard()


db = Database()
