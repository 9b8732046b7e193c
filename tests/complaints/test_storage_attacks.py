"""The adversary with the database files, backups, logs and keys, against complaints: a complaint
filed at a known second leaves no trace of that time in any encoding (decrypted contents and the
ciphertexts' structure included), and its sentences are nowhere in the files. The searches are
first shown catching a Fernet token and a clear column, so a pass means something."""

from __future__ import annotations

import datetime as dt
import logging
import time

from cryptography.fernet import Fernet
from sqlalchemy import select

from survey import crypto, models
from survey.db import db
from survey.models import Complaint
from tests.privacy import everything_in_the_database, server_files, time_traces

FILED = dt.datetime(2026, 11, 25, 14, 37, 52, tzinfo=dt.UTC)
NARRATIVE_MARKER = "Quillfeather zephyr watched badge nine kick the Ostrander mailbox"
PLACE_MARKER = "Corner of Zephyrine and Quillwort"


def test_the_time_search_catches_a_fernet_token():
    token = Fernet(Fernet.generate_key()).encrypt_at_time(b"a complaint", int(FILED.timestamp()))
    assert b"\x80" not in token, "the token is base64 text: the creation time is not visible as bytes"
    assert "epoch second >Q" in time_traces(FILED, b"row bytes " + token + b" more")


def test_the_time_search_catches_a_clock_time_and_a_coarse_hour():
    assert "UTC %H:%M:%S" in time_traces(FILED, FILED.isoformat().encode())
    assert time_traces(FILED, str(int(FILED.timestamp()) // 3600 * 3600).encode())


def test_an_aead_value_made_at_that_second_has_no_trace_of_it(app, monkeypatch):
    monkeypatch.setattr(models, "clock", lambda: FILED)
    with app.app_context():
        blobs = b"".join(crypto.encrypt("a complaint", Complaint.narrative_enc) for _ in range(200))
    assert time_traces(FILED, blobs) == []


def test_a_complaint_filed_at_a_known_second_leaves_no_trace_of_it(app, client, agency, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(models, "clock", lambda: FILED)
    with monkeypatch.context() as frozen:
        # Any code that reads the system clock (as Fernet did) sees the same second.
        frozen.setattr(time, "time", lambda: FILED.timestamp())
        response = client.post("/complaints/new", data={
            "categories": ["force"], "narrative": NARRATIVE_MARKER, "location": PLACE_MARKER,
            "incident_date": "2026-11-24", "officers": "Badge nine", "contact_method": "phone",
            "contact_details": "555-0123", "language": "en",
        })
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        page = client.get("/complaints/receipt").get_data(as_text=True)
        assert "receipt" in page.lower()
    with app.app_context():
        complaint = db.session.scalars(select(Complaint)).one()
        assert complaint.received_on == FILED.date()

    files = server_files(app, logs=caplog.text)
    # With the key file too, the decrypted contents hold no time either.
    readable = everything_in_the_database(app).encode()
    assert NARRATIVE_MARKER in readable.decode(), "the dump is real"
    zone = app.config["TIMEZONE"]
    assert time_traces(FILED, files, zone) == []
    assert time_traces(FILED, readable, zone) == []
    for marker in (NARRATIVE_MARKER, PLACE_MARKER, "2026-11-24", "555-0123"):
        assert marker.encode() not in files, f"{marker!r} is in the database files"
