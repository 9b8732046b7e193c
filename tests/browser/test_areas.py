"""Model-based neighborhood estimates of the demo in a real browser: an analyst on the Compare page
(desk size) and a resident on the public results page (phone size), both checked by axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import (
    PHONE,
    add_analyst,
    assert_accessible,
    demo_app,
    desk_sign_in,
    serving,
    set_language,
)

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def areas_server(tmp_path_factory):
    """A live app on a demo with enough responses for neighborhood estimates, and an analyst."""
    app = demo_app(tmp_path_factory.mktemp("areas-live"), per_wave=1200)
    add_analyst(app, "areas-analyst@example.org")
    with serving(app) as url:
        yield url


def test_compare_page_shows_model_based_neighborhood_estimates(browser, areas_server, tmp_path):
    desk, page = desk_sign_in(browser, areas_server, "areas-analyst@example.org")
    page.goto("/staff/compare/")
    # The last two closed waves (the open one has too few responses yet).
    slugs = page.locator('input[name="waves"]').evaluate_all("els => els.map(e => e.value)")[1:3]
    page.goto("/staff/compare/?" + "&".join(f"waves={slug}" for slug in slugs) + "&section=areas")
    section = page.locator("section.areas")
    section.scroll_into_view_if_needed()
    assert re.match(r"Neighborhoods, Community survey", section.locator("h2").inner_text())
    table = section.locator("table.areas")
    assert "model-based estimates" in table.locator("caption").inner_text()
    assert table.locator("tbody tr").count() == 40
    first = table.locator("tbody tr").first.inner_text()
    assert re.search(r"\d+\.\d to \d+\.\d", first), first
    page.get_by_label("Index").select_option(label="Safety score")
    page.get_by_role("button", name="Show").click()
    assert "Safety score" in page.locator("section.areas caption").inner_text()
    page.locator("section.areas").screenshot(path=str(tmp_path / "compare-areas.png"))
    # The section only: the rest of the Compare page belongs to its own (parallel) rewrite.
    results = Axe().run(page, context="section.areas", options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.violations_count == 0, results.generate_report()
    desk.close()


def test_public_results_page_shows_neighborhoods_on_a_phone(browser, playwright, areas_server, tmp_path):
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    phone_context = browser.new_context(**{**device, "viewport": PHONE, "screen": PHONE}, base_url=areas_server)
    phone = phone_context.new_page()
    phone.goto("/results/")
    section = phone.locator("section.areas")
    assert section.count() == 1
    assert "These are model-based estimates" in section.inner_text()
    rows = section.locator("tbody tr")
    assert rows.count() == 40
    shown = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert any(re.search(r"\d+\s+\(\d+ to \d+\)", row) for row in shown), shown[:3]
    section.screenshot(path=str(tmp_path / "public-areas.png"))
    assert_accessible(phone, "public results with neighborhoods")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The table fits the phone: its box does not scroll sideways (the caption and a "Responses"
    # column were once cut off in English and Spanish), nor in the longest language.
    for lang in ("en", "es"):
        if lang != "en":
            set_language(phone, lang)
        wrap = phone.locator("section.areas .table-wrap")
        assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth + 1"), f"the areas table scrolls in {lang}"
    phone_context.close()
