"""The resident survey in a real browser at a phone viewport: English, Spanish and Arabic with axe
on every page, one run with JavaScript off at 320 px, one with the keyboard alone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import (
    Agency,
    InstrumentVersion,
    Invitation,
    Response,
    Wave,
    WaveMode,
    WaveStratum,
)
from survey.models import today as app_today
from survey.respond.flow import CODE_BITS
from survey.security import generate_code, keyed_hash, normalize_code
from tests.browser.conftest import assert_accessible, set_language
from tests.respond.conftest import PAGES as ALL_PAGES

SLUG = "browser-wave"
PAGES = len(ALL_PAGES)  # with contact reported


@pytest.fixture(scope="module")
def new_code(live_app) -> Callable[[], str]:
    """A fresh access code for an open wave in English, Spanish and Arabic."""
    with live_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == SLUG)).first()
        if wave is None:
            today = app_today()
            wave = Wave(
                agency_id=db.session.scalars(select(Agency)).first().id,
                instrument_version_id=db.session.scalars(select(InstrumentVersion)).first().id,
                slug=SLUG,
                title="Browser wave",
                opens_on=today - dt.timedelta(days=1),
                closes_on=today + dt.timedelta(days=30),
                mode=WaveMode.INVITATION,
                languages=["en", "es", "ar"],
                accepted_draft_languages=["es", "ar"],
                strata=[WaveStratum(name="North", population=1000)],
            )
            db.session.add(wave)
            db.session.commit()
        wave_id = wave.id

    def make() -> str:
        code = generate_code(CODE_BITS)
        with live_app.app_context():
            db.session.add(
                Invitation(wave_id=wave_id, code_hash=keyed_hash("invitation", normalize_code(code)),
                           stratum="North", selection_probability=0.05)
            )
            db.session.commit()
        return code

    return make


def _responses(live_app) -> int:
    with live_app.app_context():
        return len(db.session.scalars(select(Response.id)).all())


def _start(page, code: str, lang: str) -> None:
    page.goto("/survey/")
    set_language(page, lang)
    page.fill("#code", code.lower())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/survey/q/safety")


def _answer(page) -> None:
    """Answer every question on the page by tapping its second answer."""
    for group in page.locator("main fieldset").all():
        inputs = group.locator("input")
        name = inputs.first.get_attribute("name")
        if name == "contact_any":
            page.locator("#contact_any-1").click()  # "I asked for help": the follow-ups appear
        else:
            page.locator(f"#{name}-1").click()
    for box in page.locator("main textarea").all():
        box.fill("Speeding cars")


def _check_tap_targets(page) -> None:
    """44 x 44 px targets; the points of a 0-10 scale, one row on a phone, are 44 px tall and at
    least 24 px wide (WCAG 2.2 target size, AA)."""
    small = page.evaluate(
        """() => [...document.querySelectorAll(
              'main button, main .back, main label.choice-label, main label.scale-label, main .input, main textarea, footer button, footer .inline-list a')]
            .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
            .filter(([h, r]) => r.width > 0 && (r.height < 44 ||
                    r.width < (h.includes('scale-label') ? 24 : 44)))
            .map(([h, r]) => `${h} ${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    assert small == [], small


def _scale_is_mirrored(page) -> None:
    first = page.locator('label[for="safety_feel-0"]').bounding_box()
    last = page.locator('label[for="safety_feel-10"]').bounding_box()
    assert first["x"] > last["x"], (first, last)
    assert first["y"] == last["y"], "the 0-10 scale is not on one row"


@pytest.mark.parametrize(("lang", "direction"), [("en", "ltr"), ("es", "ltr"), ("ar", "rtl")])
def test_complete_the_survey_with_no_axe_violations(page, live_app, new_code, lang, direction):
    before = _responses(live_app)
    page.goto("/survey/")
    set_language(page, lang)
    assert_accessible(page, f"start page in {lang}")
    # A wrong code: the error summary and message are accessible too.
    page.fill("#code", "ABCDE-FGHJK-MNPQR")
    page.locator("main form button[type=submit]").click()
    assert page.locator(".error-message").count() == 1
    assert_accessible(page, f"bad code in {lang}")
    page.fill("#code", new_code().lower())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/survey/q/safety")
    seen = 0
    while "/survey/q/" in page.url:
        seen += 1
        assert page.locator("html").get_attribute("dir") == direction
        assert page.title().startswith(page.locator("h1").inner_text().strip())
        if seen == 1:
            if direction == "rtl":
                _scale_is_mirrored(page)
            else:
                _check_tap_targets(page)
        assert_accessible(page, f"{page.url} in {lang}")
        if "contact-any" in page.url and lang == "en":
            # The exclusive option with another: a clear message, and the page stays accessible.
            page.locator("#contact_any-0").click()
            page.locator("#contact_any-8").click()
            page.locator("main form button[type=submit]").click()
            assert page.locator(".error-message").count() == 1
            assert_accessible(page, "exclusive option error")
            page.locator("#contact_any-8").click()
            page.locator("#contact_any-0").click()
        if "contact-any" in page.url or "/q/about" in page.url:
            _check_tap_targets(page)
        _answer(page)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/survey/done")
    assert seen == PAGES
    assert_accessible(page, f"confirmation in {lang}")
    assert _responses(live_app) == before + 1


def test_complete_the_survey_without_javascript_at_320px(browser, base_url, live_app, new_code):
    context = browser.new_context(java_script_enabled=False, base_url=base_url,
                                  viewport={"width": 320, "height": 640}, has_touch=True, is_mobile=True)
    page = context.new_page()
    before = _responses(live_app)
    _start(page, new_code(), "ar")
    seen = 0
    while "/survey/q/" in page.url:
        seen += 1
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{page.url} scrolls sideways ({width}px)"
        _answer(page)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
    assert page.url.endswith("/survey/done")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert seen == PAGES
    assert _responses(live_app) == before + 1
    context.close()


def _tab_to(page, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"!!document.activeElement && document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")


def test_complete_the_survey_with_the_keyboard_alone(page, live_app, new_code):
    before = _responses(live_app)
    page.goto("/survey/")
    _tab_to(page, "#code")
    page.keyboard.type(new_code())
    page.keyboard.press("Enter")
    page.wait_for_url("**/survey/q/safety")
    seen = 0
    while "/survey/q/" in page.url:
        seen += 1
        groups = page.locator("main fieldset").count()
        for n in range(groups):
            name = page.locator("main fieldset").nth(n).locator("input").first.get_attribute("name")
            _tab_to(page, f'input[name="{name}"]')
            page.keyboard.press("Space")  # ticks the focused radio or checkbox
            assert page.evaluate("document.activeElement.checked"), f"{name} on {page.url}"
        _tab_to(page, "main form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.url.endswith("/survey/done")
    assert seen == PAGES
    assert _responses(live_app) == before + 1
