"""A demo agency (four published past waves, one open) loaded once per session and copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from survey import migrate
from survey.db import db
from tests.conftest import make_test_app

#: Responses per past wave, as `flask demo` loads them.
PER_WAVE = 2500


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    app = make_test_app(f"sqlite:///{path}", folder)
    with app.app_context():
        from survey.demo import load_demo

        load_demo(per_wave=PER_WAVE, echo=lambda _line: None)
        db.session.commit()
    app.extensions["survey.db"]["engine"].dispose()
    return path


@pytest.fixture(scope="session")
def _results_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One results cache for the session: the demo's wave sets are computed once."""
    return tmp_path_factory.mktemp("results-cache")


@pytest.fixture
def demo_app(_demo_template: Path, _results_cache: Path, tmp_path: Path):
    """An app on a copy of the demo database (the complaint keys are copied with it)."""
    path = tmp_path / "demo.sqlite3"
    shutil.copy(_demo_template, path)
    keys = _demo_template.parent / "complaint_keys"
    if keys.exists():
        shutil.copy(keys, tmp_path / "complaint_keys")
    app = make_test_app(f"sqlite:///{path}", tmp_path, SMALL_COUNT_THRESHOLD=10, RESULTS_MIN_N=50,
                        RESULTS_CACHE_DIR=str(_results_cache))
    yield app
    app.extensions["survey.db"]["engine"].dispose()


@pytest.fixture
def demo_client(demo_app):
    from tests.conftest import CheckingClient

    demo_app.test_client_class = CheckingClient
    return demo_app.test_client()


@pytest.fixture
def demo_sign_in(demo_app, demo_client):
    """Sign in as a new staff user of the demo agency with the given roles."""
    import uuid

    from survey.auth import hash_password
    from survey.models import Agency, StaffUser
    from tests.conftest import PASSWORD

    def do(*roles):
        with demo_app.app_context():
            agency = db.session.query(Agency).first()
            user = StaffUser(agency_id=agency.id, email=f"t-{uuid.uuid4().hex[:6]}@example.org", name="T",
                             password_hash=hash_password(PASSWORD), roles=[str(r) for r in roles])
            db.session.add(user)
            db.session.commit()
            email = user.email
        response = demo_client.post("/staff/sign-in", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303
        return email

    return do


@pytest.fixture
def past_waves(demo_app) -> list[str]:
    from sqlalchemy import select

    from survey.models import Wave

    with demo_app.app_context():
        return [w.slug for w in db.session.scalars(select(Wave).where(Wave.published.is_(True)).order_by(Wave.opens_on))]
