"""Privacy sweep under gunicorn with the shipped config: a marker address (direct, which gunicorn
takes from X-Forwarded-For as the proxy address 127.0.0.1 is trusted, and forwarded), a marker user
agent and a marker query string on every request of a full survey and complaint session. The
database (every table and column, complaint columns decrypted), gunicorn's output (with its access
log turned on too) and every export must hold none of them. Then the adversary with the database
files (SQLite with its -wal, -journal and -shm, or a pg_dump), the logs and the key file: a
sentence written in a survey left unfinished and the sentences of every complaint are in none
of those bytes."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import select

from tests.conftest import form_token
from tests.privacy import (
    MARKER_AGENT,
    MARKER_FORWARDED,
    MARKER_IP,
    everything_in_the_database,
    server_files,
)
from tests.privacy import MARKERS as ADDRESS_AND_AGENT_MARKERS
from tests.reliability.harness import ROOT, Gunicorn, Resident, Tally

pytestmark = pytest.mark.slow

MARKER_QUERY = "qqmarkerquery"
DRAFT_MARKER = "Quillfeather zephyr left this survey half done on Ostrander Lane"


def _abandon_a_draft(resident, deployment) -> None:
    """Start a survey with a code, write the marker on the free-text page, and walk away."""
    resident.cookies.clear()
    status, html, _ = resident.request("GET", "/survey/")
    status, _, path = resident.request("POST", "/survey/", {"code": deployment.take_code(), "csrf_token": form_token(html)})
    assert status == 303 and path.startswith("/survey/q/")
    status, html, _ = resident.request("GET", "/survey/q/voice")
    assert status == 200 and 'name="top_issue"' in html
    status, _, _ = resident.request("POST", "/survey/q/voice", {"top_issue": DRAFT_MARKER, "csrf_token": form_token(html)})
    assert status == 303
    status, html, _ = resident.request("GET", "/survey/q/voice")
    assert DRAFT_MARKER in html, "the draft really holds the sentence"
MARKERS = (*ADDRESS_AND_AGENT_MARKERS, MARKER_QUERY)


def _exports(app) -> str:
    from survey import export
    from survey.db import db
    from survey.models import Wave

    with app.app_context():
        # Both waves the resident answered: the invitation wave and the open-link wave.
        waves = list(db.session.scalars(select(Wave).where(Wave.slug.in_(["load-invite", "load-open"]))))
        assert len(waves) == 2
        built = export.build(waves, include_text=True)
        out = io.StringIO()
        export.write_csv(built, out)
        texts = [out.getvalue(), export.codebook_json(built)]
    client = app.test_client()
    texts.append(client.get("/complaints/data.csv").get_data(as_text=True))
    return "\n".join(texts)


@pytest.mark.parametrize("access_log", ["shipped", "on"])
def test_markers_reach_no_table_log_or_export(deployment, tmp_path, access_log):
    extra = {"SURVEY_ACCESS_LOG": "-"} if access_log == "on" else {}
    log = tmp_path / "gunicorn.log"
    server = Gunicorn(deployment, log, extra_env=extra)
    server.start()
    tally = Tally()
    headers = {"X-Forwarded-For": f"{MARKER_IP}, {MARKER_FORWARDED}", "X-Real-IP": MARKER_IP,
               "User-Agent": MARKER_AGENT, "Forwarded": f"for={MARKER_IP}"}
    try:
        resident = Resident(lambda: server.port, tally, "es", headers)
        resident.request("GET", f"/?ref={MARKER_QUERY}")
        resident.request("GET", f"/complaints/?utm={MARKER_QUERY}")
        token = resident.survey(deployment, use_code=True)
        resident.survey(deployment, use_code=False)
        _token, code = resident.complaint()
        status, html, _ = resident.request("GET", "/complaints/follow-up")
        csrf = form_token(html)
        for wrong in ("AAAAA-BBBBB-CCCCC-DDDD", MARKER_QUERY):
            resident.request("POST", "/complaints/follow-up", {"code": wrong, "csrf_token": csrf})
        status, _, path = resident.request("POST", "/complaints/follow-up", {"code": code, "csrf_token": csrf})
        assert status == 303
        status, html, _ = resident.request("GET", "/complaints/status")
        csrf = form_token(html)
        resident.request("POST", "/complaints/status", {"body": "More details.", "csrf_token": csrf})
        resident.request("GET", f"/survey/?code={MARKER_QUERY}")
        _abandon_a_draft(resident, deployment)
        time.sleep(0.5)
    finally:
        server.stop()
    assert not tally.server_errors and not tally.failures
    app = deployment.app()
    try:
        stored = everything_in_the_database(app)
        exported = _exports(app)
        files = server_files(app, logs=log.read_text())
    finally:
        app.extensions["survey.db"]["engine"].dispose()
    logs = log.read_text()
    assert token in stored and "More details." in stored, "the dump is real"
    if access_log == "on":
        assert "GET /complaints/status 200" in logs, "the access log was not written"
    for sentence in (DRAFT_MARKER, "pushed at the bus stop", "More details."):
        assert sentence.encode() not in files, f"{sentence!r} is in the database files, a dump or the logs"
    for marker in MARKERS:
        assert marker not in stored, f"{marker} is in the database"
        assert marker not in logs, f"{marker} is in gunicorn's output"
        assert marker not in exported, f"{marker} is in an export"


def test_shipped_gunicorn_config_records_no_address_or_query():
    """The access log, if turned on, has no address, user agent, request line, query or time."""
    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 - our own config file
    assert namespace["accesslog"] is None, "the access log is on by default"
    fmt = namespace["access_log_format"]
    for forbidden in ("%(h)s", "%(a)s", "%(r)s", "%(q)s", "%(t)s", "%(u)s", "%(f)s", "{x-forwarded-for}i",
                      "%({"):
        assert forbidden not in fmt, f"{forbidden} in access_log_format"
    assert "%(U)s" in fmt  # the path without its query string
