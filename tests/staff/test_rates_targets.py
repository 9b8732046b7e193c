"""Response rates (AAPOR RR1/RR2 for a mailed sample) and population target import."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from survey.db import db
from survey.models import Invitation, InvitationStatus, PopulationTarget, Role, WaveMode
from survey.models import today as app_today
from survey.rates import Rates


def test_rates_formulas():
    r = Rates("North", invited=100, completes=20, partials=5, undeliverable=10)
    assert r.eligible == 90 and r.no_reply == 65
    assert r.rr1 == pytest.approx(20 / 90) and r.rr2 == pytest.approx(25 / 90)
    assert Rates(None, 0, 0, 0, 0).rr1 is None


def test_rates_page_per_wave_and_stratum(app, client, sign_in, make_wave, add_response):
    wave = make_wave(status="open")
    today = app_today()
    with app.app_context():
        rows = (
            [("North", True, True, InvitationStatus.SENT)] * 3
            + [("North", True, False, InvitationStatus.SENT)] * 2
            + [("North", False, False, InvitationStatus.UNDELIVERABLE)] * 1
            + [("North", False, False, InvitationStatus.SENT)] * 4
            + [("South", False, False, InvitationStatus.SENT)] * 10
        )
        for n, (stratum, started, used, status) in enumerate(rows):
            db.session.add(Invitation(wave_id=wave.id, code_hash=f"{n:064d}", stratum=stratum, status=status,
                                      started=started, used=used, selection_probability=0.001))
        db.session.commit()
    for _ in range(3):
        add_response(wave, {"trust_agency": 5}, submitted_on=today - dt.timedelta(days=2))
    sign_in(Role.ANALYST)
    html = client.get(f"/staff/waves/{wave.slug}/rates").get_data(as_text=True)
    assert "3 completes of 20 invitations sent." in html
    # North: 10 invited, 1 undeliverable -> 9 eligible; RR1 3/9, RR2 5/9. All: 19 eligible.
    assert "33.3%" in html and "55.6%" in html and "15.8%" in html and "26.3%" in html
    assert "<progress" in html and "Responses received per week" in html and "Week starting" in html


def test_open_link_waves_show_counts_not_rates(app, client, sign_in, make_wave, add_response):
    wave = make_wave(status="open", mode=WaveMode.OPEN_LINK)
    add_response(wave, {"trust_agency": 5}, probability=None)
    sign_in(Role.SURVEY_MANAGER)
    html = client.get(f"/staff/waves/{wave.slug}/rates").get_data(as_text=True)
    assert "1 response so far." in html and "RR1" not in html


GOOD = """variable,category,stratum,population
age_band,1,,100
age_band,2,,900
sex,1,,505
sex,2,,495
race_eth,hispanic,,300
race_eth,other,,700
district,North,,600
district,South,,400
"""


def test_targets_import_and_show(app, client, sign_in, make_wave):
    make_wave()
    sign_in(Role.ANALYST)
    response = client.post("/staff/targets", data={"text": GOOD, "source": "ACS 2019-2023"})
    assert response.status_code == 303
    with app.app_context():
        rows = db.session.query(PopulationTarget).all()
        assert len(rows) == 8 and {r.source for r in rows} == {"ACS 2019-2023"}
    html = client.get("/staff/targets").get_data(as_text=True)
    # By their labels, not variable names and codes.
    assert "race_eth" not in html and "Hispanic" in html
    upload = (io.BytesIO(GOOD.replace("age_band,2,,900", "age_band,2,,899").encode("utf-8-sig")), "targets.csv")
    assert client.post("/staff/targets", data={"upload": upload}, content_type="multipart/form-data").status_code == 303


@pytest.mark.parametrize(("csv_text", "message"), [
    ("var,cat\nage_band,1", "Row 1: the first row must be the header variable,category,stratum,population"),
    (GOOD + "income,1,,5\n", "Row 10: unknown variable income"),
    (GOOD + "age_band,9,,5\n", "Row 10: age_band has no category 9; use one of 1, 2, 3, 4, 5, 6"),
    (GOOD + "sex,3,,5\n", "Row 10: sex has no category 3"),
    (GOOD + "race_eth,latino,,5\n", "Row 10: race_eth has no category latino; use one of hispanic, white, black, asian, other"),
    (GOOD + "district,East,,5\n", "Row 10: district has no category East; use one of North, South"),
    (GOOD + "age_band,3,Nowhere,5\n", "Row 10: unknown stratum Nowhere"),
    (GOOD + "age_band,3,,lots\n", "Row 10: the population lots is not a number of 0 or more"),
    (GOOD + "age_band,1,,5\n", "Row 10: age_band 1 is already given in row 2"),
    (GOOD.replace("sex,2,,495", "sex,2,,395"), "Rows 4 to 5 (sex) add up to 900, but rows 2 to 3 (age_band) add up to 1,000"),
])
def test_targets_validation_names_the_row_and_the_reason(app, client, sign_in, make_wave, csv_text, message):
    make_wave()
    sign_in(Role.SURVEY_MANAGER)
    response = client.post("/staff/targets", data={"text": csv_text})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html, html[html.find("error-summary"):][:800]
    with app.app_context():
        assert db.session.query(PopulationTarget).count() == 0, "nothing is imported when a row is wrong"


def test_dashboard_tells_each_role_where_things_stand(app, client, sign_in, make_wave):
    from tests.pagetext import text_of

    wave = make_wave(status="open")
    sign_in(Role.SURVEY_MANAGER, Role.ADMIN, Role.ANALYST)
    page = text_of(client.get("/staff/"))
    assert f"{wave.title}: open" in page
    assert "Responses so far 0" in page and "Invitations sent 0" in page
    assert f"Make the invitation letters for {wave.title}." in page
    assert "Staff sign-in" not in page and page.count("Sign out") == 2  # header and footer


def test_dashboard_for_investigators_counts_complaints(app, client, sign_in):
    from tests.pagetext import text_of

    sign_in(Role.INVESTIGATOR)
    page = text_of(client.get("/staff/"))
    assert "Open complaints 0" in page and "Overdue 0" in page and "Not assigned 0" in page
    assert "Responses so far" not in page


def test_publish_is_offered_only_for_a_closed_wave(app, client, sign_in, make_wave):
    from tests.pagetext import text_of

    open_wave, closed = make_wave(status="open"), make_wave(status="closed")
    sign_in(Role.SURVEY_MANAGER, Role.ADMIN)
    assert "Publish the results" not in text_of(client.get(f"/staff/waves/{open_wave.slug}"))
    assert "Results can be published once the wave has closed, after" in text_of(client.get(f"/staff/waves/{open_wave.slug}"))
    assert "Publish the results" in text_of(client.get(f"/staff/waves/{closed.slug}"))
