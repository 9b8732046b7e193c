"""A survey manager's quarterly routine in a real browser, and a resident answering with a code."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest

from survey import create_app
from survey.auth import hash_password
from survey.db import db
from survey.models import Agency, InstrumentVersion, Role, StaffUser, Wave, WaveMode, WaveStratum
from survey.models import today as app_today
from tests.browser.conftest import assert_accessible

PASSWORD = "browser test password"


def _months_back(day: dt.date, months: int = 3) -> dt.date:
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    for d in range(day.day, 0, -1):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _respond_flow_exists() -> bool:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": secrets.token_urlsafe(32),
                      "CODE_HASH_KEY": secrets.token_urlsafe(32)})
    return "respond.page" in app.view_functions


@pytest.fixture
def manager(live_app):
    """A survey manager and last quarter's wave (so that its copy is open today)."""
    suffix = secrets.token_hex(3)
    today = app_today()
    year = 2100 + int(suffix, 16) % 700  # a quarter slug no other test uses
    with live_app.app_context():
        agency = db.session.query(Agency).first()
        version = db.session.query(InstrumentVersion).order_by(InstrumentVersion.id.desc()).first()
        # Waves earlier tests made (this module's or other modules' on the shared live app) would
        # be "the last wave": move them all a year back.
        for earlier in db.session.query(Wave):
            earlier.opens_on -= dt.timedelta(days=366)
            earlier.closes_on -= dt.timedelta(days=366)
        db.session.add(Wave(
            agency_id=agency.id, instrument_version_id=version.id, slug=f"{year}-q1", title=f"Community survey {year} Q1",
            opens_on=_months_back(today - dt.timedelta(days=5)), closes_on=_months_back(today + dt.timedelta(days=40)),
            mode=WaveMode.INVITATION, languages=["en", "es"], accepted_draft_languages=["es"],
            strata=[WaveStratum(name="North", population=31000), WaveStratum(name="South", population=24000)],
        ))
        email = f"manager-{suffix}@example.org"
        db.session.add(StaffUser(agency_id=agency.id, email=email, name="Sam Survey",
                                 password_hash=hash_password(PASSWORD), roles=[str(Role.SURVEY_MANAGER)]))
        db.session.commit()
    return {"email": email, "new_slug": f"{year}-q2"}


def _manager_makes_letters(page, manager) -> str:
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(manager["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Waves").first.click()
    page.get_by_role("link", name="Copy the last wave").click()
    assert page.get_by_label("Short name").input_value() == manager["new_slug"]
    assert_accessible(page, "copy the last wave")
    page.get_by_role("button", name="Save wave").click()
    assert page.locator("h1").inner_text().endswith("Q2")
    page.get_by_role("link", name="Make invitation letters").click()
    page.get_by_label("Letters for North").fill("10")
    page.get_by_label("Letters for South").fill("10")
    page.get_by_role("button", name="Make the codes and show the letters").click()
    letters = page.locator("article.letter")
    assert letters.count() == 20
    assert page.locator("article.letter svg").count() == 20
    assert page.locator('article.letter li[lang="es"]').count() == 20
    assert_accessible(page, "letters")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible(), "the print stylesheet hides the page header"
    page.emulate_media(media="screen")
    code = letters.first.locator("p.code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{1,5})+", code)
    return code


def _rates_summary(page, manager) -> str:
    page.goto(f"/staff/waves/{manager['new_slug']}/rates")
    return page.locator("p.summary").inner_text()


def test_manager_copies_the_wave_and_prints_letters(page, manager):
    _manager_makes_letters(page, manager)
    assert _rates_summary(page, manager) == "0 completes of 20 invitations sent."
    assert_accessible(page, "response rates")


@pytest.mark.skipif(not _respond_flow_exists(), reason="the resident survey flow (respond.page, issue 3) is not merged yet")
def test_a_resident_answers_with_a_printed_code(page, browser, base_url, manager):
    code = _manager_makes_letters(page, manager)
    resident = browser.new_context(base_url=base_url)
    survey = resident.new_page()
    survey.goto(f"/survey/start?code={code}")
    # The QR link pre-fills the code on the start page; the resident starts with one tap.
    survey.get_by_role("button", name="Start the survey").first.click()
    for _ in range(40):
        continue_button = survey.get_by_role("button", name="Continue")
        if continue_button.count() == 0:
            break
        continue_button.first.click()
    survey.get_by_role("button", name=re.compile(r"submit|send", re.I)).first.click()
    assert survey.locator("h1").count() == 1
    resident.close()
    assert _rates_summary(page, manager) == "1 complete of 20 invitations sent."
