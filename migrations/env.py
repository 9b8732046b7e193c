"""Alembic environment: the URL comes from the caller (the Flask CLI or the tests), never a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from survey import models  # noqa: F401  (registers the tables on Base.metadata)
from survey.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    if connection.dialect.name == "sqlite":
        # A batch migration copies a table, drops the old one and renames the copy: with foreign
        # keys on, the drop would cascade-delete the rows that point at it (a complaint's
        # messages). The pragma only takes effect outside a transaction, hence the raw connection.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    # render_as_batch lets ALTER-style migrations work on SQLite (copy-and-move tables).
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.commit()
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
