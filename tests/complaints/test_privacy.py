"""What residents leave behind: no address or user agent anywhere, rate-limited look-ups,
the same answer for every wrong code, and a tamper-evident audit log."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from sqlalchemy import select, text

from survey import crypto
from survey.db import db
from survey.models import (
    AuditEvent,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    Disposition,
    Role,
    ThrottleBucket,
)
from survey.models import today as app_today
from tests.privacy import (
    MARKER_AGENT,
    MARKER_FORWARDED,
    MARKER_IP,
    MARKERS,
    everything_in_the_database,
)


def test_marker_address_and_user_agent_are_stored_and_logged_nowhere(app, client, agency, sign_in, caplog):
    caplog.set_level(logging.DEBUG)
    client.environ_base.update(
        {"REMOTE_ADDR": MARKER_IP, "HTTP_X_FORWARDED_FOR": MARKER_FORWARDED, "HTTP_USER_AGENT": MARKER_AGENT}
    )
    headers = {"X-Forwarded-For": MARKER_FORWARDED, "User-Agent": MARKER_AGENT}
    # A whole resident session: policy, a failed form, the complaint, receipt, wrong codes,
    # follow-up, a reply, the public data.
    client.get("/complaints/", headers=headers)
    client.post("/complaints/new", data={"contact_method": "none"}, headers=headers)
    client.post("/complaints/new", headers=headers, data={
        "categories": ["force", "bias"], "narrative": "Pushed at the bus stop.", "location": "Main St",
        "officers": "I don't know", "witnesses": "A driver", "contact_method": "email",
        "contact_details": "resident@example.org", "incident_date": "2026-01-02", "language": "en",
    })
    from tests.pagetext import receipt_code

    code = receipt_code(client.get("/complaints/receipt", headers=headers).get_data(as_text=True))
    for wrong in ("AAAAA-BBBBB-CCCCC-DDDD", "nonsense"):
        client.post("/complaints/follow-up", data={"code": wrong}, headers=headers)
    client.post("/complaints/follow-up", data={"code": code}, headers=headers)
    client.get("/complaints/status", headers=headers)
    client.post("/complaints/status", data={"body": "More details."}, headers=headers)
    client.post("/complaints/follow-up/end", headers=headers)
    # Staff act on it too (staff pages are not anonymous, but they still log no address).
    sign_in(Role.INVESTIGATOR)
    with app.app_context():
        complaint = db.session.scalars(select(Complaint)).one()
        complaint_id = complaint.id
    client.get(f"/staff/complaints/{complaint_id}", headers=headers)
    client.post(f"/staff/complaints/{complaint_id}/message", data={"message-body": "Thanks"}, headers=headers)
    # Put the complaint in a finished quarter so the public data has a row for it.
    with app.app_context():
        complaint = db.session.get(Complaint, complaint_id)
        complaint.received_on = app_today() - dt.timedelta(days=200)
        db.session.commit()
    csv_text = client.get("/complaints/data.csv", headers=headers).get_data(as_text=True)
    page = client.get("/complaints/data", headers=headers).get_data(as_text=True)
    assert "received_by_channel" in csv_text

    stored = everything_in_the_database(app)
    assert "Pushed at the bus stop." in stored and "More details." in stored  # the dump is real
    logs = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    for marker in MARKERS:
        assert marker not in stored, f"{marker} is in the database"
        assert marker not in logs, f"{marker} is in the logs"
        assert marker not in csv_text and marker not in page, f"{marker} is in the public data"
    with app.app_context():
        buckets = db.session.scalars(select(ThrottleBucket)).all()
        assert buckets, "wrong codes were counted"
        assert all(MARKER_IP not in b.key for b in buckets)


def _wrong(client, code="ABCDE-FGHJK-MNPQR-STVW"):
    return client.post("/complaints/follow-up", data={"code": code})


def test_wrong_codes_trip_the_rate_limit(app, client, file_complaint):
    code = file_complaint(categories=["force"])
    limit = app.config["THROTTLE_RULES"]["receipt"].per_address
    statuses = [_wrong(client, f"ABCDE-FGHJK-MNPQR-{n:04d}".replace("0", "A").replace("1", "B")).status_code for n in range(limit + 5)]
    assert statuses == [200] * limit + [429] * 5
    blocked = client.post("/complaints/follow-up", data={"code": code})
    assert blocked.status_code == 429, "a right code is refused too once the limit is reached"
    assert "too many tries" in blocked.get_data(as_text=True).lower()
    # Another client (another address) is not blocked by this one's tries.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.55"
    response = other.post("/complaints/follow-up", data={"code": code})
    assert response.status_code == 303


def test_guessing_from_many_addresses_of_one_network_is_limited(app, client, agency):
    # No site-wide ceiling (it would let anyone lock every resident out): the /24 is the limit.
    limit = app.config["THROTTLE_RULES"]["receipt"].per_prefix
    statuses = []
    for n in range(limit + 3):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = f"192.0.2.{n}"
        statuses.append(c.post("/complaints/follow-up", data={"code": "ABCDE-FGHJK-MNPQR-STVW"}).status_code)
    assert statuses == [200] * limit + [429] * 3
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert elsewhere.post("/complaints/follow-up", data={"code": "ABCDE-FGHJK-MNPQR-STVW"}).status_code == 200


def test_wrong_and_unknown_codes_get_identical_answers(client, file_complaint):
    file_complaint(categories=["force"])
    malformed = _wrong(client, "0000")
    unknown = _wrong(client, "ABCDE-FGHJK-MNPQR-STVW")
    almost = _wrong(client, "ABCDE-FGHJK-MNPQR-STV")
    # The CSRF token carries a timestamp; everything else must be byte for byte the same.
    bodies = {re.sub(rb'name="csrf_token" value="[^"]*"', b"", r.get_data()) for r in (malformed, unknown, almost)}
    assert len(bodies) == 1
    assert {r.status_code for r in (malformed, unknown, almost)} == {200}
    assert b"We could not find a complaint with that code" in malformed.get_data()


def _make_audit_events(app, client, file_complaint, sign_in, n=5):
    file_complaint(categories=["force"])
    sign_in(Role.INVESTIGATOR)
    with app.app_context():
        complaint_id = db.session.scalars(select(Complaint.id)).one()
    for _ in range(n):
        client.get(f"/staff/complaints/{complaint_id}")


def test_audit_verify_passes_on_an_untouched_chain(app, client, file_complaint, sign_in, runner):
    _make_audit_events(app, client, file_complaint, sign_in)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact: 5 events" in result.output


def test_an_edited_audit_row_is_detected_and_named(app, client, file_complaint, sign_in, runner):
    _make_audit_events(app, client, file_complaint, sign_in)
    with app.app_context():
        db.session.execute(text("UPDATE audit_event SET action = 'complaint.nothing' WHERE id = 3"))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at event 3" in result.output and "changed" in result.output


def test_a_deleted_audit_row_is_detected_and_named(app, client, file_complaint, sign_in, runner):
    _make_audit_events(app, client, file_complaint, sign_in)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_event WHERE id = 2"))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at event 2" in result.output and "missing" in result.output


def test_a_rehashed_edit_is_still_caught_at_the_next_link(app, client, file_complaint, sign_in, runner):
    """Someone who edits a row and recomputes its own hash still breaks the link after it."""
    from survey.audit import chain_hash

    _make_audit_events(app, client, file_complaint, sign_in)
    with app.app_context():
        event = db.session.get(AuditEvent, 2)
        event.detail = {"forged": True}
        event.hash = chain_hash(event.prev_hash, event)
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "broken at event 3" in result.output


def test_rotate_key_reencrypts_everything_and_drops_the_old_key(app, client, file_complaint, follow, runner, tmp_path):
    code = file_complaint(narrative="Secret words", officers="Badge 12", contact_method="phone", contact_details="555-0199")
    follow(code)
    client.post("/complaints/status", data={"body": "A reply"})
    with app.app_context():
        old_keys = crypto.read_ring().keys
    result = runner.invoke(args=["complaints", "rotate-key"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        new_keys = crypto.read_ring().keys
        assert len(new_keys) == 1 and new_keys[0] not in old_keys
        complaint = db.session.scalars(select(Complaint)).one()
        assert crypto.decrypt(complaint.narrative_enc, Complaint.narrative_enc) == "Secret words"
        assert crypto.decrypt(complaint.officers_enc, Complaint.officers_enc) == "Badge 12"
        assert "555-0199" in crypto.decrypt(complaint.contact_enc, Complaint.contact_enc)
        assert crypto.decrypt(complaint.messages[0].body_enc, ComplaintMessage.body_enc) == "A reply"
        assert complaint.narrative_enc[1:5] == new_keys[0].id  # sealed under the new key, by its id
        crypto.write_ring(crypto.KeyRing(old_keys, []))
        with pytest.raises(crypto.KeyFileError):
            crypto.decrypt(complaint.narrative_enc, Complaint.narrative_enc)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_erase_contacts_after_retention_keeps_the_rest(app, agency, runner):
    from survey.models import Channel

    today = app_today()
    with app.app_context():
        app.config["RETENTION_DAYS"] = 365
        for ref, closed in (("C-1", today - dt.timedelta(days=400)), ("C-2", today - dt.timedelta(days=10)), ("C-3", None)):
            db.session.add(Complaint(
                agency_id=agency.id, reference=ref, receipt_hash=ref, channel=Channel.WEB, categories=["force"],
                received_on=today - dt.timedelta(days=500), wants_contact=True,
                status=ComplaintStatus.CLOSED if closed else ComplaintStatus.UNDER_REVIEW,
                disposition=Disposition.SUSTAINED if closed else None, closed_on=closed,
                narrative_enc=crypto.encrypt("story " + ref, Complaint.narrative_enc),
                contact_enc=crypto.encrypt('{"method": "phone", "details": "555"}', Complaint.contact_enc),
            ))
        db.session.commit()
    result = runner.invoke(args=["complaints", "erase-contacts"])
    assert result.exit_code == 0, result.output
    assert "Erased the contact details of 1 complaints" in result.output
    with app.app_context():
        rows = {c.reference: c for c in db.session.scalars(select(Complaint))}
        assert rows["C-1"].contact_enc is None and rows["C-1"].contact_erased_on == today
        assert crypto.decrypt(rows["C-1"].narrative_enc, Complaint.narrative_enc) == "story C-1"
        assert rows["C-1"].disposition == Disposition.SUSTAINED
        assert rows["C-2"].contact_enc is not None and rows["C-3"].contact_enc is not None


def test_leaving_the_follow_up_ends_it_for_a_replayed_cookie(app, client, file_complaint, follow):
    code = file_complaint(categories=["force"])
    follow(code)
    assert client.get("/complaints/status").status_code == 200
    saved = {cookie.key: cookie.value for cookie in client._cookies.values()}
    assert client.post("/complaints/follow-up/end").status_code == 303
    for key, value in saved.items():
        client.set_cookie(key, value, domain="localhost")
    replayed = client.get("/complaints/status")
    assert replayed.status_code == 303 and replayed.headers["Location"].endswith("/complaints/follow-up")
    # Entering the receipt code again opens it again.
    assert client.post("/complaints/follow-up", data={"code": code}).status_code == 303
    assert client.get("/complaints/status").status_code == 200
