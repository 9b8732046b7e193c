"""The home page at a phone viewport, in English, Spanish and Arabic, has no axe violations."""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, set_language


@pytest.mark.parametrize(("code", "direction"), [("en", "ltr"), ("es", "ltr"), ("ar", "rtl")])
def test_home_page_is_accessible_in_each_language(page, code, direction):
    page.goto("/")
    set_language(page, code)
    page.wait_for_load_state()
    html = page.locator("html")
    assert html.get_attribute("lang") == code
    assert html.get_attribute("dir") == direction
    assert_accessible(page, f"home page in {code}")
    # Nothing scrolls sideways on a 360 px phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_home_page_works_without_javascript(browser, base_url):
    context = browser.new_context(java_script_enabled=False, base_url=base_url, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto("/")
    set_language(page, "ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("h1").inner_text() != "Have your say about policing in Testville"
    context.close()


def test_axe_finds_a_real_violation(page):
    """The accessibility check can fail: an unlabelled input and an image without alt text are caught."""
    from axe_playwright_python.sync_playwright import Axe

    page.goto("/")  # a real request, so the network check sees this test too
    page.set_content('<html lang="en"><title>x</title><main><h1>x</h1><input><img src="/static/site.css"></main></html>')
    assert Axe().run(page).violations_count >= 2


def test_skip_link_is_the_first_stop_for_the_keyboard(page):
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#main"
