"""Waves: create with validation, schedule, copy last quarter's wave, close early, publish."""

from __future__ import annotations

import datetime as dt

import pytest

from survey.db import db
from survey.models import Invitation, Role, Wave
from survey.models import today as app_today
from survey.staff.forms import next_quarter


def _version_id(app):
    from survey.models import InstrumentVersion

    with app.app_context():
        return db.session.query(InstrumentVersion).one().id


def _wave_data(app, **overrides):
    data = {
        "instrument_version": str(_version_id(app)), "title": "Community survey 2027 Q1", "slug": "2027-q1",
        "opens_on": "2027-01-08", "closes_on": "2027-03-18", "mode": "invitation",
        "languages": ["en"], "strata": "North, 31000\nSouth, 24000",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _wave(app, slug):
    from sqlalchemy.orm import selectinload

    with app.app_context():
        return db.session.query(Wave).options(selectinload(Wave.strata)).filter_by(slug=slug).one()


def test_create_a_scheduled_wave(app, client, sign_in):
    sign_in(Role.SURVEY_MANAGER)
    response = client.post("/staff/waves/new", data=_wave_data(app))
    assert response.status_code == 303 and response.headers["Location"].endswith("/staff/waves/2027-q1")
    wave = _wave(app, "2027-q1")
    assert wave.status(dt.date(2026, 12, 1)) == "scheduled"
    assert [(s.name, s.population) for s in wave.strata] == [("North", 31000), ("South", 24000)]
    assert client.get("/staff/waves/2027-q1").status_code == 200


@pytest.mark.parametrize(("overrides", "message"), [
    ({"slug": "2027 Q1"}, "Use only lower-case letters, digits and dashes"),
    ({"closes_on": "2026-12-01"}, "closing date must be on or after the opening date"),
    ({"languages": ["en", "es"]}, "is not approved: tick it under"),
    ({"languages": None}, "Choose at least one language"),
    ({"strata": "North"}, "Give every district"),
    ({"strata": "North, lots"}, "Line 1: the population of North must be a whole number"),
    ({"strata": ""}, "An invitation wave needs at least one district"),
    ({"opens_on": ""}, "Enter the date the wave opens"),
])
def test_wave_form_says_what_to_fix(app, client, sign_in, overrides, message):
    sign_in(Role.SURVEY_MANAGER)
    response = client.post("/staff/waves/new", data=_wave_data(app, **overrides))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_draft_language_needs_explicit_acceptance_and_shows_a_warning(app, client, sign_in):
    sign_in(Role.SURVEY_MANAGER)
    html = client.get("/staff/waves/new").get_data(as_text=True)
    assert "Warning:" in html and "Spanish" in html
    response = client.post("/staff/waves/new", data=_wave_data(app, languages=["en", "es"], accept_drafts=["es"]))
    assert response.status_code == 303
    wave = _wave(app, "2027-q1")
    assert wave.languages == ["en", "es"] and wave.accepted_draft_languages == ["es"]
    assert "draft translation accepted" in client.get("/staff/waves/2027-q1").get_data(as_text=True)


def test_duplicate_slug_is_refused(app, client, sign_in, make_wave):
    make_wave(slug="2027-q1")
    sign_in(Role.SURVEY_MANAGER)
    html = client.post("/staff/waves/new", data=_wave_data(app)).get_data(as_text=True)
    assert "Another wave already has this short name" in html


def test_copy_the_last_wave_moves_everything_one_quarter(app, client, sign_in, make_wave):
    make_wave(status="closed", slug="2026-q2", opens_on=dt.date(2026, 4, 8), closes_on=dt.date(2026, 6, 17))
    make_wave(slug="2026-q3", title="Community survey 2026 Q3", opens_on=dt.date(2026, 7, 8), closes_on=dt.date(2026, 9, 30))
    sign_in(Role.SURVEY_MANAGER)
    html = client.get("/staff/waves/copy").get_data(as_text=True)
    assert 'value="2026-q4"' in html and 'value="Community survey 2026 Q4"' in html
    assert 'value="2026-10-08"' in html and 'value="2026-12-31"' in html
    assert "North, 10000" in html


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2026, 1, 31), dt.date(2026, 4, 30)),
    (dt.date(2026, 11, 30), dt.date(2027, 2, 28)),
    (dt.date(2026, 10, 8), dt.date(2027, 1, 8)),
])
def test_next_quarter(day, expected):
    assert next_quarter(day) == expected


def test_wave_in_the_field_keeps_its_instrument(app, client, sign_in, make_wave):
    wave = make_wave(status="open")
    sign_in(Role.SURVEY_MANAGER)
    html = client.get(f"/staff/waves/{wave.slug}/edit").get_data(as_text=True)
    assert "its questionnaire cannot change" in html
    assert 'name="instrument_version"' not in html
    data = _wave_data(app, slug=wave.slug, title="Renamed", instrument_version="999",
                      opens_on=wave.opens_on.isoformat(), closes_on=wave.closes_on.isoformat(), strata="North, 10000\nSouth, 10000",
                      languages=["en", "es"], accept_drafts=["es"])
    assert client.post(f"/staff/waves/{wave.slug}/edit", data=data).status_code == 303
    stored = _wave(app, wave.slug)
    assert stored.title == "Renamed" and stored.instrument_version_id == wave.instrument_version_id


def test_scheduled_wave_with_invitations_is_in_the_field(app, client, sign_in, make_wave):
    wave = make_wave(status="scheduled")
    with app.app_context():
        db.session.add(Invitation(wave_id=wave.id, code_hash="x" * 64, stratum="North"))
        db.session.commit()
    sign_in(Role.SURVEY_MANAGER)
    assert "its questionnaire cannot change" in client.get(f"/staff/waves/{wave.slug}/edit").get_data(as_text=True)


def test_close_early(app, client, sign_in, make_wave):
    wave = make_wave(status="open")
    sign_in(Role.SURVEY_MANAGER)
    assert client.post(f"/staff/waves/{wave.slug}/close").status_code == 303
    stored = _wave(app, wave.slug)
    assert stored.closed_early_on == app_today()
    assert stored.status(app_today() + dt.timedelta(days=1)) == "closed"


def test_publish_only_after_closing(app, client, sign_in, make_wave):
    open_wave, closed_wave = make_wave(status="open"), make_wave(status="closed")
    sign_in(Role.ADMIN)
    client.post(f"/staff/waves/{open_wave.slug}/publish", data={"published": "y"})
    assert not _wave(app, open_wave.slug).published
    client.post(f"/staff/waves/{closed_wave.slug}/publish", data={"published": "y"})
    assert _wave(app, closed_wave.slug).published
    client.post(f"/staff/waves/{closed_wave.slug}/publish", data={})
    assert not _wave(app, closed_wave.slug).published


def test_instruments_page_shows_review_status(client, sign_in, agency):
    sign_in(Role.SURVEY_MANAGER)
    html = client.get("/staff/instruments").get_data(as_text=True)
    assert "core-trust" in html and "Approved" in html and "Draft: not checked by a fluent speaker" in html
