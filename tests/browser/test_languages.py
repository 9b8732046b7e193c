"""Every shipped language at a phone viewport: home, survey, complaint, policy and results pages pass axe,
the page carries the right lang and dir, and nothing scrolls sideways.

Set SCREENSHOT_DIR to keep a full-page screenshot of each page for a person to look at."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.db import db
from survey.i18n import KNOWN, direction, html_lang
from survey.models import Agency, InstrumentVersion, Invitation, Wave, WaveMode, WaveStratum
from survey.models import today as app_today
from survey.security import generate_code, keyed_hash, normalize_code
from tests.browser.conftest import assert_accessible, set_language

SLUG = "languages-wave"
SHOTS = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture(scope="module")
def access_code(live_app):
    """Returns a fresh access code for an open wave fielded in every language."""
    with live_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == SLUG)).first()
        if wave is None:
            today = app_today()
            wave = Wave(
                agency_id=db.session.scalars(select(Agency)).first().id,
                instrument_version_id=db.session.scalars(select(InstrumentVersion)).first().id,
                slug=SLUG, title="Languages", opens_on=today - dt.timedelta(days=1),
                closes_on=today + dt.timedelta(days=30), mode=WaveMode.INVITATION,
                languages=list(KNOWN), accepted_draft_languages=[c for c in KNOWN if c != "en"],
                strata=[WaveStratum(name="North", population=1000)],
            )
            db.session.add(wave)
            db.session.commit()
        wave_id = wave.id

    def make() -> str:
        code = generate_code(72)
        with live_app.app_context():
            db.session.add(Invitation(wave_id=wave_id, code_hash=keyed_hash("invitation", normalize_code(code)),
                                      stratum="North", selection_probability=0.05))
            db.session.commit()
        return code

    return make


def _check(page, lang: str, name: str) -> None:
    root = page.locator("html")
    assert root.get_attribute("lang") == html_lang(lang), name
    assert root.get_attribute("dir") == direction(lang), name
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{name} scrolls sideways in {lang}"
    assert_accessible(page, f"{name} in {lang}")
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{lang}-{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", list(KNOWN))
def test_resident_pages_in_every_language(page, lang, access_code):
    page.goto("/")
    set_language(page, lang)
    _check(page, lang, "home")
    page.goto("/complaints/")
    _check(page, lang, "complaint-policy")
    page.goto("/complaints/new")
    _check(page, lang, "complaint-form")
    page.goto("/results/")
    _check(page, lang, "results")
    page.goto("/survey/")
    _check(page, lang, "survey-start")
    page.fill("#code", access_code())
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if page.locator("main form button[type=submit]").count() and "/survey/" in page.url and page.locator("h1").count():
        # A start page with the code filled in asks for one more tap.
        pass
    _check(page, lang, "survey-page")
    assert page.locator("main h1").count() == 1
