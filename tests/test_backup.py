"""A backup taken while residents keep submitting holds every row confirmed before it began."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from survey.backup import BackupError, backup, restore
from survey.db import make_engine
from survey.models import Response, random_id
from survey.models import today as app_today


def _writer(url: str, wave_id: int, stop: threading.Event, confirmed: list[str]) -> None:
    engine = make_engine(url)
    try:
        while not stop.is_set():
            rid = random_id()
            with engine.begin() as conn:
                conn.execute(insert(Response).values(id=rid, wave_id=wave_id, stratum="North", language="en",
                                                     channel="web", submitted_on=app_today()))
            confirmed.append(rid)  # the "confirmation page": only after the commit returned
    finally:
        engine.dispose()


def test_backup_under_load_restores_every_confirmed_row(app, database_url, make_wave, tmp_path):
    wave = make_wave()
    stop, confirmed = threading.Event(), []
    writers = [threading.Thread(target=_writer, args=(database_url, wave.id, stop, confirmed)) for _ in range(3)]
    for w in writers:
        w.start()
    try:
        while len(confirmed) < 60:
            threading.Event().wait(0.01)
        before = list(confirmed)
        out = tmp_path / ("backup.sqlite3" if database_url.startswith("sqlite") else "backup.dump")
        backup(database_url, out)
        threading.Event().wait(0.1)
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert len(confirmed) > len(before), "writes kept going during the backup"

    if database_url.startswith("sqlite"):
        target_url = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        admin = None
    else:
        admin_url = make_url(database_url).set(database="postgres")
        name = f"survey_restore_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        target_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        restore(target_url, out)
        engine = create_engine(target_url)
        with engine.connect() as conn:
            restored = set(conn.scalars(select(Response.id)))
        engine.dispose()
        assert set(before) <= restored, f"{len(set(before) - restored)} confirmed responses missing from the backup"
        assert restored <= set(confirmed)
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_backup_cli_writes_a_file(app, runner, agency, tmp_path):
    out = tmp_path / "b.bin"
    result = runner.invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and out.stat().st_size > 0


def test_restore_refuses_a_missing_file(database_url, tmp_path):
    with pytest.raises(BackupError, match="No backup at"):
        restore(database_url, tmp_path / "nothing")
