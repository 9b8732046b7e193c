"""The Compare page's "Beside other agencies" in a real browser at a desk (1280x800): the demo with
its ten peer agencies, both tables and their sentences, checked by axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import add_analyst, demo_app, desk_sign_in, serving

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def campaign_server(tmp_path_factory):
    """A live app on a small demo with the peer agencies, and an analyst of the demo agency."""
    app = demo_app(tmp_path_factory.mktemp("campaign-live"), per_wave=300)
    with app.app_context():
        from survey.demo import load_peer_agencies

        load_peer_agencies(echo=lambda _line: None)
    add_analyst(app, "bench-analyst@example.org", "riverton")
    with serving(app) as url:
        yield url


def test_beside_other_agencies_at_a_desk(browser, campaign_server, tmp_path):
    desk, page = desk_sign_in(browser, campaign_server, "bench-analyst@example.org")
    page.goto("/staff/compare/")
    # One closed wave is enough for this section.
    slug = page.locator('input[name="waves"]').evaluate_all("els => els.map(e => e.value)")[1]
    page.goto(f"/staff/compare/?waves={slug}&section=agencies")
    assert page.locator("h2#agencies").inner_text() == "Beside other agencies"
    tables = page.locator("table.benchmarks")
    assert tables.count() == 2
    assert "pooled estimate of all agencies" in tables.nth(0).locator("caption").inner_text()
    assert "(mid-size city)" in tables.nth(1).locator("caption").inner_text()
    first = tables.nth(0).locator("tbody tr").first.inner_text()
    assert re.search(r"\d+\.\d\s+\d+\.\d – \d+\.\d", first), first
    assert page.locator("ul.findings li").count() == 2 * tables.nth(0).locator("tbody tr").count()
    # Nothing wider than the desk.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.screenshot(path=str(tmp_path / "beside-other-agencies.png"), full_page=True)
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.violations_count == 0, results.generate_report()
    desk.close()
