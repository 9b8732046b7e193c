"""Consistent backups while the app is serving: SQLite's online backup API, or pg_dump.

Restore (documented in the README): for SQLite, stop the app and copy the backup file over the
database file (or use `flask --app wsgi restore`); for PostgreSQL, `pg_restore --clean` into the
database. The complaint key file is not in the database and must be backed up separately.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - runs pg_dump/pg_restore with an argument list, never a shell
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """The backup or restore could not be made; the message says why and what to do."""


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    parsed = make_url(url)
    args = ["--host", parsed.host or "127.0.0.1", "--port", str(parsed.port or 5432)]
    if parsed.username:
        args += ["--username", parsed.username]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return args + ["--dbname", parsed.database or "postgres"], env


def backup(url: str, out: Path) -> Path:
    """Write a consistent copy of the database to ``out`` while it is in use."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        target = sqlite3.connect(out)
        try:
            # The online backup API copies a consistent snapshot even while other
            # connections keep writing (pages=-1: in one step, under a read lock).
            source.backup(target)
            ok = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
            source.close()
        if ok != "ok":
            raise BackupError(f"The backup at {out} failed its integrity check: {ok}")
        return out
    if backend == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if not pg_dump:
            raise BackupError("pg_dump was not found; install the PostgreSQL client (apt-get install postgresql-client).")
        args, env = _pg_args(url)
        result = subprocess.run(  # noqa: S603 - fixed program, argument list
            [pg_dump, "--format=custom", "--no-owner", "--file", str(out), *args],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        return out
    raise BackupError(f"Backups of {backend} databases are not supported.")


def restore(url: str, source: Path) -> None:
    """Replace the database's contents with a backup (the app must not be serving)."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"No backup at {source}.")
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        target = _sqlite_path(url)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        src = sqlite3.connect(source)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    if backend == "postgresql":
        pg_restore = shutil.which("pg_restore")
        if not pg_restore:
            raise BackupError("pg_restore was not found; install the PostgreSQL client.")
        args, env = _pg_args(url)
        result = subprocess.run(  # noqa: S603
            [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", *args, str(source)],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        return
    raise BackupError(f"Restoring {backend} databases is not supported.")
