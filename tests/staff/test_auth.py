"""Sign-in hardening: throttling, lock-out, second factor, session expiry, sign out everywhere."""

from __future__ import annotations

import time

import pyotp
import pytest

from survey.db import db
from survey.models import Role, StaffUser, ThrottleBucket
from tests.conftest import PASSWORD


def _sign_in(client, email, password=PASSWORD):
    return client.post("/staff/sign-in", data={"email": email, "password": password})


def test_wrong_passwords_lock_the_account_even_for_the_right_one(client, make_staff):
    user = make_staff(Role.ANALYST)
    for _ in range(5):
        response = _sign_in(client, user.email, "wrong password here")
        assert response.status_code == 200
        assert "not right" in response.get_data(as_text=True)
    response = _sign_in(client, user.email)
    assert response.status_code == 200
    assert "Too many failed attempts" in response.get_data(as_text=True)
    with client.application.app_context():
        assert db.session.get(StaffUser, user.id).locked_until is not None


def test_unknown_address_is_throttled_the_same_way(client, agency, app):
    for _ in range(5):
        _sign_in(client, "nobody@example.org", "wrong password here")
    html = _sign_in(client, "nobody@example.org", "anything at all").get_data(as_text=True)
    assert "Too many failed attempts" in html
    with app.app_context():
        keys = [b.key for b in db.session.query(ThrottleBucket).all()]
    assert keys and all("nobody" not in k for k in keys), "the throttle table must not hold the address"


def test_an_admin_can_unlock(client, app, make_staff, sign_in):
    user = make_staff(Role.ANALYST)
    for _ in range(5):
        _sign_in(client, user.email, "wrong password here")
    sign_in(Role.ADMIN)
    response = client.post(f"/staff/users/{user.id}", data={
        "name": user.name, "email": user.email, "roles": ["analyst"], "active": "y", "unlock": "y"})
    assert response.status_code == 303
    client.post("/staff/sign-out")
    assert _sign_in(client, user.email).status_code == 303


def test_site_wide_limit_answers_429(app, client, make_staff):
    app.config["STAFF_SIGNIN_PER_MINUTE"] = 3
    user = make_staff(Role.ANALYST)
    codes = [_sign_in(client, user.email, "wrong password here").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_second_factor_is_asked_and_a_code_is_not_accepted_twice(app, client, make_staff):
    secret = pyotp.random_base32()
    user = make_staff(Role.ANALYST, totp_secret=secret)
    response = _sign_in(client, user.email)
    assert response.status_code == 303 and "/staff/sign-in/code" in response.headers["Location"]
    assert client.get("/staff/").status_code == 302, "not signed in before the code"
    html = client.post("/staff/sign-in/code", data={"code": "000000"}).get_data(as_text=True)
    assert "not right" in html
    code = pyotp.TOTP(secret).now()
    assert client.post("/staff/sign-in/code", data={"code": code}).status_code == 303
    assert client.get("/staff/").status_code == 200
    client.post("/staff/sign-out")
    _sign_in(client, user.email)
    html = client.post("/staff/sign-in/code", data={"code": code}).get_data(as_text=True)
    assert "not right" in html, "a replayed code must be refused"


def test_required_second_factor_is_set_up_before_anything_else(app, client, sign_in):
    user = sign_in(Role.ANALYST, totp_required=True)
    response = client.get("/staff/export")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/account/second-factor")
    page = client.get("/staff/account/second-factor")
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'class="qr"' in html and "style=" not in html
    with client.session_transaction() as session:
        secret = session["totp_enrol_secret"]
    assert client.post("/staff/account/second-factor", data={"code": pyotp.TOTP(secret).now()}).status_code == 303
    assert client.get("/staff/export").status_code == 200
    with app.app_context():
        assert db.session.get(StaffUser, user.id).totp_secret == secret


@pytest.mark.parametrize("key", ["staff_seen", "staff_since"])
def test_sessions_expire(app, client, sign_in, key):
    sign_in(Role.ANALYST)
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as session:
        session[key] = int(time.time()) - 24 * 3600
    response = client.get("/staff/")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_sign_out_everywhere_ends_other_sessions(app, client, make_staff):
    user = make_staff(Role.ANALYST)
    other = app.test_client()
    for c in (client, other):
        assert _sign_in(c, user.email).status_code == 303
    assert other.get("/staff/").status_code == 200
    assert client.post("/staff/account/sign-out-everywhere").status_code == 303
    assert other.get("/staff/").status_code == 302
    assert client.get("/staff/").status_code == 302


def test_changing_roles_takes_effect_at_once(app, client, make_staff, sign_in):
    user = make_staff(Role.ANALYST, Role.SURVEY_MANAGER)
    other = app.test_client()
    assert _sign_in(other, user.email).status_code == 303
    sign_in(Role.ADMIN)
    response = client.post(f"/staff/users/{user.id}", data={
        "name": user.name, "email": user.email, "roles": ["analyst"], "active": "y"})
    assert response.status_code == 303
    assert other.get("/staff/").status_code == 302


def test_admin_creates_a_person_with_several_roles(app, client, sign_in):
    sign_in(Role.ADMIN)
    response = client.post("/staff/users/new", data={
        "name": "Dana", "email": "Dana@Example.org", "roles": ["analyst", "investigator"],
        "password": "a long enough password", "active": "y"})
    assert response.status_code == 303
    with app.app_context():
        dana = db.session.query(StaffUser).filter_by(email="dana@example.org").one()
        assert dana.roles == ["analyst", "investigator"]


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "email": "x@example.org", "roles": ["analyst"], "password": "a long enough password"}, "Enter the person"),
    ({"name": "X", "email": "not-an-email", "roles": ["analyst"], "password": "a long enough password"}, "Enter an email address like"),
    ({"name": "X", "email": "x@example.org", "password": "a long enough password"}, "Choose at least one role"),
    ({"name": "X", "email": "x@example.org", "roles": ["analyst"], "password": "short"}, "at least 12 characters"),
])
def test_staff_form_says_what_to_fix(client, sign_in, data, message):
    sign_in(Role.ADMIN)
    response = client.post("/staff/users/new", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_admin_cannot_remove_own_admin_role(client, sign_in):
    me = sign_in(Role.ADMIN)
    response = client.post(f"/staff/users/{me.id}", data={"name": "Me", "email": me.email, "roles": ["analyst"], "active": "y"})
    assert response.status_code == 200
    assert "cannot remove your own administrator role" in response.get_data(as_text=True)


def test_roles_are_never_implied(client, sign_in):
    sign_in(Role.ADMIN)
    assert client.get("/staff/export").status_code == 403
    assert client.get("/staff/instruments").status_code == 403


def test_staff_create_command_still_works(app, agency, runner):
    result = runner.invoke(args=["staff", "create", "--email", "First@Example.org", "--name", "First Admin",
                                 "--role", "admin", "--role", "investigator"],
                           input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.query(StaffUser).filter_by(email="first@example.org").one()
        assert user.roles == ["admin", "investigator"] and user.password_hash.startswith("$argon2id$")


def test_sign_in_keeps_next_local(client, make_staff):
    user = make_staff(Role.ANALYST)
    response = client.post("/staff/sign-in?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/staff/"
