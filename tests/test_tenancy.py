"""Several agencies in one deployment: each request finds its agency by its address, and each
agency's staff, sessions and pages stay its own (survey/tenancy.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from survey import migrate
from survey.auth import hash_password
from survey.db import db
from survey.models import Agency, Complaint, Role, StaffUser
from tests.conftest import PASSWORD, make_test_app
from tests.pagetext import receipt_code


def _agency(slug: str, name: str, **fields) -> Agency:
    agency = Agency(slug=slug, name=name, city=name.split()[0], **fields)
    db.session.add(agency)
    db.session.flush()
    return agency


def _staff(agency: Agency | None, email: str, *roles: str) -> StaffUser:
    user = StaffUser(agency_id=agency.id if agency else None, email=email, name=email.split("@")[0],
                     password_hash=hash_password(PASSWORD), roles=list(roles))
    db.session.add(user)
    db.session.flush()
    return user


@pytest.fixture
def two(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A path-mode deployment with Riverton and Lakeside, each with an admin of the same email."""
    app = make_test_app(database_url, tmp_path, AGENCY_ADDRESSES="path")
    with app.app_context():
        river = _agency("riverton", "Riverton Police Department")
        lake = _agency("lakeside", "Lakeside Police Department", languages=["en", "es"])
        _staff(river, "chief@example.org", "admin")
        _staff(lake, "chief@example.org", "admin")
        _staff(lake, "only-lake@example.org", "analyst")
        db.session.commit()
    yield app
    app.extensions["survey.db"]["engine"].dispose()


def _sign_in(client, prefix: str, email: str) -> int:
    response = client.post(f"{prefix}/staff/sign-in", data={"email": email, "password": PASSWORD})
    return response.status_code if response.status_code != 303 else 303


def test_each_address_shows_its_own_agency(two):
    client = two.test_client()
    assert "Riverton Police Department" in client.get("/a/riverton/").get_data(as_text=True)
    page = client.get("/a/lakeside/").get_data(as_text=True)
    assert "Lakeside Police Department" in page and "Riverton" not in page
    # Links on an agency's page stay under its prefix.
    assert 'href="/a/lakeside/complaints/' in page or 'action="/a/lakeside/' in page


def test_unknown_or_missing_agency_is_not_found(two):
    client = two.test_client()
    assert client.get("/a/nowhere/").status_code == 404
    assert client.get("/survey/").status_code == 404
    assert client.get("/staff/sign-in").status_code == 404
    assert client.get("/a/riverton").status_code == 308
    assert client.get("/public/healthz").status_code in (200, 404)
    assert client.get("/healthz").status_code == 200


def test_languages_are_the_agencys_own(two):
    client = two.test_client()
    assert client.post("/a/lakeside/language", data={"lang": "ar"}).status_code == 400
    assert client.post("/a/riverton/language", data={"lang": "ar"}).status_code == 303
    page = client.get("/a/lakeside/").get_data(as_text=True)
    assert 'value="ar"' not in page


def test_accounts_sign_in_only_at_their_own_agency(two):
    client = two.test_client()
    assert _sign_in(client, "/a/riverton", "only-lake@example.org") == 200  # refused: same page again
    assert client.get("/a/riverton/staff/").status_code == 302
    assert _sign_in(client, "/a/lakeside", "only-lake@example.org") == 303
    assert client.get("/a/lakeside/staff/").status_code == 200


def test_a_session_at_one_agency_is_no_one_at_another(two):
    client = two.test_client()
    assert _sign_in(client, "/a/lakeside", "chief@example.org") == 303
    assert client.get("/a/lakeside/staff/users").status_code == 200
    # The cookie is kept to /a/lakeside/: Riverton never receives it.
    cookie = client.get_cookie("s", path="/a/lakeside/")
    assert cookie is not None and cookie.path == "/a/lakeside/"
    assert client.get("/a/riverton/staff/users").status_code == 302
    # Even carried over by hand, Lakeside's session is no one at Riverton.
    client.set_cookie("s", cookie.value, path="/a/riverton/")
    response = client.get("/a/riverton/staff/users")
    assert response.status_code == 302 and "/a/riverton/staff/sign-in" in response.headers["Location"]


