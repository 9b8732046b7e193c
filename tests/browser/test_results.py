"""The public results page at a phone viewport in English, Spanish and Arabic: axe finds nothing,
nothing scrolls sideways, and the charts load as images with text alternatives."""

from __future__ import annotations

import secrets
import threading

import pytest
from werkzeug.serving import make_server

from survey import create_app, migrate
from survey.db import db
from tests.browser.conftest import PHONE, assert_accessible, set_language


@pytest.fixture(scope="module")
def results_server(tmp_path_factory):
    """A live app on a small demo (published waves, a district or two below the minimum n)."""
    folder = tmp_path_factory.mktemp("results-live")
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    migrate.upgrade(url)
    app = create_app({
        "TESTING": True, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
        "CODE_HASH_KEY": secrets.token_urlsafe(32), "COMPLAINT_KEY_FILE": str(folder / "complaint_keys"),
        "LANGUAGES": ["en", "es", "ar"], "RESULTS_MIN_N": 50, "RESULTS_CACHE_DIR": str(folder / "cache"),
    })
    with app.app_context():
        from survey.demo import load_demo

        load_demo(per_wave=300, echo=lambda _line: None)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["survey.db"]["engine"].dispose()


@pytest.fixture
def phone(browser, playwright, results_server):
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    context = browser.new_context(**{**device, "viewport": PHONE, "screen": PHONE}, base_url=results_server)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(("code", "direction"), [("en", "ltr"), ("es", "ltr"), ("ar", "rtl")])
def test_results_page_is_accessible_in_each_language(phone, code, direction):
    phone.goto("/results/")
    set_language(phone, code)
    phone.wait_for_load_state("networkidle")
    html = phone.locator("html")
    assert html.get_attribute("lang") == code
    assert html.get_attribute("dir") == direction
    assert phone.locator("h1").count() == 1
    images = phone.locator("figure.chart img")
    assert images.count() == 2
    for i in range(images.count()):
        img = images.nth(i)
        assert (img.get_attribute("alt") or "").strip()
        assert img.evaluate("el => el.complete && el.naturalWidth > 0"), "the chart did not load"
    assert_accessible(phone, f"results page in {code}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_results_page_shows_withheld_districts(phone):
    phone.goto("/results/")
    assert phone.get_by_text("Withheld: fewer than 50 responses").count() >= 1
