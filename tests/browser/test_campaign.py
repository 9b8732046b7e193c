"""The campaign in a real browser (path mode, /a/<slug>/...): the campaign administrator creates
a second agency from the console and passes on the invitation link; the new administrator sets a
password at the agency's address, runs a wave with mailed codes, a resident answers, and the
agency's analyst compares the wave with the demo agency's.

Set CAMPAIGN_SCREENSHOTS=/some/folder to keep screenshots of the console, the new-agency form and
the public campaign page (360 px, English and Arabic).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from survey import create_app, migrate
from survey.db import db
from survey.demo import CAMPAIGN_EMAIL, DEMO_PASSWORD
from survey.models import Channel, Wave
from survey.models import today as app_today
from tests.browser.conftest import PHONE, assert_accessible, serving, set_language

DESK = {"width": 1280, "height": 800}
SHOTS = os.environ.get("CAMPAIGN_SCREENSHOTS")
NEW_PASSWORD = "lakeside admin password"
TARGETS = "variable,category,stratum,population\ndistrict,Harbor,,6000\ndistrict,Hill,,4000\n"
LETTERS = 30  # per district


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def campaign_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """A path-mode deployment holding the demo agency (Riverton, listed) and the campaign's account."""
    folder = tmp_path_factory.mktemp("campaign")
    url = f"sqlite:///{folder / 'campaign.sqlite3'}"
    migrate.upgrade(url)
    app = create_app({
        "TESTING": True, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
        "CODE_HASH_KEY": secrets.token_urlsafe(32), "COMPLAINT_KEY_FILE": str(folder / "complaint_keys"),
        "RESULTS_CACHE_DIR": str(folder / "cache"), "LETTERS_DIR": str(folder / "letters"),
        "LANGUAGES": ["en", "es", "ar"], "RESULTS_MIN_N": 20, "AGENCY_ADDRESSES": "path",
        "BENCHMARK_MIN_AGENCIES": 1,  # the one other agency here: the demo agency
    })
    with app.app_context():
        from survey.demo import load_demo

        load_demo(per_wave=150, open_responses=400, echo=lambda _line: None)
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def campaign_url(campaign_app: Flask) -> Iterator[str]:
    with serving(campaign_app) as url:
        yield url


def _desk(browser, url: str):
    context = browser.new_context(viewport=DESK, screen=DESK, base_url=url)
    return context, context.new_page()


def _answers(inst, rng: random.Random) -> dict:
    """A plausible questionnaire: every closed question answered (shown or not: hidden ones are dropped)."""
    out = {}
    for key, item in inst.items.items():
        if item.type == "scale":
            out[key] = rng.randint(max(item.scale_min, 4), item.scale_max)
        elif item.type == "multi":
            out[key] = [item.options[0].code]
        elif item.type != "text" and item.options:
            out[key] = rng.choice([o.code for o in item.options if not o.missing] or [item.options[0].code])
    return out


