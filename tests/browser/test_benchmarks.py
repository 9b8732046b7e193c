"""The Compare page's "Beside other agencies" in a real browser at a desk (1280x800): the demo with
its ten peer agencies, both tables and their sentences, checked by axe."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from survey.db import db
from tests.browser.conftest import demo_app, serving

PASSWORD = "a-long-test-password-19"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def campaign_server(tmp_path_factory):
    """A live app on a small demo with the peer agencies, and an analyst of the demo agency."""
    app = demo_app(tmp_path_factory.mktemp("campaign-live"), per_wave=300)
    with app.app_context():
        from survey.auth import hash_password
        from survey.demo import load_peer_agencies
        from survey.models import Agency, Role, StaffUser

        load_peer_agencies(echo=lambda _line: None)
        agency = db.session.query(Agency).filter(Agency.slug == "riverton").one()
        db.session.add(StaffUser(agency_id=agency.id, email="bench-analyst@example.org", name="Analyst",
                                 password_hash=hash_password(PASSWORD), roles=[str(Role.ANALYST)]))
        db.session.commit()
    with serving(app) as url:
        yield url


def test_beside_other_agencies_at_a_desk(browser, campaign_server, tmp_path):
    desk = browser.new_context(base_url=campaign_server, viewport={"width": 1280, "height": 800})
    page = desk.new_page()
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill("bench-analyst@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
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
