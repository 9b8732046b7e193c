"""Getting in: typed and QR-linked access codes, one message for every bad code, throttling, open links."""

from __future__ import annotations

import html as htmllib

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import Invitation, Response, Sample, SurveyDraft, WaveMode
from survey.models import today as app_today
from tests.respond.conftest import LAST, enter, errors_of, open_draft, page_path


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("mess", [str.lower, lambda c: c.replace("-", ""), lambda c: " " + c.replace("-", " - ") + " ",
                                  lambda c: c.lower().replace("-", "  ")])
def test_a_good_code_typed_messily_gets_in(client, app, code, mess):
    response = enter(client, mess(code))
    assert response.status_code == 303
    assert page_path(response) == "/survey/q/safety"
    assert client.get("/survey/q/safety").status_code == 200
    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.started and not invitation.used
        draft = db.session.scalars(select(SurveyDraft)).one()
        # The row keeps a day to purge it after; what it holds opens only with the cookie.
        assert draft.purge_after >= app_today() and b"North" not in draft.sealed and b"invitation" not in draft.sealed
        opened = open_draft(client)
        assert opened.invitation_id == invitation.id and opened.stratum == "North"


def test_a_qr_link_binds_the_code_and_drops_it_from_the_url(client, code):
    response = client.get(f"/survey/start?code={code}")
    assert response.status_code == 303
    assert page_path(response) == "/survey/"
    assert code not in response.headers["Location"] and "code" not in response.headers["Location"]
    page = client.get("/survey/")
    assert code.replace("-", "") in page.get_data(as_text=True)  # pre-filled in the form, not the URL
    response = enter(client, code.replace("-", ""))
    assert response.status_code == 303
    assert "code" not in response.headers["Location"].lower()


def _bad_code_error(client, typed: str) -> tuple[int, list[str]]:
    response = enter(client, typed)
    return response.status_code, tuple(errors_of(response.get_data(as_text=True)))


def test_used_unknown_malformed_and_expired_codes_get_the_same_message(client, app, make_wave, make_invitation, wave):
    used = make_invitation(wave, used=True)
    closed = make_invitation(make_wave(status="closed"))
    scheduled = make_invitation(make_wave(status="scheduled"))
    unknown = "ABCDE-FGHJK-MNPQR"
    malformed = ["O0O0O-1111L-LLLLL", "ABC", "ABCDE-FGHJK-MNPQR-STVWX", "ÄBCDE-FGHJK-MNPQR", "<script>"]
    outcomes = {_bad_code_error(client, typed) for typed in [used, closed, scheduled, unknown, *malformed]}
    assert len(outcomes) == 1, outcomes
    status, errors = outcomes.pop()
    assert status == 400 and len(errors) == 1
    assert "could not accept" in errors[0]
    assert _count(app, SurveyDraft) == 0


def test_the_bad_code_message_is_in_the_residents_language(client, code):
    client.post("/language", data={"lang": "es", "next": "/survey/"})
    response = enter(client, "ABCDE-FGHJK-MNPQR")
    page = response.get_data(as_text=True)
    assert 'lang="es"' in page
    # Whatever the translation status, the page says it in one message on the code field.
    assert len(errors_of(page)) == 1


def test_an_empty_code_asks_for_the_code(client, code):
    response = enter(client, "   ")
    assert response.status_code == 400
    assert errors_of(response.get_data(as_text=True)) == ["Enter the access code from your letter"]


def test_code_attempts_are_throttled_per_client_even_with_a_new_session(client, app, code):
    for _ in range(app.config["THROTTLE_RULES"]["access_code"].per_address):
        assert enter(client, "ABCDE-FGHJK-MNPQR").status_code == 400
    response = enter(client, code)  # even a good code waits out the window
    assert response.status_code == 429
    assert "Too many" in response.get_data(as_text=True)
    fresh = app.test_client()  # no cookies: only the keyed-hash bucket remembers this client
    assert enter(fresh, code).status_code == 429
    with app.app_context():
        from survey.models import ThrottleBucket

        keys = db.session.scalars(select(ThrottleBucket.key)).all()
    assert keys and all("127.0.0.1" not in key and len(key) == 64 for key in keys)


def test_a_used_code_on_a_second_phone_is_refused_at_submit(client, app, code):
    other = app.test_client()
    assert enter(client, code).status_code == 303
    assert enter(other, code).status_code == 303  # started but unused: a second phone may start
    assert page_path(client.post(f"/survey/q/{LAST}", data={"education": "2"})) == "/survey/done"
    response = other.post(f"/survey/q/{LAST}", data={"education": "3"})
    assert page_path(response) == "/survey/code-used"
    assert other.get("/survey/code-used").status_code == 200
    assert _count(app, Response) == 1
    assert _count(app, SurveyDraft) == 0


def test_an_open_link_wave_needs_no_code_and_is_flagged_non_probability(client, app, make_wave):
    wave = make_wave(mode=WaveMode.OPEN_LINK, strata=("East", "West"))
    start = client.get("/survey/")
    assert f"/survey/open/{wave.slug}" in start.get_data(as_text=True)
    response = client.post(f"/survey/open/{wave.slug}")
    assert page_path(response) == "/survey/q/safety"
    area = client.get("/survey/q/area").get_data(as_text=True)
    assert "Which area of Testville do you live in?" in htmllib.unescape(area)
    assert page_path(client.post("/survey/q/area", data={"stratum_area": "2"})) == "/survey/done"
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.sample == Sample.NONPROBABILITY
        assert stored.selection_probability is None
        assert stored.stratum == "West"
        assert stored.channel == "web"
        assert "stratum_area" not in {a.item_key for a in stored.answers}


def test_an_unknown_open_link_is_not_found(client, wave):
    assert client.post("/survey/open/nope").status_code == 404


def test_no_open_wave_says_so(client, make_wave):
    make_wave(status="closed")
    page = client.get("/survey/").get_data(as_text=True)
    assert "There is no survey open right now" in page
    assert 'name="code"' not in page
