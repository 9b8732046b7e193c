"""Shared fixtures: an app per test on a fresh database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), a client that checks every page it fetches, and factories."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from survey import create_app, migrate
from survey.db import Base, db
from survey.instrument_store import sync_instruments
from survey.models import Agency, Role, StaffUser, Wave, WaveMode, WaveStratum
from survey.models import today as app_today
from tests.databases import backends, throwaway_postgres
from tests.pagecheck import check_page

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"

# Hashing a password with production Argon2 settings costs ~50 ms; tests make many users.
from argon2 import PasswordHasher  # noqa: E402

import survey.auth as _auth  # noqa: E402

_auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_auth._DUMMY_HASH = _auth._hasher.hash("not-a-real-password")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per session; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_database() -> Iterator[str]:
    """A private PostgreSQL database for this test session, migrated once, dropped at the end."""
    url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"])
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop()


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database(request, request.param, tmp_path)


def fresh_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> str:
    """A migrated database with no rows: a copy of the SQLite template in ``folder``, or the
    session's PostgreSQL database emptied (for fixtures of any scope)."""
    if backend == "sqlite":
        path = folder / "test.sqlite3"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("_postgres_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def make_test_app(database_url: str, tmp_path: Path, **overrides: Any) -> Flask:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "CODE_HASH_KEY": secrets.token_urlsafe(32),
        "COMPLAINT_KEY_FILE": str(tmp_path / "complaint_keys"),
        "RESULTS_CACHE_DIR": str(tmp_path / "results-cache"),
        "LETTERS_DIR": str(tmp_path / "letters"),
        "WTF_CSRF_ENABLED": False,
        "LANGUAGES": ["en", "es", "ar"],
        "SERVER_NAME": None,
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_test_app(database_url, tmp_path)
    yield app
    app.extensions["survey.db"]["engine"].dispose()


class CheckingClient(FlaskClient):
    """A test client that checks every HTML page it receives (structure, ids, language, headers)."""

    def open(self, *args: Any, **kwargs: Any):
        check = kwargs.pop("check", True)
        response = super().open(*args, **kwargs)
        if check and response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            check_page(response)
        return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = CheckingClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def agency(app: Flask) -> Agency:
    with app.app_context():
        agency = Agency(slug="testville", name="Testville Police Department", city="Testville", phone="555-0101")
        db.session.add(agency)
        db.session.flush()
        list(sync_instruments(agency, ROOT / "instruments"))
        db.session.commit()
        return agency


@pytest.fixture
def make_wave(app: Flask, agency: Agency) -> Callable[..., Wave]:
    """Factory: ``make_wave(status="open", mode=WaveMode.OPEN_LINK)`` returns a stored wave."""
    from survey.models import InstrumentVersion

    counter = iter(range(1, 10_000))

    def factory(
        status: str = "open",
        mode: WaveMode = WaveMode.INVITATION,
        languages: tuple[str, ...] = ("en", "es"),
        strata: tuple[str, ...] = ("North", "South"),
        **fields: Any,
    ) -> Wave:
        today = app_today()
        opens, closes = {
            "open": (today - dt.timedelta(days=5), today + dt.timedelta(days=20)),
            "scheduled": (today + dt.timedelta(days=5), today + dt.timedelta(days=30)),
            "closed": (today - dt.timedelta(days=60), today - dt.timedelta(days=30)),
        }[status]
        with app.app_context():
            version = db.session.query(InstrumentVersion).order_by(InstrumentVersion.id.desc()).first()
            n = next(counter)
            wave = Wave(
                agency_id=agency.id,
                instrument_version_id=version.id,
                slug=fields.pop("slug", f"wave-{n}"),
                title=fields.pop("title", f"Test wave {n}"),
                opens_on=fields.pop("opens_on", opens),
                closes_on=fields.pop("closes_on", closes),
                mode=mode,
                languages=list(languages),
                accepted_draft_languages=[lang for lang in languages if lang != "en"],
                strata=[WaveStratum(name=name, population=10_000) for name in strata],
                **fields,
            )
            db.session.add(wave)
            db.session.commit()
            return wave

    return factory


@pytest.fixture
def make_staff(app: Flask, agency: Agency) -> Callable[..., StaffUser]:
    from survey.auth import hash_password

    def factory(*roles: Role | str, email: str | None = None, **fields: Any) -> StaffUser:
        with app.app_context():
            user = StaffUser(
                agency_id=agency.id,
                email=email or f"{'-'.join(str(r) for r in roles) or 'none'}-{uuid.uuid4().hex[:6]}@example.org",
                name=fields.pop("name", "Test Staff"),
                password_hash=hash_password(PASSWORD),
                roles=[str(r) for r in roles],
                **fields,
            )
            db.session.add(user)
            db.session.commit()
            return user

    return factory


@pytest.fixture
def sign_in(client: FlaskClient, make_staff: Callable[..., StaffUser]) -> Callable[..., StaffUser]:
    """``sign_in(Role.ANALYST)`` creates a user with those roles and signs the client in."""

    def do(*roles: Role | str, **fields: Any) -> StaffUser:
        user = make_staff(*roles, **fields)
        response = client.post("/staff/sign-in", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        return user

    return do


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)
