"""Crash and outage: SIGKILL of gunicorn (master and workers) in the middle of the load, a
PostgreSQL restart in the middle of the load, and a backup taken while the load runs.

After each, every survey and complaint that got a confirmation is stored exactly once and
nothing is half-written (every response has its answers; used codes equal responses).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import escape

from tests.conftest import make_test_app
from tests.databases import throwaway_postgres
from tests.reliability.harness import (
    LANGUAGES,
    Deployment,
    Gunicorn,
    Tally,
    check_nothing_lost,
    free_port,
    run_residents,
    scale,
    summary,
)

pytestmark = pytest.mark.slow


def _confirmed(tally: Tally) -> int:
    with tally.lock:
        return len(tally.surveys) + len(tally.invitation_surveys) + len(tally.complaints)


def _wait_for(tally: Tally, count: int, load: threading.Thread, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while _confirmed(tally) < count:
        assert load.is_alive(), f"the load ended with only {_confirmed(tally)} confirmations"
        assert time.time() < deadline, f"only {_confirmed(tally)} confirmations after {timeout} s"
        time.sleep(0.05)


def _start_load(server_port, deployment: Deployment, tally: Tally, **kwargs) -> threading.Thread:
    residents, surveys, complaints = scale()
    load = threading.Thread(target=run_residents, daemon=True, args=(server_port, deployment, tally), kwargs={
        "residents": residents, "surveys": surveys, "complaints": complaints,
        "deadline": time.time() + 900, **kwargs})
    load.start()
    return load


def _planned() -> int:
    residents, surveys, complaints = scale()
    return residents * (surveys + complaints)


def test_sigkill_of_every_gunicorn_process_mid_load_loses_nothing(deployment, tmp_path):
    server = Gunicorn(deployment, tmp_path / "gunicorn.log")
    server.start()
    tally = Tally()
    kills = 0
    up = threading.Event()
    up.set()
    try:
        # A resident whose page did not come back tries again once the site answers again.
        load = _start_load(lambda: server.port, deployment, tally, pause=lambda: up.wait(60))
        for fraction in (0.25, 0.6) if _planned() >= 500 else (0.3,):
            _wait_for(tally, int(_planned() * fraction), load)
            up.clear()
            server.kill()  # master and both workers, mid-request
            kills += 1
            time.sleep(0.5)
            server.start()
            up.set()
        load.join(timeout=900)
    finally:
        server.stop()
    assert not tally.server_errors, tally.server_errors[:3]
    db_state = check_nothing_lost(deployment, tally, exact=False)
    assert tally.failures["conn"] > 0, "the kill did not hit any request in flight"
    print(summary(f"{kills} x SIGKILL {deployment.database_url.split(':')[0]}", tally, db_state))


# ------------------------------------------------------------------ PostgreSQL restarted


@dataclasses.dataclass
class PrivatePostgres:
    """A PostgreSQL server of our own under a temporary folder, so the shared one is never touched."""

    folder: Path
    port: int
    bin: Path

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, f"{args[0]} failed: {result.stdout[-500:]} {result.stderr[-1000:]}"

    def ctl(self, action: str, *extra: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.folder / "data"), "-w", "-t", "60",
                  "-l", str(self.folder / "postgres.log"), *extra)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def private_postgres(tmp_path_factory) -> Iterator[PrivatePostgres]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("PostgreSQL tests run when TEST_DATABASE_URL is set")
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    # Not under pytest's temporary folder: the postgres user must be able to reach it.
    folder = Path(tempfile.mkdtemp(prefix="survey-pg-"))
    folder.chmod(0o755)
    server = PrivatePostgres(folder, free_port(), found[-1].parent)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "--auth=trust", "--no-sync")
    options = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c max_connections=60"
    server.ctl("start", "-o", options)
    try:
        yield server
    finally:
        server.ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


def _busy_titles(folder: Path) -> dict[str, str]:
    """The "try again in a moment" page's title in each language, as the catalogs have it."""
    from flask_babel import force_locale

    from survey.errors import MESSAGES

    app = make_test_app("sqlite://", folder, LANGUAGES=list(LANGUAGES))
    titles = {}
    with app.test_request_context():
        for lang in LANGUAGES:
            with force_locale(lang):
                titles[lang] = str(escape(str(MESSAGES[503][0])))
    return titles


