"""The adversary with the database files, backups, logs and keys, but no resident's cookie,
against the survey: a snapshot at every step ties no response to its invitation, and a sentence
written in an unfinished survey never reaches the files. Each attack is first shown catching the
old scheme (plain drafts, dated invitations), so a pass means something."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time

import pytest
from sqlalchemy import select

from survey import models
from survey.db import db
from survey.models import Agency, Invitation
from survey.security import keyed_hash, normalize_code
from tests.privacy import Snapshot, links, take_snapshot, time_traces
from tests.respond.conftest import LAST, enter, page_path

MONDAY = dt.datetime(2026, 11, 23, 10, 5, 0, tzinfo=dt.UTC)
WEDNESDAY = dt.datetime(2026, 11, 25, 14, 37, 52, tzinfo=dt.UTC)
DRAFT_MARKER = "Quillfeather zephyr says the night patrol on Ostrander Lane never stops"


@pytest.fixture
def november_wave(make_wave):
    return make_wave(opens_on=dt.date(2026, 11, 1), closes_on=dt.date(2026, 12, 31))


def _at(monkeypatch, instant: dt.datetime) -> None:
    """The app's clock and the system clock both read ``instant``."""
    monkeypatch.setattr(models, "clock", lambda: instant)
    monkeypatch.setattr(time, "time", lambda: instant.timestamp())


def _invitation(app, code: str) -> dict:
    with app.app_context():
        row = db.session.execute(
            Invitation.__table__.select().where(Invitation.code_hash == keyed_hash("invitation", normalize_code(code)))
        ).mappings().one()
        return dict(row)


# ------------------------------------------------------------------ the attacks can fail


def test_the_join_attack_catches_the_old_scheme():
    """What the code before this change stored: a plain draft naming its invitation, and the day
    the code was used. Every join finds the response."""
    nov23, nov25 = dt.date(2026, 11, 23), dt.date(2026, 11, 25)
    mine = {"id": 1, "wave_id": 1, "stratum": "North", "created_on": dt.date(2026, 11, 1), "started_on": nov25, "used_on": nov25}
    other = {"id": 2, "wave_id": 1, "stratum": "North", "created_on": dt.date(2026, 11, 1), "started_on": nov23, "used_on": nov23}
    responses = [{"id": "r-mine", "wave_id": 1, "stratum": "North", "submitted_on": nov25},
                 {"id": "r-other", "wave_id": 1, "stratum": "North", "submitted_on": nov23}]
    answers = [{"response_id": "r-mine", "item_key": "top_issue", "ordinal": 0, "code": None, "text": "Speeding"},
               {"response_id": "r-other", "item_key": "top_issue", "ordinal": 0, "code": None, "text": "Noise"}]
    before = Snapshot([mine | {"used_on": None}, other], responses[1:], answers[1:],
                      [{"id": "d", "wave_id": 1, "invitation_id": 1, "stratum": "North",
                        "answers": {"top_issue": "Speeding", "_at": "voice"}}])
    assert links(before, mine) == ["draft: a draft names the invitation"]
    # A snapshot taken in the same second as the commit still holds the draft (or the -wal does).
    during = Snapshot([mine, other], responses, answers, before.drafts)
    found = links(during, mine)
    assert "date: invitation.used_on = response.submitted_on" in found
    assert "answers: the draft's answers match one response" in found
    # Even with flags instead of dates: the only used code of a district and its only response.
    flagged = {"id": 1, "wave_id": 1, "stratum": "North", "created_on": dt.date(2026, 11, 1), "used": True}
    alone = Snapshot([flagged], responses[:1], answers[:1], [])
    assert links(alone, flagged) == ["stratum: the only response of the only used code in its district"]


def test_the_file_search_finds_a_plain_draft_and_a_deleted_row_without_secure_delete(tmp_path):
    path = tmp_path / "plain.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA secure_delete=OFF")
    conn.execute("CREATE TABLE survey_draft (id TEXT PRIMARY KEY, answers TEXT)")
    conn.execute("INSERT INTO survey_draft VALUES ('d', ?)", (f'{{"top_issue": "{DRAFT_MARKER}"}}',))
    conn.execute("DELETE FROM survey_draft")
    in_wal = b"".join(p.read_bytes() for p in tmp_path.glob("plain.sqlite3*"))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    in_file = path.read_bytes()
    assert DRAFT_MARKER.encode() in in_wal, "a deleted draft stays in the -wal"
    assert DRAFT_MARKER.encode() in in_file, "without secure_delete, a deleted draft stays in a free page"


def test_the_time_search_finds_a_timestamp_in_a_draft_expiry():
    """The old draft kept its expiry to the hour: even that coarse time is a trace."""
    expiry = (WEDNESDAY.replace(minute=0, second=0) + dt.timedelta(hours=5)).isoformat().encode()
    assert time_traces(WEDNESDAY + dt.timedelta(hours=5), expiry)


