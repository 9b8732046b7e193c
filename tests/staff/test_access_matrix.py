"""Every staff route, for anonymous visitors and for each single role: only the intended roles
get through; everyone else is sent to sign in (anonymous) or refused with 403.

A new /staff/ route that is not declared in ``INTENDED`` fails this test: declare who may use it.
"""

from __future__ import annotations

import pytest
from flask import url_for

from survey.models import Role

ADMIN, MANAGER, ANALYST, INVESTIGATOR = Role.ADMIN, Role.SURVEY_MANAGER, Role.ANALYST, Role.INVESTIGATOR
EVERYONE = frozenset(Role)

#: endpoint -> the roles that may use it. Roles are never implied (admin is not investigator).
#: Other areas add their /staff/ routes here (complaints: investigator; respond: survey manager).
INTENDED: dict[str, frozenset[Role]] = {
    "staff.dashboard": EVERYONE,
    "staff.account": EVERYONE,
    "staff.sign_out_all": EVERYONE,
    "staff.totp_enrol": EVERYONE,
    "staff.users": frozenset({ADMIN}),
    "staff.user_new": frozenset({ADMIN}),
    "staff.user_edit": frozenset({ADMIN}),
    "staff.instruments": frozenset({MANAGER}),
    "staff.waves": frozenset({MANAGER, ADMIN}),
    "staff.wave": frozenset({MANAGER, ADMIN}),
    "staff.wave_new": frozenset({MANAGER}),
    "staff.wave_copy": frozenset({MANAGER}),
    "staff.wave_edit": frozenset({MANAGER}),
    "staff.wave_close": frozenset({MANAGER}),
    "staff.wave_publish": frozenset({ADMIN}),
    "staff.wave_publish_areas": frozenset({ADMIN}),
    "staff.invitations": frozenset({MANAGER}),
    "staff.letters": frozenset({MANAGER}),
    "staff.letters_csv": frozenset({MANAGER}),
    "staff.letters_done": frozenset({MANAGER}),
    "staff.undeliverable": frozenset({MANAGER}),
    "staff.rates_index": frozenset({MANAGER, ANALYST}),
    "staff.rates": frozenset({MANAGER, ANALYST}),
    "staff.export": frozenset({ANALYST}),
    "staff.targets": frozenset({ANALYST, MANAGER}),
    "staff.settings": frozenset({ADMIN}),
    "staff.settings_texts": frozenset({ADMIN}),
    # complaints (issue 4): investigators only; no other role is implied
    "complaint_staff.queue": frozenset({INVESTIGATOR}),
    "complaint_staff.intake": frozenset({INVESTIGATOR}),
    "complaint_staff.receipt": frozenset({INVESTIGATOR}),
    "complaint_staff.detail": frozenset({INVESTIGATOR}),
    "complaint_staff.assign": frozenset({INVESTIGATOR}),
    "complaint_staff.status": frozenset({INVESTIGATOR}),
    "complaint_staff.note": frozenset({INVESTIGATOR}),
    "complaint_staff.message": frozenset({INVESTIGATOR}),
    # survey (issue 3): keying in paper and phone questionnaires, survey managers only
    "respond_staff.choose_wave": frozenset({MANAGER}),
    "respond_staff.entry": frozenset({MANAGER}),
    # wave comparisons (issue 7): analysts and admins
    "results_staff.compare": frozenset({ANALYST, ADMIN}),
    "results_staff.chart": frozenset({ANALYST, ADMIN}),
    "results_staff.report": frozenset({ANALYST, ADMIN}),
}

#: Query strings for routes that need them (a chart names its waves and what to draw).
QUERY = {"results_staff.chart": "?waves={slug}&chart=trend&measure=trust", "results_staff.report": "?waves={slug}"}

#: Public parts of the staff area: the way in and out.
PUBLIC = {"staff.sign_in", "staff.sign_in_code", "staff.sign_out", "staff.static"}


def staff_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff/") and r.endpoint not in PUBLIC]


@pytest.fixture
def url_values(app, make_wave, make_staff, add_response):
    """Objects for every URL parameter a staff route takes."""
    from survey.db import db
    from survey.models import Channel, Complaint

    wave = make_wave(status="open")
    for n in range(3):  # a chart needs responses to draw
        add_response(wave, {"pj_respect": 5 + n, "pj_listen": 6, "safety_feel": 7}, stratum=("North", "South")[n % 2])
    someone = make_staff(Role.ANALYST, email="someone@example.org")
    with app.app_context():
        complaint = Complaint(agency_id=someone.agency_id, reference="C-TEST-0001", receipt_hash="0" * 64,
                              channel=Channel.WEB, categories=["other"])
        db.session.add(complaint)
        db.session.commit()
        complaint_id = complaint.id
    return {"slug": wave.slug, "user_id": someone.id, "complaint_id": complaint_id, "token": "no-such-batch", "lang": "es"}


def test_every_staff_route_is_declared(app):
    endpoints = {r.endpoint for r in staff_rules(app)}
    missing = sorted(endpoints - set(INTENDED))
    assert not missing, f"declare the intended roles of these staff routes in INTENDED: {missing}"
    stale = sorted(set(INTENDED) - endpoints)
    assert not stale, f"INTENDED names routes that do not exist: {stale}"


def _url(app, rule, values):
    with app.test_request_context():
        url = url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments})
    return url + QUERY.get(rule.endpoint, "").format(**values)


def _requests(app, values):
    for rule in staff_rules(app):
        url = _url(app, rule, values)
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, url


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: "anonymous" if r is None else str(r))
def test_access_matrix(app, client, sign_in, url_values, role):
    if role is not None:
        sign_in(role)
    checked = 0
    for endpoint, method, url in _requests(app, url_values):
        response = client.open(url, method=method, data={}, check=False)
        where = f"{method} {url} ({endpoint}) as {role or 'anonymous'}"
        if role is None:
            assert response.status_code == 302, where
            assert "/staff/sign-in" in response.headers["Location"], where
        elif role in INTENDED[endpoint]:
            assert response.status_code not in (302, 403), f"{where}: {response.status_code}"
            assert response.status_code < 500, f"{where}: {response.status_code}"
            if method == "GET":
                # A batch of letters that is not (or no longer) held answers 410 Gone.
                expected = {200, 410} if endpoint in ("staff.letters", "staff.letters_csv") else {200}
                assert response.status_code in expected, f"{where}: {response.status_code}"
        else:
            assert response.status_code == 403, f"{where}: {response.status_code}"
        if endpoint == "staff.sign_out_all" and role is not None and response.status_code == 303:
            # That one ends the session by design: sign in again for the rest.
            sign_in(role)
        checked += 1
    assert checked >= len(INTENDED)


def test_pages_of_each_role_pass_the_page_checks(app, client, sign_in, url_values):
    """Every GET page an intended role sees is valid (the checking client checks each page)."""
    sign_in(*Role)
    for endpoint, method, url in _requests(app, url_values):
        if method == "GET":
            gone = endpoint in ("staff.letters", "staff.letters_csv")  # no batch held: 410 with its page
            assert client.get(url).status_code == (410 if gone else 200), url
