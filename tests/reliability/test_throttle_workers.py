"""Limits hold as stated under gunicorn with 4 workers, and staff can all sign in at once.

Clients bind distinct loopback source addresses (127.0.0.2, 127.0.0.3, ...), so the app sees
them as different residents, as it would behind a trusted proxy. Every attempt is a new visitor
without cookies from before (only the CSRF cookie of its own form page), as an attacker would be.
"""

from __future__ import annotations

import http.client
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher

from tests.reliability.harness import Deployment, Gunicorn

pytestmark = pytest.mark.slow  # gunicorn with 4 workers per test; CI runs them

WORKERS = 4
WRONG_CODE = "ABCDE-FGHJK-MNPQR"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """One browser at one source address: its own cookies, a new connection per request."""

    def __init__(self, port: int, address: str) -> None:
        self.port, self.address = port, address
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60, source_address=(self.address, 0))
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text, response.headers.get("Location", "")

    def post_form(self, page: str, form: dict) -> tuple[int, str, str]:
        status, html, _ = self.request("GET", page)
        assert status == 200, f"GET {page}: {status}"
        return self.request("POST", page, {**form, "csrf_token": _CSRF.search(html).group(1)})


def worker_pids(server: Gunicorn) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == server.proc.pid:
                pids.append(int(entry.name))
    return pids


@pytest.fixture
def server(deployment: Deployment, tmp_path: Path):
    gunicorn = Gunicorn(deployment, tmp_path / "gunicorn.log", workers=WORKERS)
    gunicorn.start(timeout=180)  # 4 workers on a shared 2-core machine can take a while to answer
    try:
        yield gunicorn
    finally:
        gunicorn.stop()


def attempt(port: int, address: str, code: str) -> int:
    return Visitor(port, address).post_form("/survey/", {"code": code})[0]


def test_access_code_limit_holds_across_four_workers(deployment, server):
    assert len(worker_pids(server)) == WORKERS
    limit = 10  # SURVEY_THROTTLE_CODE_PER_ADDRESS, default
    statuses = [attempt(server.port, "127.0.0.2", WRONG_CODE) for _ in range(limit + 15)]
    # One by one, each a new visitor: exactly the limit, whichever worker answered.
    assert statuses == [400] * limit + [429] * 15, statuses
    # A resident at another address (same /24: its limit of 50 is far off) gets in at once.
    assert attempt(server.port, "127.0.0.3", deployment.take_code()) == 303

    # At the same moment from 24 visitors at one address: still exactly the limit.
    results: list[int] = []
    start = threading.Barrier(24)

    def one() -> None:
        visitor = Visitor(server.port, "127.0.0.4")
        _status, html, _ = visitor.request("GET", "/survey/")
        token = _CSRF.search(html).group(1)
        start.wait(timeout=30)
        results.append(visitor.request("POST", "/survey/", {"code": WRONG_CODE, "csrf_token": token})[0])

    threads = [threading.Thread(target=one) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == [400] * limit + [429] * (24 - limit), results


def test_receipt_and_sign_in_limits_hold_across_four_workers(deployment, server):
    limit = 10  # SURVEY_THROTTLE_RECEIPT_PER_ADDRESS
    statuses = [Visitor(server.port, "127.0.0.5").post_form("/complaints/follow-up", {"code": "ABCDE-FGHJK-MNPQR-STVW"})[0]
                for _ in range(limit + 3)]
    assert statuses == [200] * limit + [429] * 3
    email = _staff(deployment, 1, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))[0]
    signin = "/staff/sign-in"
    for _ in range(5):  # SURVEY_THROTTLE_SIGNIN_PER_ACCOUNT_ADDRESS
        assert Visitor(server.port, "127.0.0.6").post_form(signin, {"email": email, "password": "wrong password"})[0] == 200
    locked = Visitor(server.port, "127.0.0.6").post_form(signin, {"email": email, "password": PASSWORD})
    assert locked[0] == 200 and "not right" in locked[1], "the right password is refused from there"
    assert Visitor(server.port, "127.0.0.7").post_form(signin, {"email": email, "password": PASSWORD})[0] == 303


PASSWORD = "correct horse battery staple"


def _staff(deployment: Deployment, n: int, hasher: PasswordHasher) -> list[str]:
    from survey.db import db
    from survey.models import Agency, StaffUser

    app = deployment.app()
    emails = [f"staff{i}-{os.urandom(3).hex()}@example.org" for i in range(n)]
    with app.app_context():
        agency = db.session.query(Agency).one()
        for email in emails:
            db.session.add(StaffUser(agency_id=agency.id, email=email, name=email, roles=["analyst"],
                                     password_hash=hasher.hash(PASSWORD)))
        db.session.commit()
    app.extensions["survey.db"]["engine"].dispose()
    return emails


def test_staff_signing_in_at_the_same_moment_all_get_in(deployment, server):
    # Production Argon2 (64 MiB, 3 passes): the hashing is the slow part that once held the lock.
    people = 12
    emails = _staff(deployment, people, PasswordHasher())
    outcomes: list[tuple[int, int]] = []
    start = threading.Barrier(people)

    def one(n: int) -> None:
        visitor = Visitor(server.port, f"127.0.1.{n + 1}")
        _status, html, _ = visitor.request("GET", "/staff/sign-in")
        token = _CSRF.search(html).group(1)
        start.wait(timeout=30)
        status, _, _ = visitor.request("POST", "/staff/sign-in", {"email": emails[n], "password": PASSWORD, "csrf_token": token})
        outcomes.append((status, visitor.request("GET", "/staff/")[0]))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert outcomes == [(303, 200)] * people, outcomes
