"""Upgrading a database filled under the old scheme (Fernet tokens, dated invitations, daily
response dates, clear incident dates, plain drafts): migration 0007, then
``flask complaints migrate-encryption``, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, create_engine, select

from survey import crypto, migrate
from survey.complaints import service
from survey.db import db
from survey.models import Complaint, ComplaintMessage, Invitation, Response, SurveyDraft
from tests.conftest import make_test_app
from tests.databases import backends, throwaway_postgres

BEFORE = "0006_throttle_sessions"
WEDNESDAY = dt.date(2026, 11, 25)
NARRATIVE = "The officer took my phone and would not give it back."
CONTACT = json.dumps({"method": "phone", "details": "555-0142"})


@pytest.fixture(params=backends())
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    import os

    url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"], prefix="survey_old")
    try:
        yield url
    finally:
        drop()


def _fill_under_old_scheme(url: str, fernet_key: bytes) -> None:
    """Rows as the code before 0007 wrote them (Fernet tokens carry their creation second)."""
    fernet = Fernet(fernet_key)
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    t = meta.tables
    with engine.begin() as conn:
        conn.execute(t["agency"].insert(), {"id": 1, "slug": "old", "name": "Old PD", "city": "Oldtown",
                                             "default_language": "en", "acknowledge_days": 7, "close_days": 90,
                                             "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})
        conn.execute(t["instrument"].insert(), {"id": 1, "agency_id": 1, "key": "core", "title": "Core"})
        conn.execute(t["instrument_version"].insert(), {
            "id": 1, "instrument_id": 1, "version": 1, "content_hash": "0" * 64, "definition": {},
            "source_file": "core.toml", "loaded_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})
        conn.execute(t["wave"].insert(), {
            "id": 1, "agency_id": 1, "instrument_version_id": 1, "slug": "w", "title": "W",
            "opens_on": dt.date(2026, 11, 1), "closes_on": dt.date(2026, 12, 31), "mode": "invitation",
            "languages": ["en"], "accepted_draft_languages": [], "published": False,
            "created_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})
        conn.execute(t["invitation"].insert(), [
            {"id": 1, "wave_id": 1, "code_hash": "a" * 64, "stratum": "North", "status": "sent",
             "created_on": dt.date(2026, 11, 1), "started_on": WEDNESDAY, "used_on": WEDNESDAY},
            {"id": 2, "wave_id": 1, "code_hash": "b" * 64, "stratum": "North", "status": "sent",
             "created_on": dt.date(2026, 11, 1), "started_on": WEDNESDAY, "used_on": None},
            {"id": 3, "wave_id": 1, "code_hash": "c" * 64, "stratum": "North", "status": "sent",
             "created_on": dt.date(2026, 11, 1), "started_on": None, "used_on": None},
        ])
        conn.execute(t["response"].insert(), {
            "id": "r1", "wave_id": 1, "stratum": "North", "language": "en", "channel": "web",
            "selection_probability": 0.1, "sample": "probability", "submitted_on": WEDNESDAY})
        conn.execute(t["survey_draft"].insert(), {
            "id": "d1", "wave_id": 1, "invitation_id": 2, "stratum": "North", "answers": {"top_issue": "potholes"},
            "expires_at": dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC)})
        conn.execute(t["complaint"].insert(), {
            "id": "c1", "agency_id": 1, "reference": "C-2026-0001", "receipt_hash": "r" * 64, "channel": "web",
            "categories": ["property"], "status": "received", "language": "vi", "on_behalf": False,
            "wants_contact": True, "incident_date": dt.date(2026, 11, 20), "district": "North",
            "narrative_enc": fernet.encrypt(NARRATIVE.encode()), "contact_enc": fernet.encrypt(CONTACT.encode()),
            "received_on": WEDNESDAY})
        conn.execute(t["complaint_message"].insert(), {
            "id": 1, "complaint_id": "c1", "seq": 1, "author": "resident",
            "body_enc": fernet.encrypt(b"Any news?"), "created_on": WEDNESDAY})
    engine.dispose()


def test_migration_and_migrate_encryption_convert_an_old_database(old_database, tmp_path):
    migrate.upgrade(old_database, BEFORE)
    fernet_key = Fernet.generate_key()
    (tmp_path / "complaint_keys").write_text(fernet_key.decode() + "\n")
    _fill_under_old_scheme(old_database, fernet_key)

    migrate.upgrade(old_database)
    app = make_test_app(old_database, tmp_path)
    try:
        with app.app_context():
            complaint = db.session.get(Complaint, "c1")
            with pytest.raises(crypto.KeyFileError, match="migrate-encryption"):
                service.decrypted(complaint)  # Fernet rows refuse to open until converted
        result = app.test_cli_runner().invoke(args=["complaints", "migrate-encryption"])
        assert result.exit_code == 0, result.output
        assert "Converted 2 rows" in result.output

        with app.app_context():
            ring = crypto.read_ring()
            assert ring.legacy == [] and len(ring.keys) == 1
            complaint = db.session.get(Complaint, "c1")
            fields = service.decrypted(complaint)
            assert fields["narrative"] == NARRATIVE
            assert fields["contact"] == {"method": "phone", "details": "555-0142"}
            assert fields["incident_date"] == dt.date(2026, 11, 20) and fields["language"] == "vi"
            assert service.body_of(db.session.scalars(select(ComplaintMessage)).one()) == "Any news?"
            for blob in (complaint.narrative_enc, complaint.contact_enc, complaint.incident_date_enc,
                         complaint.language_enc):
                assert blob[:1] == crypto.VERSION and blob[1:5] == ring.keys[0].id
            invitations = {i.id: (i.started, i.used) for i in db.session.scalars(select(Invitation))}
            assert invitations == {1: (True, True), 2: (True, False), 3: (False, False)}
            assert db.session.scalars(select(Response)).one().submitted_on == dt.date(2026, 11, 23)  # Monday
            assert db.session.scalars(select(SurveyDraft)).all() == []  # plain drafts are not kept

        again = app.test_cli_runner().invoke(args=["complaints", "migrate-encryption"])
        assert again.exit_code == 0, again.output  # safe to run twice
        assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    finally:
        app.extensions["survey.db"]["engine"].dispose()

    if old_database.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("old.sqlite3*"))
        assert b"gAAAAA" not in raw, "a Fernet token survives in the database file"
        assert NARRATIVE.encode() not in raw and b"potholes" not in raw and b"2026-11-20" not in raw


def test_rotate_key_refuses_while_fernet_keys_remain(app, runner):
    with app.app_context():
        crypto.write_lines([crypto.Key.generate().line(), Fernet.generate_key().decode()])
    result = runner.invoke(args=["complaints", "rotate-key"])
    assert result.exit_code != 0 and "migrate-encryption" in result.output


def test_a_ciphertext_moved_to_another_column_does_not_open(app, agency):
    with app.app_context():
        sealed = crypto.encrypt("555-0199", Complaint.narrative_enc)
        assert crypto.decrypt(sealed, Complaint.narrative_enc) == "555-0199"
        with pytest.raises(crypto.KeyFileError, match="integrity"):
            crypto.decrypt(sealed, Complaint.contact_enc)
        tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
        with pytest.raises(crypto.KeyFileError, match="integrity"):
            crypto.decrypt(tampered, Complaint.narrative_enc)
