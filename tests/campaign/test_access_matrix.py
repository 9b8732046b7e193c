"""Every campaign route, for anonymous visitors, each agency role and a campaign account: only a
campaign account gets into the console; everyone else is sent to the campaign's sign-in.

A new /campaign/ route that is not declared here fails this test: declare who may use it.
"""

from __future__ import annotations

import pytest
from flask import url_for

from survey.models import Role

PUBLIC, CAMPAIGN = "public", "campaign"

#: endpoint -> who may use it.
INTENDED = {
    "campaign.home": PUBLIC,
    "campaign.set_language": PUBLIC,
    "campaign.sign_in": PUBLIC,
    "campaign.sign_in_code": PUBLIC,
    "campaign.sign_out": PUBLIC,
    "campaign.console": CAMPAIGN,
    "campaign.agency_new": CAMPAIGN,
    "campaign.agency_edit": CAMPAIGN,
    "campaign.invitation": CAMPAIGN,
    "campaign.reinvite": CAMPAIGN,
}


def campaign_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("campaign.")]


def test_every_campaign_route_is_declared(app):
    endpoints = {r.endpoint for r in campaign_rules(app)}
    assert endpoints == set(INTENDED), f"declare these campaign routes: {sorted(endpoints ^ set(INTENDED))}"


def _requests(app):
    for rule in campaign_rules(app):
        if INTENDED[rule.endpoint] != CAMPAIGN:
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1))
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield rule.endpoint, method, url


@pytest.mark.parametrize("who", [None, *Role, "campaign"], ids=lambda w: "anonymous" if w is None else str(w))
def test_access_matrix(app, client, campaign_sign_in, agency_sign_in, who):
    if who == "campaign":
        campaign_sign_in()
    elif who is not None:
        agency_sign_in(who)
    checked = 0
    for endpoint, method, url in _requests(app):
        response = client.open(url, method=method, data={}, check=False)
        where = f"{method} {url} ({endpoint}) as {who or 'anonymous'}"
        if who == "campaign":
            assert response.status_code not in (302, 403) and response.status_code < 500, f"{where}: {response.status_code}"
            if method == "GET":
                assert response.status_code == 200, f"{where}: {response.status_code}"
        else:
            assert response.status_code == 302, f"{where}: {response.status_code}"
            assert "/campaign/sign-in" in response.headers["Location"], where
        checked += 1
    assert checked >= 6


def test_public_campaign_pages_need_no_sign_in(client):
    assert client.get("/campaign/").status_code == 200
    assert client.get("/campaign/sign-in").status_code == 200
    assert client.get("/campaign/sign-in/code").status_code == 302  # nobody owes a code: sign in first
