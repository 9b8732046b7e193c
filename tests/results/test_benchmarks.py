"""The Compare page's "Beside other agencies" (issue 18, item 4) on the demo with its peer agencies:
pooled and peer figures, withholding below the thresholds, only listed agencies named, and only
the signed-in agency's own data shown as "yours"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Agency, Role, Wave
from tests.pagetext import text_of

LISTED = ["Ashford Police Department", "Cedar Falls Police Department", "Fairport Police Department",
          "Ironbridge Police Department"]
UNLISTED = ["Brookvale", "Dunmore", "Elmwood", "Glenhaven", "Hartwell", "Juniper"]


@pytest.fixture
def campaign(demo_app):
    """The demo with the ten peer agencies; returns Riverton's two newest published waves."""
    from survey.demo import load_peer_agencies

    with demo_app.app_context():
        load_peer_agencies(echo=lambda _line: None)
        home = db.session.scalars(select(Agency).where(Agency.slug == "riverton")).one()
        waves = db.session.scalars(select(Wave).where(Wave.agency_id == home.id, Wave.published.is_(True))
                                   .order_by(Wave.opens_on)).all()
        return [w.slug for w in waves[-2:]]


def words(response) -> str:
    """The page's text, with the spaces that isolated numbers (<bdi>) leave before punctuation removed."""
    return re.sub(r" (?=[.,)%])", "", text_of(response))


def url(waves):
    return "/staff/compare/?" + "&".join(f"waves={w}" for w in waves) + "&section=agencies"


def own_trust(demo_app, slug: str, agency_slug: str) -> str:
    """The agency's own trust score for that wave, as the one engine gives it, formatted as shown."""
    from analysis.campaign import agency_index_estimates
    from survey.results import service

    with demo_app.app_context():
        agency = db.session.scalars(select(Agency).where(Agency.slug == agency_slug)).one()
        wave = db.session.scalars(select(Wave).where(Wave.agency_id == agency.id, Wave.slug == slug)).one()
        rows = agency_index_estimates(service.wave_parts([wave])[wave.id], agency_slug)
    return f"{rows.set_index('measure').loc['trust', 'estimate']:.1f}"


def test_pool_and_peers_beside_the_agency(demo_app, demo_client, demo_sign_in, campaign):
    demo_sign_in(Role.ANALYST)
    response = demo_client.get(url(campaign))
    page = words(response)
    html = response.get_data(as_text=True)
    assert "Beside other agencies" in page and "All agencies in the campaign" in page
    assert "Other agencies in this group: 10." in page and "Other agencies in this group: 5." in page
    assert "Your index scores beside your peer group (mid-size city)" in page
    # Every index has a sentence against the pool and one against the peers, with an interval.
    sentences = re.findall(r"Trust score: yours is [\d.]+, (?:higher than|lower than|no clear difference from) "
                           r"this group's [\d.]+ \(difference [+-]?[\d.]+ points, 95% CI", page)
    assert len(sentences) == 2, page[:4000]
    # "Yours" is Riverton's own estimate of its newest chosen wave.
    assert f"Trust score: yours is {own_trust(demo_app, campaign[-1], 'riverton')}," in page
    # Listed agencies are named; the others never, anywhere in the page.
    for name in LISTED:
        assert name in page
    for name in UNLISTED:
        assert name not in html
    assert "Trust score: withheld" not in page


def test_withheld_below_the_number_of_agencies(demo_app, demo_client, demo_sign_in, campaign):
    demo_app.config["BENCHMARK_MIN_AGENCIES"] = 6
    demo_sign_in(Role.ANALYST)
    page = words(demo_client.get(url(campaign)))
    # The pool has ten other agencies; the peer group five: its figures are withheld.
    assert "Trust score: withheld, fewer than 6 other agencies." in page
    assert len(re.findall(r"Trust score: yours is", page)) == 1
    demo_app.config["BENCHMARK_MIN_AGENCIES"] = 11
    page = words(demo_client.get(url(campaign)))
    assert len(re.findall(r"Trust score: withheld, fewer than 11 other agencies\.", page)) == 2
    assert "yours is" not in page


