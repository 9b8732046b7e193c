"""The platform as deployed, in a real browser over HTTPS: gunicorn in production mode behind nginx
terminating TLS. A resident completes a survey with an access code, a resident files a complaint
and follows it up with the receipt code, and each staff role signs in and uses one of its forms.
Every form here would fail with "Your session has expired" if the CSRF check could not work over
HTTPS (the first thing that broke in this shape)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE, assert_accessible
from tests.production.stack import STAFF_PASSWORD, Stack

DESK = {"width": 1280, "height": 800}


@pytest.fixture
def open_page(browser, stack: Stack):
    contexts = []

    def make(viewport=PHONE):
        context = browser.new_context(ignore_https_errors=True, base_url=stack.base_url, viewport=viewport)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _submit(page) -> None:
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")


def test_a_resident_completes_a_survey_with_an_access_code(open_page, stack: Stack):
    page = open_page()
    page.goto("/survey/")
    assert page.url.startswith("https://")
    page.fill("#code", stack.deployment.take_code().lower())
    _submit(page)
    assert "/survey/q/" in page.url, page.locator("main").inner_text()[:300]
    assert_accessible(page, "first survey page over https")
    for _ in range(20):
        if "/survey/q/" not in page.url:
            break
        for group in page.locator("main fieldset").all():
            name = group.locator("input").first.get_attribute("name")
            page.locator(f"#{name}-1").click()
        for box in page.locator("main textarea").all():
            box.fill("Street lights")
        _submit(page)
        assert "expired" not in page.title().lower(), page.locator("main").inner_text()[:300]
    assert page.url.endswith("/survey/done"), page.url
    assert_accessible(page, "thank-you page over https")


def test_a_resident_files_a_complaint_and_follows_it_up(open_page, stack: Stack):
    page = open_page()
    page.goto("/complaints/new")
    page.locator("#categories-0").check()
    page.locator("#narrative").fill("The officer would not give his name.")
    _submit(page)
    page.wait_for_url("**/complaints/receipt")
    code = page.locator(".receipt .code").inner_text().strip()
    page.goto("/complaints/follow-up")
    page.locator("#code").fill(code.lower())
    _submit(page)
    page.wait_for_url("**/complaints/status")
    page.locator("#body").fill("I remember the car number now: 4411.")
    _submit(page)
    assert "4411" in page.locator("main").inner_text()
    assert_accessible(page, "complaint status over https")


def _sign_in(page, stack: Stack, role: str) -> None:
    page.goto("/staff/sign-in")
    page.locator("#email").fill(stack.staff[role])
    page.locator("#password").fill(STAFF_PASSWORD)
    _submit(page)
    assert "/staff" in page.url and "sign-in" not in page.url, page.locator("main").inner_text()[:300]


def test_an_administrator_adds_a_staff_member(open_page, stack: Stack):
    page = open_page(DESK)
    _sign_in(page, stack, "admin")
    page.goto("/staff/users/new")
    page.locator("#name").fill("New Analyst")
    page.locator("#email").fill("new.analyst@loadville.example")
    page.locator('input[name="roles"][value="analyst"], select[name="roles"]').first.evaluate(
        "el => el.tagName === 'SELECT' ? (el.querySelector('option[value=analyst]').selected = true) : el.click()")
    page.locator("#password").fill("a long enough password 2026")
    _submit(page)
    assert "new.analyst@loadville.example" in page.locator("main").inner_text(), page.locator("main").inner_text()[:500]


def test_a_survey_manager_makes_invitation_letters(open_page, stack: Stack):
    page = open_page(DESK)
    _sign_in(page, stack, "survey_manager")
    page.goto("/staff/waves/load-invite/invitations")
    page.locator("#count_0").fill("3")
    _submit(page)
    letters = page.locator("article.letter")
    assert letters.count() == 3, page.locator("main").inner_text()[:500]
    assert re.search(r"[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}", letters.first.inner_text())


def test_an_analyst_downloads_an_export(open_page, stack: Stack):
    page = open_page(DESK)
    _sign_in(page, stack, "analyst")
    page.goto("/staff/export")
    page.locator('input[name="waves"], select[name="waves"]').first.evaluate(
        "el => el.tagName === 'SELECT' ? (el.options[0].selected = true) : el.click()")
    with page.expect_download() as download:
        page.locator("main form button[type=submit]").first.click()
    assert download.value.suggested_filename.endswith(".zip")


def test_an_investigator_records_a_complaint_taken_by_phone(open_page, stack: Stack):
    page = open_page(DESK)
    _sign_in(page, stack, "investigator")
    page.goto("/staff/complaints/new")
    page.locator("#channel-0").check()
    page.locator("#categories-0").check()
    page.locator("#narrative").fill("Caller says the officer was rude at the station.")
    _submit(page)
    assert "receipt" in page.url, page.locator("main").inner_text()[:500]
    assert page.locator(".code").first.inner_text().strip()
