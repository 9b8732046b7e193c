"""Small areas (neighborhoods or beats): given by the resident or by the invitation, kept on the
response like the stratum, and never left on a used invitation."""

from __future__ import annotations

from sqlalchemy import select

from survey.db import db
from survey.models import AreaKind, AreaSource, Invitation, Response, WaveArea
from tests.respond.conftest import LAST, enter, page_path

AREAS = ("Riverside", "Old Town", "Hillcrest")


def _areas():
    return [WaveArea(name=name, stratum="North", population=1000) for name in AREAS]


def _stored(app) -> Response:
    with app.app_context():
        (response,) = db.session.scalars(select(Response))
        db.session.expunge(response)
        return response


def test_a_resident_chooses_their_neighborhood_on_the_last_page(client, app, make_wave, make_invitation):
    wave = make_wave(area_kind=AreaKind.NEIGHBORHOOD, area_source=AreaSource.RESIDENT, areas=_areas())
    code = make_invitation(wave)
    enter(client, code)
    response = client.post(f"/survey/q/{LAST}", data={})
    assert page_path(response) == "/survey/q/neighborhood"
    html = client.get("/survey/q/neighborhood").get_data(as_text=True)
    assert "Which neighborhood of" in html
    for name in AREAS:
        assert name in html
    # Options are in name order: Hillcrest, Old Town, Riverside.
    response = client.post("/survey/q/neighborhood", data={"small_area": "2"})
    assert page_path(response) == "/survey/done"
    stored = _stored(app)
    assert stored.area == "Old Town" and stored.stratum == "North"


def test_a_beat_wave_asks_for_the_beat_and_the_question_can_be_skipped(client, app, make_wave, make_invitation):
    wave = make_wave(area_kind=AreaKind.BEAT, area_source=AreaSource.RESIDENT, areas=_areas())
    enter(client, make_invitation(wave))
    client.post(f"/survey/q/{LAST}", data={})
    assert "Which police beat of" in client.get("/survey/q/neighborhood").get_data(as_text=True)
    assert page_path(client.post("/survey/q/neighborhood", data={})) == "/survey/done"
    assert _stored(app).area is None


def test_the_invitation_sets_the_area_and_forgets_it_when_used(client, app, make_wave, make_invitation):
    wave = make_wave(area_kind=AreaKind.NEIGHBORHOOD, area_source=AreaSource.INVITATION, areas=_areas())
    code = make_invitation(wave, area="Hillcrest")
    unused = make_invitation(wave, area="Riverside")
    enter(client, code)
    response = client.post(f"/survey/q/{LAST}", data={})
    assert page_path(response) == "/survey/done"  # no area question: the letter gave it
    assert _stored(app).area == "Hillcrest"
    with app.app_context():
        invitations = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        used = [i for i in invitations if i.used]
        assert len(used) == 1 and used[0].area is None
        assert [i.area for i in invitations if not i.used] == ["Riverside"]
    assert unused


def test_waves_without_areas_store_none(client, app, wave, code):
    enter(client, code)
    assert page_path(client.post(f"/survey/q/{LAST}", data={})) == "/survey/done"
    assert _stored(app).area is None


def test_invitations_command_sets_the_area_of_its_codes(app, runner, make_wave):
    wave = make_wave(area_kind=AreaKind.NEIGHBORHOOD, area_source=AreaSource.INVITATION, areas=_areas())
    args = ["invitations", "create", "--wave", wave.slug, "--stratum", "North", "--count", "3"]
    result = runner.invoke(args=[*args, "--area", "Old Town"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert [i.area for i in db.session.scalars(select(Invitation))] == ["Old Town"] * 3
    result = runner.invoke(args=[*args, "--area", "Nowhere"])
    assert result.exit_code != 0 and "no small area 'Nowhere'" in result.output
    result = runner.invoke(args=["invitations", "create", "--wave", wave.slug, "--stratum", "South", "--count", "1",
                                 "--area", "Old Town"])
    assert result.exit_code != 0 and "Old Town lies in North, not South" in result.output
