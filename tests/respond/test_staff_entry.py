"""Survey managers key in paper and phone questionnaires with the web survey's instrument and rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Invitation, Response, Role, Sample
from tests.respond.conftest import errors_of, page_path


def _stored(app) -> list[Response]:
    with app.app_context():
        rows = db.session.scalars(select(Response)).all()
        for row in rows:
            _ = row.answers
        return rows


@pytest.mark.parametrize("role", [None, Role.ANALYST, Role.INVESTIGATOR, Role.ADMIN])
def test_only_survey_managers_may_key_in(client, sign_in, wave, role):
    if role is not None:
        sign_in(role)
    for path in ("/staff/survey-entry/", f"/staff/survey-entry/{wave.slug}"):
        response = client.get(path)
        assert response.status_code == (302 if role is None else 403), path


def test_a_paper_questionnaire_with_its_code_uses_the_code(client, app, sign_in, wave, make_invitation):
    sign_in(Role.SURVEY_MANAGER)
    assert "Key in questionnaires" in client.get("/staff/").get_data(as_text=True)
    assert wave.title in client.get("/staff/survey-entry/").get_data(as_text=True)
    code = make_invitation(wave, stratum="South", probability=0.04)
    form = client.get(f"/staff/survey-entry/{wave.slug}").get_data(as_text=True)
    assert 'name="contact_any"' in form and 'name="top_issue"' in form
    data = {"channel": "paper", "language": "es", "stratum": "North", "code": code.lower(),
            "safety_feel": "4", "contact_any": "9", "contact_respect": "1"}
    response = client.post(f"/staff/survey-entry/{wave.slug}", data=data)
    assert page_path(response) == f"/staff/survey-entry/{wave.slug}"
    (stored,) = _stored(app)
    assert stored.channel == "paper" and stored.language == "es"
    assert stored.stratum == "South"  # the code's stratum wins over the one chosen
    assert stored.selection_probability == pytest.approx(0.04) and stored.sample == Sample.PROBABILITY
    # Skip logic applies as on the web: no contact, so the follow-up is not kept.
    assert {(a.item_key, a.code) for a in stored.answers} == {("safety_feel", 4), ("contact_any", 9)}
    with app.app_context():
        assert db.session.scalars(select(Invitation)).one().used
    # The same code again is refused on its field, and everything typed is kept.
    again = client.post(f"/staff/survey-entry/{wave.slug}", data=data)
    assert again.status_code == 200
    html = again.get_data(as_text=True)
    assert len(errors_of(html)) == 1 and 'id="code-error"' in html
    assert 'value="4" checked' in html
    assert len(_stored(app)) == 1


def test_a_phone_questionnaire_without_a_code_takes_the_chosen_stratum(client, app, sign_in, wave, make_invitation):
    make_invitation(wave, stratum="North", probability=0.03)
    sign_in(Role.SURVEY_MANAGER)
    response = client.post(f"/staff/survey-entry/{wave.slug}",
                           data={"channel": "phone", "language": "en", "stratum": "North", "trust_agency": "-9"})
    assert response.status_code == 303
    (stored,) = _stored(app)
    assert stored.channel == "phone" and stored.stratum == "North"
    assert stored.selection_probability == pytest.approx(0.03)
    assert [(a.item_key, a.code) for a in stored.answers] == [("trust_agency", -9)]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "web", "language": "en"}, "channel"),
        ({"channel": "paper", "language": "zz"}, "language"),
        ({"channel": "paper", "language": "en", "stratum": "Nowhere"}, "stratum"),
        ({"channel": "paper", "language": "en", "safety_feel": "11"}, "safety_feel"),
        ({"channel": "paper", "language": "en", "contact_any": ["9", "1"]}, "contact_any"),
        ({"channel": "paper", "language": "en", "top_issue": "x" * 501}, "top_issue"),
    ],
)
def test_keyed_entry_validates_like_the_web(client, app, sign_in, wave, data, field):
    sign_in(Role.SURVEY_MANAGER)
    response = client.post(f"/staff/survey-entry/{wave.slug}", data={**data, "safety_community": "2"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    if field != "safety_community":
        assert 'name="safety_community" value="2" checked' in html
    assert _stored(app) == []


def test_an_unknown_wave_is_not_found(client, sign_in, wave):
    sign_in(Role.SURVEY_MANAGER)
    assert client.get("/staff/survey-entry/no-such-wave").status_code == 404