def test_unlisted_agencies_are_never_named(demo_app, demo_client, demo_sign_in, campaign):
    with demo_app.app_context():
        for agency in db.session.scalars(select(Agency)):
            agency.listed = False
        db.session.commit()
    demo_sign_in(Role.ANALYST)
    html = demo_client.get(url(campaign)).get_data(as_text=True)
    assert "Named with their consent" not in html
    for name in LISTED + UNLISTED:
        assert name.split()[0] not in html


def brookvale_analyst(app) -> str:
    """An analyst account at Brookvale (analyst@brookvale.example); returns Brookvale's wave."""
    from survey.auth import hash_password
    from survey.models import StaffUser
    from tests.conftest import PASSWORD

    with app.app_context():
        agency = db.session.scalars(select(Agency).where(Agency.slug == "brookvale")).one()
        slug = db.session.scalars(select(Wave.slug).where(Wave.agency_id == agency.id)).one()
        db.session.add(StaffUser(agency_id=agency.id, email="analyst@brookvale.example", name="B",
                                 password_hash=hash_password(PASSWORD), roles=[str(Role.ANALYST)]))
        db.session.commit()
    return slug


def test_another_agency_sees_its_own_figures_as_yours(demo_app, demo_client, campaign):
    """Brookvale (unlisted, one wave) signs in at its own agency: its own score is "yours", and
    Riverton, once it chooses not to be listed, is not named."""
    from tests.conftest import PASSWORD

    demo_app.config["AGENCY"] = "brookvale"
    slug = brookvale_analyst(demo_app)
    with demo_app.app_context():
        db.session.scalars(select(Agency).where(Agency.slug == "riverton")).one().listed = False
        db.session.commit()
    assert demo_client.post("/staff/sign-in", data={"email": "analyst@brookvale.example",
                                                     "password": PASSWORD}).status_code == 303
    response = demo_client.get(url([slug]))
    page = words(response)
    assert f"Trust score: yours is {own_trust(demo_app, slug, 'brookvale')}," in page
    assert "Riverton" not in response.get_data(as_text=True)
    # Riverton's waves are not Brookvale's to choose.
    assert "Choose" in text_of(demo_client.get("/staff/compare/?waves=2025-q1&section=agencies"))


def test_only_analysts_and_admins(demo_client, demo_sign_in, campaign):
    demo_sign_in(Role.INVESTIGATOR)
    assert demo_client.get(url(campaign)).status_code == 403


def test_path_mode_each_agency_sees_its_own(demo_app, campaign, tmp_path):
    """A campaign at /a/<slug>/: Brookvale's analyst sees Brookvale's figures as "yours" at its own
    address, with Riverton (listed) named and Dunmore (not listed) not; and is not signed in at
    Riverton's address."""
    from tests.conftest import PASSWORD, CheckingClient, make_test_app

    folder = tmp_path / "path-mode"
    folder.mkdir()
    app = make_test_app(demo_app.config["DATABASE_URL"], folder, AGENCY_ADDRESSES="path", SMALL_COUNT_THRESHOLD=10,
                        RESULTS_CACHE_DIR=demo_app.config["RESULTS_CACHE_DIR"])
    try:
        slug = brookvale_analyst(app)
        app.test_client_class = CheckingClient
        client = app.test_client()
        assert client.post("/a/brookvale/staff/sign-in", data={"email": "analyst@brookvale.example",
                                                               "password": PASSWORD}).status_code == 303
        response = client.get(f"/a/brookvale/staff/compare/?waves={slug}&section=agencies")
        page = words(response)
        assert f"Trust score: yours is {own_trust(demo_app, slug, 'brookvale')}," in page
        assert "Other agencies in this group: 10." in page
        assert "Riverton Police Department" in page and "Dunmore" not in response.get_data(as_text=True)
        assert client.get(f"/a/riverton/staff/compare/?waves={campaign[-1]}&section=agencies").status_code == 302
    finally:
        app.extensions["survey.db"]["engine"].dispose()


def test_the_section_is_offered_only_on_a_campaign(demo_app, demo_client, demo_sign_in, past_waves):
    from survey.demo import load_peer_agencies

    demo_sign_in(Role.ANALYST)
    findings = "/staff/compare/?" + "&".join(f"waves={w}" for w in past_waves[-2:])
    assert "Beside other agencies" not in text_of(demo_client.get(findings))
    with demo_app.app_context():
        load_peer_agencies(echo=lambda _line: None)
    assert "Beside other agencies" in text_of(demo_client.get(findings))