# ------------------------------------------------------------------ the attacks against the app


def _walk_with_snapshots(app, client, code: str, monkeypatch) -> list[tuple[str, Snapshot]]:
    snapshots: list[tuple[str, Snapshot]] = []

    def snap(step: str) -> None:
        snapshots.append((step, take_snapshot(app)))

    _at(monkeypatch, WEDNESDAY)
    assert page_path(enter(client, code)) == "/survey/q/safety"
    snap("code entered")
    assert client.post("/survey/q/safety", data={"safety_feel": "8", "safety_community": "1"}).status_code == 303
    snap("page safety")
    assert client.post("/survey/q/trust", data={"trust_agency": "6"}).status_code == 303
    snap("page trust")
    assert client.post("/survey/q/voice", data={"top_issue": DRAFT_MARKER}).status_code == 303
    snap("page voice, marker written")
    # Back to the page, the marker replaced by another answer.
    assert DRAFT_MARKER in client.get("/survey/q/voice").get_data(as_text=True)
    assert client.post("/survey/q/voice", data={"top_issue": "Speeding near the school"}).status_code == 303
    snap("page voice, marker replaced")
    client.get(f"/survey/q/{LAST}")
    snap("just before submitting")
    assert page_path(client.post(f"/survey/q/{LAST}", data={"age_band": "3"})) == "/survey/done"
    snap("just after submitting")
    return snapshots


def test_no_snapshot_of_a_survey_ties_its_response_to_its_invitation(app, client, november_wave, make_invitation,
                                                                    monkeypatch):
    # Someone else in the district answered on Monday of the same week.
    other = make_invitation(november_wave, stratum="North")
    _at(monkeypatch, MONDAY)
    other_client = app.test_client()
    assert page_path(enter(other_client, other)) == "/survey/q/safety"
    assert page_path(other_client.post(f"/survey/q/{LAST}", data={"age_band": "2"})) == "/survey/done"
    make_invitation(november_wave, stratum="North")  # and a letter nobody answered

    code = make_invitation(november_wave, stratum="North")
    snapshots = _walk_with_snapshots(app, client, code, monkeypatch)
    with app.app_context():
        zone = app.config["TIMEZONE"]
    mine = _invitation(app, code)
    assert mine["used"] and len(snapshots[-1][1].responses) == 2, "the walk really submitted"
    for step, snapshot in snapshots:
        assert links(snapshot, mine) == [], step
        assert DRAFT_MARKER.encode() not in snapshot.raw, f"the draft's sentence is in the files at: {step}"
        assert time_traces(WEDNESDAY, snapshot.raw, zone) == [], step
    # The draft really was there while answering, and the resident's cookie opens it.
    assert len(snapshots[3][1].drafts) == 1 and snapshots[-1][1].drafts == []


def test_an_abandoned_draft_leaves_its_sentence_nowhere(app, client, november_wave, make_invitation, monkeypatch):
    code = make_invitation(november_wave, stratum="South")
    _at(monkeypatch, WEDNESDAY)
    enter(client, code)
    client.post("/survey/q/voice", data={"top_issue": DRAFT_MARKER})
    assert DRAFT_MARKER not in take_snapshot(app).raw.decode("latin-1")
    # Coming back on the same phone still shows it: only the cookie opens the draft.
    _at(monkeypatch, WEDNESDAY + dt.timedelta(hours=3))
    assert DRAFT_MARKER in client.get("/survey/q/voice").get_data(as_text=True)
    # After the draft's four hours nobody can open it, the resident included.
    _at(monkeypatch, WEDNESDAY + dt.timedelta(hours=4, minutes=1))
    assert page_path(client.get("/survey/q/voice")) == "/survey/"


def test_a_deleted_row_leaves_no_copy_in_the_sqlite_files(app, agency, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps dead tuples until VACUUM; a pg_dump never holds them (SECURITY.md)")
    with app.app_context():
        session = db.write()
        session.get(Agency, agency.id).address = DRAFT_MARKER
        session.commit()
        session = db.write()
        session.get(Agency, agency.id).address = None
        session.commit()
        db.checkpoint()
    files = take_snapshot(app).raw
    assert DRAFT_MARKER.encode() not in files


def test_every_draft_is_sealed_under_its_own_cookie(app, november_wave, make_invitation):
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        enter(c, make_invitation(november_wave))
    with app.app_context():
        from survey.models import SurveyDraft
        from survey.respond.flow import DraftRow

        rows = db.session.scalars(select(SurveyDraft)).all()
        tokens = [c.get_cookie("survey_draft", path="/survey/").value for c in clients]
        opened = [[DraftRow.opened(t, r.id, r.wave_id, r.sealed) is not None for r in rows] for t in tokens]
        assert sorted(opened) == [[False, True], [True, False]], "a cookie opens only its own draft"
