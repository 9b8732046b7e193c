"""Every route, public and staff (signed in with every role), carries the design's security
headers; pages that show or take what a resident wrote are never cached."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Complaint, Role, WaveMode
from tests.pagecheck import check_headers

NO_STORE = ["/complaints/new", "/complaints/receipt", "/complaints/follow-up", "/complaints/status",
            "/survey/", "/survey/start", "/survey/done", "/survey/code-used"]


def _fill(rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<{name}>", values[name]).replace(f"<int:{name}>", values[name])
        path = path.replace(f"<path:{name}>", values[name])
    return path


@pytest.fixture
def values(app, client, agency, make_wave, make_staff):
    wave = make_wave(slug="headers-wave")
    make_wave(slug="headers-open", mode=WaveMode.OPEN_LINK)
    filed = client.post("/complaints/new", data={"categories": ["force"], "narrative": "x", "contact_method": "none"})
    assert filed.status_code == 303, "without a complaint the complaint routes would only be checked as 404s"
    user = make_staff(Role.ANALYST)
    with app.app_context():
        complaint_id = db.session.scalars(select(Complaint.id)).one()
    return {"slug": wave.slug, "complaint_id": complaint_id, "user_id": str(user.id), "filename": "site.css",
            "key": "safety", "measure": "trust", "token": "no-such-batch", "lang": "es", "agency_id": "1"}


def test_every_route_carries_the_security_headers(app, client, values, sign_in):
    anonymous = app.test_client()
    sign_in(*Role)
    checked = 0
    for rule in app.url_map.iter_rules():
        path = _fill(rule, values)
        for who in (anonymous, client):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if rule.endpoint in ("staff.sign_out", "staff.sign_out_all") and who is client:
                    continue  # keep the staff session for the rest of the walk
                response = who.open(path, method=method, check=False)
                response.close()  # static files stream from an open file
                problems = check_headers(response.headers)
                assert not problems, f"{method} {path} -> {response.status_code}: {problems}"
                assert response.status_code < 500, f"{method} {path} -> {response.status_code}"
                checked += 1
    assert checked > 100


@pytest.mark.parametrize("path", NO_STORE)
def test_resident_pages_are_never_cached(app, client, values, path):
    response = client.get(path, check=False)
    assert response.headers.get("Cache-Control") == "no-store", f"{path} -> {response.status_code}"


def test_survey_question_pages_are_never_cached(app, client, values):
    location = client.post("/survey/open/headers-open").headers["Location"]
    for _ in range(3):
        response = client.get(location)
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") == "no-store", location
        location = client.post(location).headers["Location"]