def test_postgres_restart_mid_load_shows_try_again_and_recovers(private_postgres, tmp_path):
    residents, surveys, _complaints = scale()
    url, drop = throwaway_postgres(private_postgres.admin_url, "survey_rel")
    try:
        deployment = Deployment(url, tmp_path)
        deployment.seed(residents * surveys + 50)
        server = Gunicorn(deployment, tmp_path / "gunicorn.log")
        server.start()
        tally = Tally()
        try:
            load = _start_load(lambda: server.port, deployment, tally, pause=lambda: time.sleep(0.3))
            _wait_for(tally, int(_planned() * 0.3), load)
            private_postgres.ctl("restart", "-m", "fast")  # drops every connection mid-request
            restarted_at = _confirmed(tally)
            load.join(timeout=900)
            after = _confirmed(tally) - restarted_at
            # The same gunicorn, never restarted, serves a whole new round without a fault.
            check = Tally()
            run_residents(lambda: server.port, deployment, check, residents=5, surveys=2, complaints=1,
                          deadline=time.time() + 300)
        finally:
            server.stop()
        assert not tally.server_errors and not check.server_errors, (tally.server_errors + check.server_errors)[:3]
        assert not check.failures, f"the app did not recover by itself: {dict(check.failures)}"
        assert after > 0, "nothing was confirmed after the restart"
        titles = _busy_titles(tmp_path)
        for lang, body in tally.busy_pages:
            assert f'<html lang="{lang}"' in body, "the busy page is not in the resident's language"
            assert titles[lang] in body, f"the {lang} busy page does not say to try again"
        tally.surveys += check.surveys
        tally.invitation_surveys += check.invitation_surveys
        tally.complaints += check.complaints
        db_state = check_nothing_lost(deployment, tally, exact=False)
        print(summary("PostgreSQL restart", tally, db_state)
              + f"; 503 pages seen: {len(tally.busy_pages)} in {sorted({lang for lang, _ in tally.busy_pages})}")
    finally:
        drop()


# ------------------------------------------------------------------ backup under load


def test_backup_taken_under_gunicorn_load_restores_every_confirmed_row(deployment, tmp_path):
    from survey.backup import backup, restore

    server = Gunicorn(deployment, tmp_path / "gunicorn.log")
    server.start()
    tally = Tally()
    sqlite = deployment.database_url.startswith("sqlite")
    out = tmp_path / ("backup.sqlite3" if sqlite else "backup.dump")
    try:
        load = _start_load(lambda: server.port, deployment, tally)
        _wait_for(tally, int(_planned() * 0.4), load)
        with tally.lock:
            before = Tally(surveys=list(tally.surveys), invitation_surveys=list(tally.invitation_surveys),
                           complaints=list(tally.complaints))
        backup(deployment.database_url, out)
        during = _confirmed(tally)
        load.join(timeout=900)
    finally:
        server.stop()
    assert not tally.server_errors and not tally.failures, (tally.server_errors[:3], dict(tally.failures))
    assert _confirmed(tally) > during, "the load kept going after the backup"

    if sqlite:
        target_url, drop = f"sqlite:///{tmp_path / 'restored.sqlite3'}", (lambda: None)
    else:
        target_url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"], "survey_rel")
    try:
        restore(target_url, out)
        restored = Deployment(target_url, tmp_path, secret_key=deployment.secret_key,
                              code_hash_key=deployment.code_hash_key)
        state = check_nothing_lost(restored, before, exact=False)
        print(summary("backup under load", before, state) + f"; rows confirmed by the end: {_confirmed(tally)}")
    finally:
        drop()