def test_single_mode_keeps_todays_addresses(app, agency, client, make_staff):
    assert "Testville Police Department" in client.get("/").get_data(as_text=True)
    assert client.get("/a/testville/").status_code == 404
    user = make_staff(Role.ADMIN)
    response = client.post("/staff/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303


def test_host_mode_finds_the_agency_by_host(database_url, tmp_path):
    app = make_test_app(database_url, tmp_path, AGENCY_ADDRESSES="host", CAMPAIGN_HOST="campaign.example")
    with app.app_context():
        _agency("riverton", "Riverton Police Department", host="survey.riverton.example")
        _agency("lakeside", "Lakeside Police Department", host="survey.lakeside.example")
        db.session.commit()
    client = app.test_client()
    page = client.get("/", base_url="https://survey.lakeside.example").get_data(as_text=True)
    assert "Lakeside Police Department" in page and "Riverton" not in page
    assert client.get("/", base_url="https://unknown.example").status_code == 404
    assert client.get("/survey/", base_url="https://campaign.example").status_code == 404
    app.extensions["survey.db"]["engine"].dispose()


def test_wrong_passwords_at_one_agency_do_not_lock_the_same_email_at_another(two):
    client = two.test_client()
    for _ in range(6):
        client.post("/a/lakeside/staff/sign-in", data={"email": "chief@example.org", "password": "wrong-password-123"})
    # Lakeside's account is locked from here: even the right password is refused...
    assert _sign_in(client, "/a/lakeside", "chief@example.org") == 200
    # ...while the same email's account at Riverton signs in at once.
    assert _sign_in(client, "/a/riverton", "chief@example.org") == 303


def test_each_agency_numbers_its_own_complaint_references(two):
    """A reference counted over the campaign would tell one agency how many complaints the
    others receive: Lakeside's first complaint is its number 1 after three at Riverton."""
    client = two.test_client()
    for prefix in ["/a/riverton"] * 3 + ["/a/lakeside"]:
        response = client.post(f"{prefix}/complaints/new", data={"categories": ["discourtesy"], "contact_method": "none"})
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    with two.app_context():
        rows = db.session.execute(select(Agency.slug, Complaint.reference).join(Agency)).all()
    year = dt.date.today().year
    numbers = sorted((slug, int(reference.removeprefix(f"C-{year}-"))) for slug, reference in rows)
    assert numbers == [("lakeside", 1), ("riverton", 1), ("riverton", 2), ("riverton", 3)]


def test_going_back_to_deployment_wide_references_refuses_when_two_agencies_share_one(two, database_url):
    client = two.test_client()
    for prefix in ("/a/riverton", "/a/lakeside"):
        client.post(f"{prefix}/complaints/new", data={"categories": ["discourtesy"], "contact_method": "none"})
    two.extensions["survey.db"]["engine"].dispose()
    with pytest.raises(RuntimeError, match="held by more than one agency"):
        migrate.downgrade(database_url, "0012_agency_indexes")
    with two.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 2
    migrate.upgrade(database_url)


def test_host_mode_keeps_sessions_and_codes_to_their_own_host(database_url, tmp_path):
    """The isolation matrix runs with path addresses; with host names the same checks hold where
    the two differ: the cookie is the host's own, and carried to another host it is no one."""
    app = make_test_app(database_url, tmp_path, AGENCY_ADDRESSES="host", CAMPAIGN_HOST="campaign.example")
    with app.app_context():
        river = _agency("riverton", "Riverton Police Department", host="survey.riverton.example")
        lake = _agency("lakeside", "Lakeside Police Department", host="survey.lakeside.example")
        _staff(river, "chief@example.org", "admin")
        _staff(lake, "chief@example.org", "admin")
        db.session.commit()
    lakeside, riverton = "https://survey.lakeside.example", "https://survey.riverton.example"
    client = app.test_client()
    response = client.post("/staff/sign-in", data={"email": "chief@example.org", "password": PASSWORD},
                           base_url=lakeside)
    assert response.status_code == 303
    assert client.get("/staff/users", base_url=lakeside).status_code == 200
    cookie = client.get_cookie("s", domain="survey.lakeside.example")
    assert cookie is not None and not cookie.domain.startswith(".")  # no parent domain shares it
    assert client.get("/staff/users", base_url=riverton).status_code == 302
    # Carried over by hand, Lakeside's session is no one at Riverton.
    other = app.test_client()
    other.set_cookie("s", cookie.value, domain="survey.riverton.example")
    response = other.get("/staff/users", base_url=riverton)
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    # A receipt code of Lakeside finds nothing at Riverton.
    response = client.post("/complaints/new", data={"categories": ["discourtesy"], "contact_method": "none"},
                           base_url=lakeside)
    assert response.status_code == 303
    code = receipt_code(client.get("/complaints/receipt", base_url=lakeside).get_data(as_text=True))
    found = client.post("/complaints/follow-up", data={"code": code}, base_url=lakeside)
    assert found.status_code == 303
    missed = app.test_client().post("/complaints/follow-up", data={"code": code}, base_url=riverton)
    assert missed.status_code == 200
    assert "We could not find a complaint with that code" in missed.get_data(as_text=True)
    app.extensions["survey.db"]["engine"].dispose()
