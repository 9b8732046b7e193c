"""The network check itself: it sees requests, and a request to another host fails it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_every_request_of_a_page_is_recorded_and_local(page, no_third_party_requests):
    page.goto("/survey/")
    page.goto("/complaints/new")
    # Chromium asks for the favicon after the page has loaded: wait until the network is quiet.
    page.wait_for_load_state("networkidle")
    urls = no_third_party_requests
    assert any(url.endswith("/complaints/new") for url in urls), urls
    assert any(url.endswith("/static/favicon.svg") for url in urls), urls
    assert all("127.0.0.1" in url or "localhost" in url for url in urls)


def test_the_inline_stylesheet_applies_under_the_csp(page):
    """The pages carry site.css in a <style> element that the CSP allows by its hash: were the
    hash wrong, Chromium would ignore the styles and the page would be unstyled."""
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto("/complaints/new")
    assert (
        page.eval_on_selector("header.site", "e => getComputedStyle(e).backgroundColor")
        == "rgb(27, 27, 27)"
    )
    assert page.eval_on_selector(".button", "e => getComputedStyle(e).minHeight") == "44px"
    assert not [m for m in messages if "Content Security Policy" in m], messages


def test_a_foreign_request_is_noticed(page, no_third_party_requests):
    """Chromium reports even a request the CSP then blocks, so a foreign host cannot slip by."""
    page.goto("/")
    page.evaluate("() => { const i = new Image(); i.src = 'http://192.0.2.1/x.png'; }")
    page.wait_for_timeout(200)
    foreign = [url for url in no_third_party_requests if "192.0.2.1" in url]
    assert foreign, "the recorder missed a request to another host"
    no_third_party_requests.remove(foreign[0])  # planted by this test; the fixture checks the rest


def test_a_browser_leaving_mid_download_leaves_no_file_open(live_server):
    """Clients that reset the connection while a file still downloads (as a page closed mid-load
    does) leave no file to the garbage collector: Werkzeug's own handler did, and the
    ResourceWarning failed whichever browser test was running when it was collected."""
    import gc
    import socket
    import struct
    import sys
    import time
    from urllib.parse import urlsplit

    address = urlsplit(live_server)
    left_open = []
    previous, sys.unraisablehook = sys.unraisablehook, left_open.append
    try:
        for attempt in range(200):
            with socket.create_connection((address.hostname, address.port)) as client:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset on close
                client.sendall(b"GET /static/site.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if attempt % 2:
                    client.recv(16)
        time.sleep(0.5)
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert not left_open, [str(u.exc_value) for u in left_open[:3]]
