"""Browser tests: Playwright driving Debian's Chromium against a live server, with axe-core.

Never `playwright install` (it downloads a browser); we point Playwright at /usr/bin/chromium.
Without Chromium the browser tests are skipped with a reason; CI installs it, so there they run.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from survey import create_app, migrate
from survey.db import db
from survey.i18n import KNOWN
from survey.instrument_store import sync_instruments
from survey.models import Agency

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
PHONE = {"width": 360, "height": 640}

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` (so ``-m "not browser"`` leaves them out) and
    skip them when there is no Chromium."""
    skip = pytest.mark.skip(reason="no Chromium found (install Debian's chromium or set CHROMIUM_PATH)")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, playwright) -> dict:
    """A phone: Pixel 7 touch and user agent, at a 360x640 viewport."""
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    return {**browser_context_args, **device, "viewport": PHONE, "screen": PHONE}


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app on a migrated SQLite file with an agency and the shipped instruments."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    migrate.upgrade(url)
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            "CODE_HASH_KEY": secrets.token_urlsafe(32),
            "COMPLAINT_KEY_FILE": str(folder / "complaint_keys"),
            "LETTERS_DIR": str(folder / "letters"),
            "RESULTS_CACHE_DIR": str(folder / "results-cache"),
            "LANGUAGES": list(KNOWN),
        }
    )
    with app.app_context():
        agency = Agency(slug="testville", name="Testville Police Department", city="Testville", phone="555-0101")
        db.session.add(agency)
        db.session.flush()
        list(sync_instruments(agency, ROOT / "instruments"))
        db.session.commit()
    return app


class _ClosingHandler(WSGIRequestHandler):
    """Werkzeug's request handler, closing the response when the browser drops the connection.

    Werkzeug skips ``close()`` on the response when reading what is left of a request fails
    because the browser has gone (a page closed while a stylesheet still downloads): the file it
    streams is left to the garbage collector, whose ResourceWarning then fails whichever test is
    running. The response is kept in the environ (by ``_keep_response``) to be closed here.
    """

    def connection_dropped(self, error, environ=None):
        response = environ.pop("tests.response", None) if environ else None
        if hasattr(response, "close"):
            response.close()


def _keep_response(app: Flask):
    def wsgi(environ, start_response):
        environ["tests.response"] = response = app(environ, start_response)
        return response

    return wsgi


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free local port in a daemon thread; yield its base address."""
    server = make_server("127.0.0.1", 0, _keep_response(app), threaded=True, request_handler=_ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["survey.db"]["engine"].dispose()


def demo_app(folder: Path, per_wave: int, languages: tuple[str, ...] = ("en", "es", "ar")) -> Flask:
    """An app on a migrated SQLite file in ``folder`` with the demo loaded (``per_wave`` responses
    in each past wave), for browser tests of results pages."""
    url = f"sqlite:///{folder / 'live.sqlite3'}"
    migrate.upgrade(url)
    app = create_app({
        "TESTING": True, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
        "CODE_HASH_KEY": secrets.token_urlsafe(32), "COMPLAINT_KEY_FILE": str(folder / "complaint_keys"),
        "LANGUAGES": list(languages), "RESULTS_MIN_N": 50, "RESULTS_CACHE_DIR": str(folder / "cache"),
    })
    with app.app_context():
        from survey.demo import load_demo

        load_demo(per_wave=per_wave, echo=lambda _line: None)
        db.session.commit()
    return app


#: The password of the staff accounts the results browser tests add (desk_analyst).
DESK_PASSWORD = "a-long-test-password-19"


def add_analyst(app: Flask, email: str, agency_slug: str | None = None) -> None:
    """An analyst account at the agency (default: the first) of a demo app."""
    from survey.auth import hash_password
    from survey.models import Role, StaffUser

    with app.app_context():
        query = db.session.query(Agency)
        agency = (query.filter(Agency.slug == agency_slug) if agency_slug else query.order_by(Agency.id)).first()
        db.session.add(StaffUser(agency_id=agency.id, email=email, name="Analyst",
                                 password_hash=hash_password(DESK_PASSWORD), roles=[str(Role.ANALYST)]))
        db.session.commit()


def desk_sign_in(browser, base_url: str, email: str):
    """A desk-size (1280x800) browser context signed in as ``email``; returns (context, page)."""
    desk = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    page = desk.new_page()
    page.goto("/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DESK_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return desk, page


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    with serving(live_app) as url:
        yield url


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    return live_server


def assert_accessible(page, context: str = "") -> None:
    """Run axe-core (WCAG 2.0/2.1/2.2 A and AA rules) on the page; fail with its report."""
    from axe_playwright_python.sync_playwright import Axe

    # A click that navigates returns once the new document commits, before it is all parsed; axe
    # would then judge half a page.
    page.wait_for_load_state("load")
    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}},
    )
    assert results.violations_count == 0, f"{context or page.url}\n{results.generate_report()}"


def set_language(page, code: str) -> None:
    """Choose a language with the page's own switcher (a form button, no JavaScript needed)."""
    from playwright.sync_api import expect

    page.locator(f'footer button[name="lang"][value="{code}"]').click()
    expect(page.locator("html")).to_have_attribute("lang", KNOWN[code].tag)
    page.wait_for_load_state("load")


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(autouse=True)
def no_third_party_requests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record every request of every browser context a test opens; fail on any non-local host.

    The platform promises residents no tracking: no font, script, analytics or image from anywhere
    but this server, on every page any browser test visits.
    """
    seen: list[str] = []
    if not {"page", "context", "browser"} & set(request.fixturenames):
        yield seen
        return
    from urllib.parse import urlsplit

    browser = request.getfixturevalue("browser")
    original = browser.new_context

    def new_context(*args, **kwargs):
        context = original(*args, **kwargs)
        context.on("request", lambda req: seen.append(req.url))
        return context

    monkeypatch.setattr(browser, "new_context", new_context)
    yield seen
    foreign = [url for url in seen
               if urlsplit(url).scheme not in ("data", "about", "blob")
               and (urlsplit(url).hostname or "") not in LOCAL_HOSTS]
    assert not foreign, f"requests to other hosts: {foreign[:5]}"
    assert seen, "no request was recorded: the network check is not attached"
