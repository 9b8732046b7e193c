"""Every migration runs up and down on SQLite and on PostgreSQL, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from survey import migrate
from survey.db import Base, make_engine


def _empty_database(database_url: str) -> None:
    migrate.downgrade(database_url, "base")


def test_every_migration_runs_up_and_down(database_url):
    script = ScriptDirectory.from_config(migrate.alembic_config(database_url))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert len(script.get_heads()) == 1, "migrations have more than one head: merge them"
    _empty_database(database_url)
    engine = create_engine(database_url)
    try:
        for revision in revisions:
            migrate.upgrade(database_url, revision)
        assert "response" in inspect(engine).get_table_names()
        for revision in reversed(revisions[:-1]):
            migrate.downgrade(database_url, revision)
        migrate.downgrade(database_url, "base")
        assert [t for t in inspect(engine).get_table_names() if t != "alembic_version"] == []
        migrate.upgrade(database_url)
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        assert diff == [], f"the models differ from the migrations; write a migration: {diff}"
    finally:
        engine.dispose()


def test_sqlite_response_tables_keep_no_rowid(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        for table in ("response", "answer"):
            sql = conn.exec_driver_sql(f"SELECT sql FROM sqlite_master WHERE name='{table}'").scalar()
            assert "WITHOUT ROWID" in sql, table
    engine.dispose()
