"""A path-mode deployment (/a/<slug>/...) with the demo-like agency Riverton, a campaign account
and one account of each agency role, for the campaign's pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey.auth import hash_password
from survey.db import db
from survey.instrument_store import sync_instruments
from survey.models import CAMPAIGN_ROLE, Agency, Role, StaffUser
from tests.conftest import PASSWORD, ROOT, CheckingClient, make_test_app

CAMPAIGN_EMAIL = "campaign@example.org"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_test_app(database_url, tmp_path, AGENCY_ADDRESSES="path", RESULTS_MIN_N=10)
    with app.app_context():
        river = Agency(slug="riverton", name="Riverton Police Department", city="Riverton", listed=True,
                       peer_group="small-city")
        hidden = Agency(slug="quiet", name="Quiet Town Police", city="Quiet Town", listed=False)
        db.session.add_all([river, hidden])
        db.session.flush()
        list(sync_instruments(river, ROOT / "instruments"))
        list(sync_instruments(hidden, ROOT / "instruments"))
        db.session.add(StaffUser(agency_id=None, email=CAMPAIGN_EMAIL, name="Cam Campaign",
                                 password_hash=hash_password(PASSWORD), roles=[CAMPAIGN_ROLE]))
        for role in Role:
            db.session.add(StaffUser(agency_id=river.id, email=f"{role}@riverton.example", name=str(role),
                                     password_hash=hash_password(PASSWORD), roles=[str(role)]))
        db.session.commit()
    yield app
    app.extensions["survey.db"]["engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = CheckingClient
    return app.test_client()


@pytest.fixture
def campaign_sign_in(client: FlaskClient) -> Callable[[], None]:
    def do() -> None:
        response = client.post("/campaign/sign-in", data={"email": CAMPAIGN_EMAIL, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]

    return do


@pytest.fixture
def agency_sign_in(client: FlaskClient) -> Callable[[Role], None]:
    def do(role: Role) -> None:
        response = client.post("/a/riverton/staff/sign-in", data={"email": f"{role}@riverton.example", "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]

    return do
