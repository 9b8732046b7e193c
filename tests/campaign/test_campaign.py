"""The campaign's pages: its sign-in, its console (counts only, never a complaint's contents),
a new agency with its first administrator's one-time link, and the public page of listed agencies."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from survey import audit
from survey.db import db
from survey.i18n import KNOWN, RTL, html_lang
from survey.models import (
    Agency,
    AuditEvent,
    Channel,
    Complaint,
    PopulationTarget,
    Role,
    StaffInvite,
    StaffUser,
)
from tests.conftest import PASSWORD
from tests.i18n.bidi import unisolated_runs
from tests.i18n.checks import untranslated

TARGETS = "variable,category,stratum,population\ndistrict,Harbor,,6000\ndistrict,Hill,,4000\nsex,1,,4900\nsex,2,,5100\n"


def _new_agency(client, **changes):
    data = {
        "name": "Lakeside Police Department", "city": "Lakeside", "slug": "lakeside",
        "languages": ["en", "es"], "default_language": "en", "acknowledge_days": "7", "close_days": "90",
        "peer_group": "small-city", "listed": "y",
        "districts": "Harbor\nHill\n", "instrument": "core-trust@1", "targets_source": "ACS",
        "admin_name": "Lee Lakeside", "admin_email": "Lee@Lakeside.example",
        "targets": (io.BytesIO(TARGETS.encode()), "targets.csv"),
    } | changes
    return client.post("/campaign/agencies/new", data=data, content_type="multipart/form-data")


def _link(client, response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    found = re.search(r'value="(http://localhost/a/lakeside/staff/welcome/[^"]+)"', page)
    assert found, page
    return found.group(1).removeprefix("http://localhost")


# ------------------------------------------------------------------ who gets in


def test_console_needs_a_campaign_sign_in(client):
    response = client.get("/campaign/console")
    assert response.status_code == 302 and "/campaign/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_agency_staff_are_no_one_on_the_campaign_pages(app, client, agency_sign_in, role):
    agency_sign_in(role)
    assert client.get("/a/riverton/staff/").status_code == 200
    for url in ("/campaign/console", "/campaign/agencies/new", "/campaign/agencies/1"):
        response = client.get(url)
        assert response.status_code == 302 and "/campaign/sign-in" in response.headers["Location"], url
    # An agency's account does not sign in on the campaign's pages either.
    response = client.post("/campaign/sign-in", data={"email": f"{role}@riverton.example", "password": PASSWORD})
    assert response.status_code == 200 and "not right" in response.get_data(as_text=True)


def test_a_campaign_account_opens_no_agency_page(app, client, campaign_sign_in):
    campaign_sign_in()
    assert client.get("/campaign/console").status_code == 200
    # Even with the campaign's cookie carried over to the agency's address by hand.
    cookie = client.get_cookie("s", path="/campaign")
    assert cookie is not None
    client.set_cookie("s", cookie.value, path="/a/riverton/")
    public = {"/staff/sign-in", "/staff/sign-in/code", "/staff/welcome"}
    staff_urls = sorted({rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff/")
                         and not rule.arguments and "GET" in rule.methods and rule.rule not in public})
    assert len(staff_urls) > 10
    for url in staff_urls:
        response = client.get("/a/riverton" + url, check=False)
        assert response.status_code == 302, url
        assert "/a/riverton/staff/sign-in" in response.headers["Location"], url
    # Nor does it sign in at an agency.
    response = client.post("/a/riverton/staff/sign-in", data={"email": "campaign@example.org", "password": PASSWORD})
    assert response.status_code == 200


def test_single_mode_keeps_the_campaign_and_the_agency_apart(database_url, tmp_path):
    from survey.auth import hash_password
    from survey.models import CAMPAIGN_ROLE
    from tests.conftest import CheckingClient, make_test_app

    app = make_test_app(database_url, tmp_path)
    with app.app_context():
        db.session.add(Agency(slug="solo", name="Solo Police", city="Solo"))
        db.session.add(StaffUser(agency_id=None, email="c@example.org", name="C", roles=[CAMPAIGN_ROLE],
                                 password_hash=hash_password(PASSWORD)))
        db.session.commit()
    app.test_client_class = CheckingClient
    client = app.test_client()
    assert client.post("/campaign/sign-in", data={"email": "c@example.org", "password": PASSWORD}).status_code == 303
    assert client.get("/campaign/console").status_code == 200
    assert client.get("/staff/").status_code == 302  # the same cookie, and no one at the agency
    assert "Solo Police" in client.get("/campaign/console").get_data(as_text=True)
    app.extensions["survey.db"]["engine"].dispose()


def test_sign_out(client, campaign_sign_in):
    campaign_sign_in()
    assert client.post("/campaign/sign-out").status_code == 303
    assert client.get("/campaign/console").status_code == 302


def test_campaign_second_factor(app, client):
    import pyotp

    with app.app_context():
        user = db.session.scalars(select(StaffUser).where(StaffUser.agency_id.is_(None))).one()
        user.totp_secret = pyotp.random_base32()
        secret = user.totp_secret
        db.session.commit()
    response = client.post("/campaign/sign-in", data={"email": "campaign@example.org", "password": PASSWORD})
    assert response.status_code == 303 and "/campaign/sign-in/code" in response.headers["Location"]
    assert client.post("/campaign/sign-in/code", data={"code": "000000"}).status_code == 200
    response = client.post("/campaign/sign-in/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 303 and response.headers["Location"].endswith("/campaign/console")


# ------------------------------------------------------------------ the console


def test_console_shows_counts_never_a_complaints_contents(app, client, campaign_sign_in):
    secret_words = "The officer at the corner of Elm Street"
    with app.app_context():
        river = db.session.scalars(select(Agency).where(Agency.slug == "riverton")).one()
        db.session.add(Complaint(agency_id=river.id, reference="C-2020-0001", receipt_hash="1" * 64,
                                 channel=Channel.WEB, categories=["other"], received_on=dt.date(2020, 1, 5),
                                 **({"narrative": secret_words} if hasattr(Complaint, "narrative") else {})))
        db.session.commit()
    campaign_sign_in()
    page = client.get("/campaign/console").get_data(as_text=True)
    assert "Riverton Police Department" in page and "Quiet Town Police" in page
    assert "small-city" in page
    assert secret_words not in page and "C-2020-0001" not in page
    assert "Published" in page  # Riverton's complaint figures of finished quarters


def test_settings_are_changed_and_audited(app, client, campaign_sign_in):
    campaign_sign_in()
    with app.app_context():
        quiet = db.session.scalars(select(Agency).where(Agency.slug == "quiet")).one().id
    assert client.get(f"/campaign/agencies/{quiet}").status_code == 200
    settings = {"name": "Quiet Town Police", "city": "Quiet Town", "languages": ["en", "ar"], "default_language": "en",
                "acknowledge_days": "7", "close_days": "90", "districts": "East\nWest"}
    response = client.post(f"/campaign/agencies/{quiet}", data=settings | {"peer_group": "Bad Group"})
    assert response.status_code == 200 and "lower-case" in response.get_data(as_text=True)
    response = client.post(f"/campaign/agencies/{quiet}", data=settings | {"peer_group": "rural", "listed": "y"})
    assert response.status_code == 303
    with app.app_context():
        agency = db.session.get(Agency, quiet)
        assert (agency.languages, agency.peer_group, agency.listed, agency.districts) == (["en", "ar"], "rural", True, ["East", "West"])
        actions = {(e.agency_id, e.action) for e in db.session.scalars(select(AuditEvent))}
        assert {(None, "campaign.agency_settings"), (quiet, "agency.campaign_settings")} <= actions
    assert client.get("/campaign/agencies/999").status_code == 404


# ------------------------------------------------------------------ a new agency and its first administrator


def test_new_agency_and_its_administrators_link(app, client, campaign_sign_in):
    campaign_sign_in()
    assert client.get("/campaign/agencies/new").status_code == 200
    link = _link(client, _new_agency(client))
    # The link is shown once.
    with app.app_context():
        lake = db.session.scalars(select(Agency).where(Agency.slug == "lakeside")).one()
        assert (lake.languages, lake.districts, lake.peer_group, lake.listed) == (["en", "es"], ["Harbor", "Hill"], "small-city", True)
        assert db.session.scalar(select(func.count()).select_from(PopulationTarget).where(PopulationTarget.agency_id == lake.id)) == 4
        admin = db.session.scalars(select(StaffUser).where(StaffUser.agency_id == lake.id)).one()
        assert admin.email == "lee@lakeside.example" and admin.roles == ["admin"]
        invite = db.session.scalars(select(StaffInvite)).one()
        assert link.rsplit("/", 1)[1] not in invite.token_hash  # only the hash is stored
        actions = {(e.agency_id, e.action) for e in db.session.scalars(select(AuditEvent))}
        assert {(None, "campaign.agency_created"), (None, "campaign.admin_invited"),
                (lake.id, "agency.created"), (lake.id, "staff.invited"), (lake.id, "staff.roles")} <= actions
        assert audit.verify(db.session, None).ok and audit.verify(db.session, lake.id).ok
        lake_id = lake.id
    page = client.get(f"/campaign/agencies/{lake_id}/invitation").get_data(as_text=True)
    assert "/staff/welcome/" not in page
    # Nothing signs in with the account before the link is used.
    assert client.post("/a/lakeside/staff/sign-in", data={"email": "lee@lakeside.example", "password": "!invited"}).status_code == 200

    # The administrator opens the link at the agency's address: the token leaves the address bar.
    response = client.get(link)
    assert response.status_code == 303 and response.headers["Location"].endswith("/a/lakeside/staff/welcome")
    page = client.get("/a/lakeside/staff/welcome")
    assert page.status_code == 200 and "lee@lakeside.example" in page.get_data(as_text=True)
    assert client.post("/a/lakeside/staff/welcome", data={"new": "short"}).status_code == 200
    response = client.post("/a/lakeside/staff/welcome", data={"new": "a long enough password"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/a/lakeside/staff/")
    assert client.get("/a/lakeside/staff/users").status_code == 200
    with app.app_context():
        assert audit.verify(db.session, lake_id).ok
        assert db.session.scalars(select(StaffInvite)).one().used_at is not None

    # Used once: the link is refused afterwards.
    assert client.get(link).status_code == 303
    page = client.get("/a/lakeside/staff/welcome")
    assert page.status_code == 410 and "used already" in page.get_data(as_text=True)
    # And no new link for an account that chose its password.
    response = client.post(f"/campaign/agencies/{lake_id}/invitation")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StaffInvite)) == 1


def test_expired_unknown_and_replaced_links_are_refused(app, client, campaign_sign_in):
    campaign_sign_in()
    first = _link(client, _new_agency(client))
    with app.app_context():
        lake = db.session.scalars(select(Agency).where(Agency.slug == "lakeside")).one().id
    # A new link replaces the first.
    response = client.post(f"/campaign/agencies/{lake}/invitation")
    second = _link(client, response)
    client.get(first)
    page = client.get("/a/lakeside/staff/welcome")
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    # The link works only at its own agency's address.
    client.get(second.replace("/a/lakeside/", "/a/riverton/"))
    assert client.get("/a/riverton/staff/welcome").status_code == 410
    # Unknown.
    client.get("/a/lakeside/staff/welcome/not-a-token")
    page = client.get("/a/lakeside/staff/welcome")
    assert page.status_code == 410 and "not right" in page.get_data(as_text=True)
    # Expired.
    with app.app_context():
        for invite in db.session.scalars(select(StaffInvite)):
            invite.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        db.session.commit()
    client.get(second)
    assert client.post("/a/lakeside/staff/welcome", data={"new": "a long enough password"}).status_code == 410


@pytest.mark.parametrize("changes, message", [
    ({"slug": "riverton"}, "Another agency already has this short name"),
    ({"slug": "Not A Slug"}, "lower-case letters"),
    ({"languages": []}, "Choose at least one language"),
    ({"default_language": "ar"}, "The main language must be one of the languages offered"),
    ({"instrument": "nothing@9"}, "Not a valid choice"),
    ({"admin_email": "nobody"}, "name@example.org"),
    ({"targets": (b"\xff\xfe\x00bad", "t.csv")}, "not UTF-8"),
    ({"targets": (b"variable,category,stratum,population\ndistrict,Nowhere,,10\n", "t.csv")}, "Row 2"),
])
def test_new_agency_form_says_what_to_fix(app, client, campaign_sign_in, changes, message):
    campaign_sign_in()
    # A fresh file for each run (each backend): a posted BytesIO is closed after its first use.
    changes = {key: (io.BytesIO(value[0]), value[1]) if key == "targets" else value for key, value in changes.items()}
    response = _new_agency(client, **changes)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Agency).where(Agency.slug == "lakeside")).first() is None


def test_new_agency_without_targets(app, client, campaign_sign_in):
    campaign_sign_in()
    _link(client, _new_agency(client, targets=(io.BytesIO(b""), "")))


# ------------------------------------------------------------------ the public page


def test_public_page_lists_only_listed_agencies(app, client):
    page = client.get("/campaign/").get_data(as_text=True)
    assert "Riverton Police Department" in page and "Quiet Town" not in page
    assert 'href="/a/riverton/"' in page and 'href="/a/riverton/complaints/"' in page
    assert "/a/riverton/results/" not in page  # nothing published yet
    assert client.get("/").headers["Location"].endswith("/campaign/")


def test_public_page_in_arabic(app, client):
    assert client.post("/campaign/language", data={"lang": "ar", "next": "/campaign/"}).status_code == 303
    response = client.get("/campaign/")
    assert 'dir="rtl"' in response.get_data(as_text=True)
    assert client.post("/campaign/language", data={"lang": "xx"}).status_code == 400


def test_campaign_name_in_the_visitors_language(app, client, tmp_path):
    from survey.config import from_environment

    config = from_environment(tmp_path, environ={"SURVEY_CAMPAIGN_NAME": "Trust Campaign",
                                                 "SURVEY_CAMPAIGN_NAME_ES": "Campaña de confianza"})
    assert config["CAMPAIGN_NAME"] == "Trust Campaign" and config["CAMPAIGN_NAMES"] == {"es": "Campaña de confianza"}
    app.config.update(CAMPAIGN_NAME=config["CAMPAIGN_NAME"], CAMPAIGN_NAMES=config["CAMPAIGN_NAMES"])
    assert "Trust Campaign" in client.get("/campaign/").get_data(as_text=True)
    client.post("/campaign/language", data={"lang": "es", "next": "/campaign/"})
    page = client.get("/campaign/").get_data(as_text=True)
    assert "Campaña de confianza" in page and "Trust Campaign" not in page
    client.post("/campaign/language", data={"lang": "ar", "next": "/campaign/"})
    assert "Trust Campaign" in client.get("/campaign/").get_data(as_text=True)  # no Arabic name given


def _publish_a_wave(app) -> None:
    """A published wave of Riverton with 30 responses: its scores stand on the public page."""
    from survey.models import Answer, InstrumentVersion, Response, Wave, WaveMode, WaveStratum

    with app.app_context():
        river = db.session.scalars(select(Agency).where(Agency.slug == "riverton")).one()
        version = db.session.scalars(select(InstrumentVersion).join(InstrumentVersion.instrument)
                                     .where(InstrumentVersion.instrument.has(agency_id=river.id))).first()
        wave = Wave(agency_id=river.id, instrument_version_id=version.id, slug="2026-q1", title="Q1",
                    opens_on=dt.date(2026, 1, 5), closes_on=dt.date(2026, 3, 1), mode=WaveMode.OPEN_LINK,
                    languages=["en"], published=True, strata=[WaveStratum(name="North", population=1000)])
        db.session.add(wave)
        db.session.flush()
        for n in range(30):
            response = Response(wave_id=wave.id, stratum="North", language="en", channel=Channel.WEB,
                                submitted_on=dt.date(2026, 1, 5))
            response.answers = [Answer(item_key=key, ordinal=0, code=3 + n % 5)
                                for key in ("pj_respect", "pj_listen", "safety_feel")]
            db.session.add(response)
        db.session.commit()


def test_public_page_shows_latest_published_scores(app, client):
    _publish_a_wave(app)
    page = client.get("/campaign/").get_data(as_text=True)
    assert 'href="/a/riverton/results/"' in page
    assert "out of 100" in page, page


@pytest.mark.parametrize("lang", [code for code in KNOWN if code != "en"])
def test_public_page_is_in_every_language_and_keeps_names_in_reading_order(app, client, lang):
    """The campaign's public page passes the resident pages' language check (no interface text
    left in English) and, right to left, their isolation check (names and numbers in order)."""
    app.config["LANGUAGES"] = list(KNOWN)
    _publish_a_wave(app)
    assert client.post("/campaign/language", data={"lang": lang, "next": "/campaign/"}).status_code == 303
    page = client.get("/campaign/").get_data(as_text=True)
    assert f'lang="{html_lang(lang)}"' in page
    assert untranslated(page, lang) == []
    assert "<bdi>Riverton Police Department</bdi>" in page and " 100" in page  # the scores are there
    if lang in RTL:
        assert unisolated_runs(page) == []
    # The language check fails on the English page (tests/i18n shows the isolation check failing).
    client.post("/campaign/language", data={"lang": "en", "next": "/campaign/"})
    assert untranslated(client.get("/campaign/").get_data(as_text=True), lang)
