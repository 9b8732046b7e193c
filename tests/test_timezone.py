"""SURVEY_TIMEZONE: every date the platform records is the agency's calendar day, and staff pages
show times in the agency's zone; without the setting everything stays in UTC.

The clock is set, never waited for: 2026-11-30 03:00 UTC is 9 pm on Sunday 29 November in Chicago.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from survey import models
from survey.config import ConfigError, from_environment
from survey.db import db
from survey.instrument_i18n import read_instrument, write_export
from survey.models import Complaint, Invitation, Response, Role, Wave, week_of
from survey.staff.invitations import generate
from tests.conftest import ROOT, make_test_app
from tests.pagetext import history
from tests.respond.conftest import LAST, enter, page_path

CHICAGO = "America/Chicago"
EVENING = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)  # 9 pm on Nov 29 in Chicago
NEW_YEARS_EVE = dt.datetime(2027, 1, 1, 2, 0, tzinfo=dt.UTC)  # 8 pm on Dec 31 in Chicago
NOV_29, NOV_30 = dt.date(2026, 11, 29), dt.date(2026, 11, 30)
CORE = ROOT / "instruments" / "core-trust.v1.toml"


def set_clock(monkeypatch: pytest.MonkeyPatch, instant: dt.datetime) -> None:
    monkeypatch.setattr(models, "clock", lambda: instant)


@pytest.fixture
def zone() -> str:
    return CHICAGO


@pytest.fixture
def app(database_url: str, tmp_path: Path, zone: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app in ``zone`` (a test may parametrize it) with the clock at ``EVENING``."""
    monkeypatch.setattr(models, "_zone", models._zone)  # create_app sets it for the process: put it back
    set_clock(monkeypatch, EVENING)
    app = make_test_app(database_url, tmp_path, TIMEZONE=zone)
    yield app
    app.extensions["survey.db"]["engine"].dispose()


def _invitation_code(app: Flask, wave: Wave) -> str:
    with app.app_context():
        (issued,) = generate(db.session.get(Wave, wave.id), "North", 1, 0.02)
        db.session.commit()
    return issued.code


@pytest.mark.parametrize(("zone", "day"), [(CHICAGO, NOV_29), ("UTC", NOV_30)])
def test_today_is_the_calendar_day_in_the_zone(app, zone, day):
    assert models.today() == day
    assert models.utcnow() == EVENING  # instants stay UTC


def test_a_wave_closes_at_the_agencys_midnight(app, make_wave, monkeypatch):
    wave = make_wave(opens_on=dt.date(2026, 11, 1), closes_on=NOV_29)
    set_clock(monkeypatch, dt.datetime(2026, 11, 30, 5, 59, tzinfo=dt.UTC))  # 11:59 pm in Chicago
    assert wave.is_open()
    set_clock(monkeypatch, dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC))  # midnight in Chicago
    assert not wave.is_open() and wave.status() == "closed"


def test_a_survey_sent_on_the_last_evening_is_accepted_and_dated_that_day(app, client, make_wave):
    wave = make_wave(opens_on=dt.date(2026, 11, 1), closes_on=NOV_29)
    code = _invitation_code(app, wave)
    assert page_path(enter(client, code)) == "/survey/q/safety"
    client.post("/survey/q/safety", data={"safety_feel": "8", "safety_community": "1"})
    assert page_path(client.post(f"/survey/q/{LAST}", data={"education": "3"})) == "/survey/done"
    with app.app_context():
        (response,) = db.session.scalars(select(Response)).all()
        invitation = db.session.scalars(select(Invitation)).one()
        assert response.submitted_on == week_of(NOV_29)  # the week in the agency's zone, not UTC's
        assert invitation.created_on == NOV_29 and invitation.started and invitation.used
        assert invitation.batch.startswith("2026-11-29-")


@pytest.mark.parametrize("zone", ["UTC"])
def test_in_utc_the_same_evening_is_already_the_next_day(app, client, make_wave):
    wave = make_wave(opens_on=dt.date(2026, 11, 1), closes_on=NOV_29)
    code = _invitation_code(app, wave)
    response = enter(client, code)
    assert response.status_code == 400
    assert "There is no survey open right now" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("zone", "instant", "received", "reference"),
    [
        (CHICAGO, EVENING, NOV_29, "C-2026-0001"),
        ("UTC", EVENING, NOV_30, "C-2026-0001"),
        (CHICAGO, NEW_YEARS_EVE, dt.date(2026, 12, 31), "C-2026-0001"),
        ("UTC", NEW_YEARS_EVE, dt.date(2027, 1, 1), "C-2027-0001"),
    ],
)
def test_a_complaint_is_received_on_the_agencys_day(app, client, agency, monkeypatch, instant, received, reference):
    set_clock(monkeypatch, instant)
    response = client.post("/complaints/new", data={"categories": ["force"], "contact_method": "none"})
    assert response.status_code == 303
    with app.app_context():
        complaint = db.session.scalars(select(Complaint)).one()
        assert (complaint.received_on, complaint.reference) == (received, reference)


@pytest.mark.parametrize(
    ("zone", "date", "time", "header"),
    [(CHICAGO, "Nov 29, 2026", "9:00 PM", "Time (America/Chicago)"), ("UTC", "Nov 30, 2026", "3:00 AM", "Time (UTC)")],
)
def test_staff_see_times_in_the_agencys_zone(app, client, agency, sign_in, date, time, header):
    client.post("/complaints/new", data={"categories": ["force"], "contact_method": "none"})
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    with app.app_context():
        complaint = db.session.scalars(select(Complaint)).one()
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    ((row_date, row_time, who, what),) = history(page).rows
    assert (row_date, who, what) == (date, "Robin Park", "Viewed")
    assert re.fullmatch(time.replace(" ", r"\s"), row_time), row_time
    assert header in page
    assert f"<dt>Received</dt><dd>{date} " in page  # the received date and the time agree on the day


def test_a_translation_reviewed_in_the_evening_is_dated_that_day(app, tmp_path):
    toml = tmp_path / CORE.name
    shutil.copy(CORE, toml)
    (po,) = write_export(read_instrument(toml), "po", tmp_path / "po", ["fr"])
    result = app.test_cli_runner().invoke(args=[
        "instruments", "import-texts", str(toml), str(po), "--status", "reviewed", "--reviewer", "Camille Martin",
    ])
    assert result.exit_code == 0, result.output
    assert tomllib.loads(toml.read_text(encoding="utf-8"))["languages"]["fr"]["reviewed_on"] == "2026-11-29"


@pytest.mark.parametrize("name", ["Mars/Olympus", "america/chicago", "Central", "localtime", ""])
def test_an_unknown_zone_refuses_to_start(tmp_path, monkeypatch, name):
    with pytest.raises(ConfigError, match="SURVEY_TIMEZONE=.*America/Chicago"):
        from_environment(tmp_path, environ={"SURVEY_TIMEZONE": name})
    monkeypatch.setenv("SURVEY_TIMEZONE", name)
    with pytest.raises(ConfigError, match="SURVEY_TIMEZONE"):
        make_test_app(f"sqlite:///{tmp_path / 'never.sqlite3'}", tmp_path)


def test_the_zone_is_utc_unless_set(tmp_path):
    config = from_environment(tmp_path, environ={})
    assert config["TIMEZONE"] == config["BABEL_DEFAULT_TIMEZONE"] == "UTC"
    config = from_environment(tmp_path, environ={"SURVEY_TIMEZONE": CHICAGO})
    assert config["TIMEZONE"] == config["BABEL_DEFAULT_TIMEZONE"] == CHICAGO
