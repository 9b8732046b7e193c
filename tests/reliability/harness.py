"""A deployment under test: the app served by gunicorn with the shipped config, residents that
talk HTTP to 127.0.0.1 only, and checks of what the database holds afterwards.

Every survey a resident sends carries a unique token in its free-text answer and every complaint
a unique token in its narrative, so that "this confirmation has exactly one stored row" can be
checked row by row even though responses are not linkable to the codes that opened them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from survey.models import today as app_today
from tests.pagetext import RECEIPT

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
LANGUAGES = ("en", "es", "ar")
TEXT_ITEM = "top_issue"
OPEN_SLUG = "load-open"
INVITATION_SLUG = "load-invite"


def scale() -> tuple[int, int, int]:
    """(residents, surveys each, complaints each) from RELIABILITY_SCALE.

    ``full`` is the issue's 50 x 20 x 5; the default keeps CI on two cores quick but still sends
    50 residents at once. ``R,S,C`` sets all three.
    """
    value = os.environ.get("RELIABILITY_SCALE", "").strip().lower()
    if value == "full":
        return 50, 20, 5
    if value:
        residents, surveys, complaints = (int(part) for part in value.split(","))
        return residents, surveys, complaints
    return 50, 2, 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the deployment


@dataclass
class Deployment:
    """One database with an agency, an invitation wave with codes and an open-link wave."""

    database_url: str
    folder: Path
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    code_hash_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    codes: list[str] = field(default_factory=list)
    _code_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def key_file(self) -> Path:
        return self.folder / "complaint_keys"

    def config(self) -> dict[str, Any]:
        return {"DATABASE_URL": self.database_url, "SECRET_KEY": self.secret_key,
                "CODE_HASH_KEY": self.code_hash_key, "COMPLAINT_KEY_FILE": str(self.key_file),
                "LANGUAGES": list(LANGUAGES)}

    def env(self) -> dict[str, str]:
        return {"SURVEY_DATABASE_URL": self.database_url, "SURVEY_SECRET_KEY": self.secret_key,
                "SURVEY_CODE_HASH_KEY": self.code_hash_key, "SURVEY_COMPLAINT_KEY_FILE": str(self.key_file),
                "SURVEY_LANGUAGES": ",".join(LANGUAGES), "SURVEY_ENV": "development"}

    def app(self):
        from survey import create_app

        return create_app(self.config())

    def seed(self, codes: int) -> None:
        from survey import crypto, migrate
        from survey.db import db
        from survey.instrument_store import sync_instruments
        from survey.models import Agency, InstrumentVersion, Wave, WaveMode, WaveStratum
        from survey.staff.invitations import generate

        migrate.upgrade(self.database_url)
        app = self.app()
        today = app_today()
        with app.app_context():
            crypto.encrypt("create the key file before two workers race to", "key.check")
            agency = Agency(slug="loadville", name="Loadville Police Department", city="Loadville", phone="555-0100")
            db.session.add(agency)
            db.session.flush()
            list(sync_instruments(agency, ROOT / "instruments"))
            version = db.session.query(InstrumentVersion).order_by(InstrumentVersion.id).first()
            waves = {}
            for slug, mode in ((INVITATION_SLUG, WaveMode.INVITATION), (OPEN_SLUG, WaveMode.OPEN_LINK)):
                waves[slug] = Wave(
                    agency_id=agency.id, instrument_version_id=version.id, slug=slug, title=slug,
                    opens_on=today - dt.timedelta(days=1), closes_on=today + dt.timedelta(days=30), mode=mode,
                    languages=list(LANGUAGES), accepted_draft_languages=["es", "ar"],
                    strata=[WaveStratum(name="North", population=5000), WaveStratum(name="South", population=5000)],
                )
                db.session.add(waves[slug])
            db.session.flush()
            for stratum, count in (("North", codes // 2), ("South", codes - codes // 2)):
                self.codes += [issued.code for issued in generate(waves[INVITATION_SLUG], stratum, count, 0.05)]
            db.session.commit()
        app.extensions["survey.db"]["engine"].dispose()

    def take_code(self) -> str | None:
        with self._code_lock:
            return self.codes.pop() if self.codes else None


class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py and 2 workers (or ``workers``), in its own process group.

    It serves ``wsgi:app`` for ``deployment``; the load benchmark also serves its bare endpoint
    (``app_spec``, found on ``pythonpath``, with no deployment) under exactly the same settings.
    Either app must answer ``GET /healthz`` with 200.
    """

    def __init__(self, deployment: Deployment | None, log_path: Path, extra_env: dict[str, str] | None = None,
                 *, app_spec: str = "wsgi:app", pythonpath: tuple[Path, ...] = (), workers: int = 2) -> None:
        self.deployment = deployment
        self.workers = workers
        self.log_path = log_path
        self.extra_env = extra_env or {}
        self.app_spec = app_spec
        self.pythonpath = ",".join(str(p) for p in (ROOT, *pythonpath))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        env = {**os.environ, **(self.deployment.env() if self.deployment else {}), **self.extra_env,
               "SURVEY_BIND": f"127.0.0.1:{self.port}", "SURVEY_WORKERS": str(self.workers)}
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed with it
        self.proc = subprocess.Popen(
            [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), "--pythonpath", self.pythonpath, self.app_spec],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                status, _headers, _body = http_get(self.port, "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (the whole process group)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=20)
        self.kill()


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


# ------------------------------------------------------------------ residents


class Failed(Exception):
    """A request did not get the page a resident expects; ``kind`` says how (503, 500, conn, ...)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail[:300]}")
        self.kind = kind
        self.detail = detail


@dataclass
class Tally:
    """What every resident saw, shared by all of them."""

    surveys: list[str] = field(default_factory=list)  # tokens of confirmed surveys
    invitation_surveys: list[str] = field(default_factory=list)
    complaints: list[tuple[str, str]] = field(default_factory=list)  # (token, receipt code)
    attempts: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)  # 500s and stack traces: never allowed
    busy_pages: list[tuple[str, str]] = field(default_factory=list)  # (language, body) of 503s
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, value: Any) -> None:
        with self.lock:
            getattr(self, name).append(value)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_RADIO = re.compile(r'type="radio"[^>]*name="([a-z_]+)"')


def request_label(method: str, path: str) -> str:
    """How the load benchmark names a request: "GET start", "POST code", "GET trust", ..."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last == "survey":
        last = "start" if method == "GET" else "code"
    return f"{method} {last}"


class Resident:
    """One phone: its own cookies and language, a new connection per request (as behind a proxy).

    ``timings``: when given, each request's latency is added under :func:`request_label`.
    ``pause``: seconds spent reading a page before asking for the next one (0.5-1.5 x, at random,
    so that residents do not move in step).
    """

    def __init__(self, port_of: Callable[[], int], tally: Tally, language: str,
                 headers: dict[str, str] | None = None, timeout: float = 60, *,
                 timings: dict[str, list[float]] | None = None, pause: float = 0.0,
                 source: str | None = None) -> None:
        self.port_of, self.tally, self.language = port_of, tally, language
        self.source = source
        self.extra_headers = headers or {}
        self.timeout = timeout
        self.timings, self.pause = timings, pause
        self.rng = random.Random()  # noqa: S311 - reading times, not secrets
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Connection": "close", "Accept-Language": self.language, **self.extra_headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.pause and method == "GET":
            time.sleep(self.rng.uniform(0.5, 1.5) * self.pause)
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port_of(), timeout=self.timeout,
                                          source_address=(self.source, 0) if self.source else None)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            raise Failed("conn", f"{method} {path}: {exc!r}") from None
        finally:
            conn.close()
        elapsed = time.perf_counter() - started
        with self.tally.lock:
            self.tally.requests += 1
            if self.timings is not None:
                self.timings[request_label(method, path)].append(elapsed)
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header or "01 Jan 1970" in header or value in ("", '""'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if response.status >= 500 or "Traceback" in text:
            if response.status == 503 and "Traceback" not in text:
                self.tally.add("busy_pages", (self.language, text))
                raise Failed("503", f"{method} {path}")
            self.tally.add("server_errors", f"{response.status} {method} {path}: {text[:500]}")
            raise Failed(str(response.status), f"{method} {path}")
        location = re.sub(r"^https?://[^/]+", "", response.headers.get("Location", ""))
        return response.status, text, location

    def _expect(self, got: int, want: int, what: str) -> None:
        if got != want:
            raise Failed(f"http{got}", what)

    def survey(self, deployment: Deployment, *, use_code: bool) -> str | None:
        """Answer a whole survey; the token when the confirmation page was seen, None when the
        invitation pool is empty. Raises :class:`Failed` when a page was not the expected one."""
        self.cookies.clear()
        token = f"LT{uuid.uuid4().hex}"
        status, html, _ = self.request("GET", "/survey/")
        self._expect(status, 200, "start page")
        csrf = _CSRF.search(html).group(1)
        if use_code:
            code = deployment.take_code()
            if code is None:
                return None
            status, _, path = self.request("POST", "/survey/", {"code": code, "csrf_token": csrf})
        else:
            status, _, path = self.request("POST", f"/survey/open/{OPEN_SLUG}", {"csrf_token": csrf})
        self._expect(status, 303, "code or open link")
        for _ in range(40):
            if not path.startswith("/survey/q/"):
                break
            status, html, _ = self.request("GET", path)
            self._expect(status, 200, path)
            form: dict[str, Any] = {"csrf_token": _CSRF.search(html).group(1)}
            for name in dict.fromkeys(_RADIO.findall(html)):
                form[name] = "2"
            if 'name="contact_any"' in html:
                form["contact_any"] = ["1", "4"]
            if f'name="{TEXT_ITEM}"' in html:
                form[TEXT_ITEM] = token
            status, _, path = self.request("POST", path, form)
            self._expect(status, 303, path)
        if path != "/survey/done":
            raise Failed("flow", f"ended at {path}")
        status, html, _ = self.request("GET", path)
        self._expect(status, 200, "confirmation")
        self.tally.add("invitation_surveys" if use_code else "surveys", token)
        return token

    def complaint(self) -> tuple[str, str]:
        """File a complaint through the form; (token, receipt code) once the receipt was seen."""
        self.cookies.clear()
        token = f"LT{uuid.uuid4().hex}"
        status, html, _ = self.request("GET", "/complaints/new")
        self._expect(status, 200, "complaint form")
        form = {"csrf_token": _CSRF.search(html).group(1), "categories": ["force"],
                "narrative": f"{token} pushed at the bus stop", "location": "Main St",
                "contact_method": "none", "language": self.language}
        status, _, path = self.request("POST", "/complaints/new", form)
        self._expect(status, 303, "complaint post")
        status, html, _ = self.request("GET", path)
        self._expect(status, 200, "receipt")
        match = RECEIPT.search(html)
        if not match:
            raise Failed("flow", "no receipt code on the receipt page")
        self.tally.add("complaints", (token, match.group(1)))
        return token, match.group(1)


def resident_address(n: int) -> str:
    """Resident ``n``'s own address on this machine, each in a network of its own (127.0.n.1, ...),
    as residents at home are: the rate limits count per address and per network, so a whole
    town sharing 127.0.0.1 would be throttled as one guesser."""
    return f"127.{n // 250}.{n % 250 + 1}.1"


def run_residents(port_of: Callable[[], int], deployment: Deployment, tally: Tally, *, residents: int,
                  surveys: int, complaints: int, deadline: float, headers: dict[str, str] | None = None,
                  pause: Callable[[], None] | None = None) -> None:
    """All residents at once; each alternates invitation and open-link surveys and files complaints.

    A failed attempt (503, dropped connection) is counted and the resident moves on to the next
    one, as a person who is told "try again in a moment" would start again.
    """
    start = threading.Barrier(residents)

    def one(n: int) -> None:
        resident = Resident(port_of, tally, LANGUAGES[n % len(LANGUAGES)], headers, source=resident_address(n))
        plan = ["survey-code" if k % 2 == 0 else "survey-open" for k in range(surveys)]
        for k in range(complaints):
            plan.insert((k + 1) * len(plan) // (complaints + 1) + k, "complaint")
        start.wait(timeout=60)
        for task in plan:
            if time.time() > deadline:
                with tally.lock:
                    tally.failures["deadline"] += 1
                return
            with tally.lock:
                tally.attempts[task] += 1
            try:
                if task == "complaint":
                    resident.complaint()
                else:
                    resident.survey(deployment, use_code=task == "survey-code")
            except Failed as exc:
                with tally.lock:
                    tally.failures[exc.kind] += 1
                if pause:
                    pause()

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(residents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, deadline - time.time() + 30))
    assert not any(t.is_alive() for t in threads), "residents still running after the deadline"


# ------------------------------------------------------------------ what was stored


@dataclass
class Stored:
    survey_tokens: Counter
    responses: dict[str, int]  # per wave slug
    responses_without_token: int
    used_codes: int
    complaint_tokens: Counter
    complaint_receipts: Counter
    complaints: int


def stored(deployment: Deployment) -> Stored:
    """Read everything back through a fresh app (complaint narratives decrypted)."""
    from sqlalchemy import func, select

    from survey import crypto
    from survey.db import db
    from survey.models import Answer, Complaint, Invitation, Response, Wave

    app = deployment.app()
    try:
        with app.app_context():
            session = db.session
            waves = dict(session.execute(select(Wave.id, Wave.slug)).all())
            per_wave = Counter(waves[w] for w in session.scalars(select(Response.wave_id)))
            tokens = Counter(session.scalars(select(Answer.text).where(Answer.item_key == TEXT_ITEM)))
            without_token = session.scalar(
                select(func.count()).select_from(Response).where(
                    ~Response.answers.any(Answer.item_key == TEXT_ITEM)
                )
            )
            used = session.scalar(select(func.count()).select_from(Invitation).where(Invitation.used.is_(True)))
            complaint_tokens: Counter = Counter()
            receipts: Counter = Counter()
            count = 0
            for complaint in session.scalars(select(Complaint)):
                count += 1
                narrative = crypto.decrypt(complaint.narrative_enc, Complaint.narrative_enc) or ""
                complaint_tokens[narrative.split(" ", 1)[0]] += 1
                receipts[complaint.receipt_hash] += 1
            return Stored(tokens, dict(per_wave), without_token, used, complaint_tokens,
                          receipts, count)
    finally:
        app.extensions["survey.db"]["engine"].dispose()


def receipt_hashes(deployment: Deployment, codes: list[str]) -> list[str]:
    from survey.complaints.service import receipt_hash

    app = deployment.app()
    try:
        with app.app_context():
            return [receipt_hash(code) for code in codes]
    finally:
        app.extensions["survey.db"]["engine"].dispose()


def check_nothing_lost(deployment: Deployment, tally: Tally, *, exact: bool) -> Stored:
    """Every confirmation has exactly one stored row; nothing is duplicated or half-written.

    ``exact``: no fault happened, so every stored row was also confirmed (no "stored but the
    confirmation was lost" rows are allowed either).
    """
    db_state = stored(deployment)
    # Surveys: each confirmed token exactly once; no token anywhere twice.
    duplicated = [t for t, n in db_state.survey_tokens.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} surveys stored twice"
    confirmed = tally.surveys + tally.invitation_surveys
    missing = [t for t in confirmed if db_state.survey_tokens[t] != 1]
    assert not missing, f"{len(missing)} confirmed surveys are not stored exactly once"
    # Nothing half-written: every response has its answers, up to the last page's text.
    assert db_state.responses_without_token == 0
    # Codes and responses are not linkable, so compare counts: one used code per response.
    assert db_state.used_codes == db_state.responses.get(INVITATION_SLUG, 0), (
        f"{db_state.used_codes} used codes but {db_state.responses.get(INVITATION_SLUG, 0)} responses"
    )
    # Complaints: each receipt seen is stored once, each narrative token once.
    hashes = receipt_hashes(deployment, [code for _token, code in tally.complaints])
    assert all(db_state.complaint_receipts[h] == 1 for h in hashes), "a confirmed complaint is missing"
    assert all(db_state.complaint_tokens[t] == 1 for t, _ in tally.complaints)
    assert all(n == 1 for n in db_state.complaint_tokens.values()), "a complaint was stored twice"
    assert all(n == 1 for n in db_state.complaint_receipts.values())
    if exact:
        assert sum(db_state.survey_tokens.values()) == len(confirmed)
        assert db_state.complaints == len(tally.complaints)
    return db_state


# ------------------------------------------------------------------ databases


def summary(label: str, tally: Tally, db_state: Stored | None = None, seconds: float | None = None) -> str:
    line = (f"{label}: {len(tally.surveys) + len(tally.invitation_surveys)} surveys and "
            f"{len(tally.complaints)} complaints confirmed, {tally.requests} requests"
            + (f" in {seconds:.1f} s" if seconds else "")
            + f", attempts {dict(tally.attempts)}, failures {dict(tally.failures)}")
    if db_state is not None:
        line += (f"; stored responses {db_state.responses}, used codes {db_state.used_codes}, "
                 f"complaints {db_state.complaints}")
    return line