def test_campaign_creates_an_agency_that_runs_a_wave(browser, campaign_app, campaign_url, tmp_path):
    # --- the campaign administrator creates Lakeside from the console
    context, page = _desk(browser, campaign_url)
    page.goto("/campaign/sign-in")
    page.get_by_label("Email address").fill(CAMPAIGN_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Campaign console")
    expect(page.locator("table")).to_contain_text("Riverton Police Department")
    assert_accessible(page, "campaign console")
    _shot(page, "campaign-console-1280")

    page.get_by_role("link", name="New agency").first.click()
    expect(page.locator("h1")).to_have_text("New agency")
    assert_accessible(page, "new agency form")
    _shot(page, "campaign-new-agency-1280")
    page.get_by_label("Short name").fill("lakeside")
    page.get_by_label("Name of the agency").fill("Lakeside Police Department")
    page.get_by_label("City or area served").fill("Lakeside")
    page.get_by_label("العربية").uncheck()
    page.get_by_label("Districts").fill("Harbor\nHill")
    page.get_by_label("List the agency on the campaign's public page").check()
    page.get_by_label("Peer group").fill("small-city")
    csv = tmp_path / "lakeside-targets.csv"
    csv.write_text(TARGETS, encoding="utf-8")
    page.get_by_label("CSV file of population targets").set_input_files(str(csv))
    page.get_by_label("Administrator's name").fill("Lee Lakeside")
    page.get_by_label("Administrator's email address").fill("lee@lakeside.example")
    page.get_by_role("button", name="Create the agency").click()
    expect(page.locator("h1")).to_have_text("Invitation of the first administrator")
    assert_accessible(page, "invitation link")
    link = page.locator("#invite-link").input_value()
    assert re.fullmatch(rf"{re.escape(campaign_url)}/a/lakeside/staff/welcome/[\w-]{{20,}}", link), link
    page.goto("/campaign/console")
    expect(page.locator("table")).to_contain_text("Lakeside Police Department")
    context.close()

    # --- the new administrator opens the link at the agency's address and sets a password
    context, admin = _desk(browser, campaign_url)
    admin.goto(link)
    assert admin.url.endswith("/a/lakeside/staff/welcome"), admin.url  # the token left the address bar
    expect(admin.locator("h1")).to_have_text("Choose your password")
    assert_accessible(admin, "welcome")
    admin.get_by_label("New password").fill(NEW_PASSWORD)
    admin.get_by_role("button", name="Set password").click()
    expect(admin).to_have_url(re.compile(r"/a/lakeside/staff/$"))
    # ... and gives themselves the roles of running a wave and reading its results.
    admin.goto("/a/lakeside/staff/users")
    admin.get_by_role("link", name="Lee Lakeside").click()
    admin.get_by_label(re.compile("^Survey manager")).check()
    admin.get_by_label(re.compile("^Analyst")).check()
    admin.get_by_role("button", name=re.compile("^Save")).click()
    expect(admin.locator(".notice-success")).to_be_visible()

    # --- a wave with mailed access codes
    today = app_today()
    admin.goto("/a/lakeside/staff/waves/new")
    admin.get_by_role("group", name="Questionnaire").get_by_role("radio").first.check()
    admin.get_by_label("Title").fill("Community survey, first wave")
    admin.get_by_label("Short name").fill("first")
    admin.get_by_label("Opens on").fill((today - dt.timedelta(days=2)).isoformat())
    admin.get_by_label("Closes on").fill((today + dt.timedelta(days=40)).isoformat())
    admin.get_by_label(re.compile("^Mailed letters")).check()
    admin.get_by_role("group", name="Languages").get_by_label("English (en)").check()
    admin.get_by_label(re.compile("^Districts")).fill("Harbor, 6000\nHill, 4000")
    admin.get_by_role("button", name="Save wave").click()
    assert admin.locator(".error-summary").count() == 0, admin.locator(".error-summary").inner_text()
    expect(admin.locator("h1")).to_contain_text("Community survey, first wave")
    admin.get_by_role("link", name="Make invitation letters").click()
    admin.get_by_label("Letters for Harbor").fill(str(LETTERS))
    admin.get_by_label("Letters for Hill").fill(str(LETTERS))
    admin.get_by_role("button", name="Make the codes and show the letters").click()
    codes = [c.strip() for c in admin.locator("article.letter p.code").all_inner_texts()]
    assert len(codes) == 2 * LETTERS

    # --- a resident answers on a phone with the first code
    resident = browser.new_context(base_url=campaign_url, viewport=PHONE, screen=PHONE)
    survey = resident.new_page()
    survey.goto(f"/a/lakeside/survey/start?code={codes[0]}")
    survey.get_by_role("button", name="Start the survey").first.click()
    for _ in range(40):
        continue_button = survey.get_by_role("button", name="Continue")
        if continue_button.count() == 0:
            break
        continue_button.first.click()
    survey.get_by_role("button", name=re.compile(r"submit|send", re.I)).first.click()
    resident.close()

    # --- the other residents' paper questionnaires, keyed in through the app's own path
    from survey.respond.flow import instrument_of, store_keyed_response

    rng = random.Random(18)
    with campaign_app.test_request_context("/staff/", environ_overrides={"survey.agency": "lakeside"}):
        wave = db.session.scalars(select(Wave).where(Wave.slug == "first", Wave.agency.has(slug="lakeside"))).one()
        inst = instrument_of(wave)
        for code in codes[1:]:
            store_keyed_response(wave, _answers(inst, rng), channel=Channel.PAPER, language="en", stratum=None, code=code)
    admin.goto("/a/lakeside/staff/waves/first/rates")
    expect(admin.locator("p.summary")).to_contain_text(f"{2 * LETTERS} completes")

    # --- the analyst sees the wave beside the other agencies of the campaign (the demo agency, listed)
    admin.goto("/a/lakeside/staff/compare/?waves=first&section=agencies")
    expect(admin.locator("h2#agencies")).to_have_text("Beside other agencies")
    pooled = admin.locator("table.benchmarks").first
    expect(pooled.locator("caption")).to_contain_text("pooled estimate of all agencies")
    first = pooled.locator("tbody tr").first.inner_text()
    assert "withheld" not in first, first  # the demo agency's figure stands beside Lakeside's
    assert len(re.findall(r"\d+\.\d – \d+\.\d", first)) >= 2, first
    expect(admin.locator("main")).to_contain_text("Riverton Police Department")  # listed: named
    assert_accessible(admin, "beside other agencies")
    _shot(admin, "lakeside-beside-other-agencies-1280")
    context.close()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_public_campaign_page_on_a_phone(browser, campaign_url, language):
    context = browser.new_context(base_url=campaign_url, viewport=PHONE, screen=PHONE)
    page = context.new_page()
    page.goto("/campaign/")
    if language != "en":
        set_language(page, language)
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("main")).to_contain_text("ريفرتون" if language == "ar" else "Riverton")  # its own name per language
    expect(page.locator("main dl.scores dd").first).to_be_visible()  # the latest published scores
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    assert_accessible(page, f"campaign page ({language})")
    _shot(page, f"campaign-public-360-{language}")
    context.close()


def test_public_campaign_page_without_javascript(browser, campaign_url):
    context = browser.new_context(base_url=campaign_url, viewport=PHONE, screen=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/campaign/")
    set_language(page, "ar")  # the switcher is a form: no script needed
    expect(page.locator("main")).to_contain_text("ريفرتون")
    context.close()
