"""An agency's administrators keep its own settings: name and contact text per language,
languages, districts, complaint deadlines and whether the campaign names it."""

from __future__ import annotations

from survey import audit
from survey.db import db
from survey.models import Agency, AuditEvent, Role

FORM = {
    "name": "Testville Police",
    "city": "Testville",
    "phone": "555-0199",
    "address": "1 Main Street",
    "languages": ["en", "es"],
    "default_language": "en",
    "districts": "North\nSouth\n\nNorth\nHarbor",
    "acknowledge_days": "5",
    "close_days": "60",
    "listed": "y",
}


def test_an_admin_changes_the_agencys_settings(app, client, agency, sign_in):
    sign_in(Role.ADMIN)
    assert client.get("/staff/settings").status_code == 200
    response = client.post("/staff/settings", data=FORM)
    assert response.status_code == 303
    with app.app_context():
        saved = db.session.get(Agency, agency.id)
        assert (saved.name, saved.phone, saved.acknowledge_days, saved.close_days, saved.listed) == (
            "Testville Police", "555-0199", 5, 60, True)
        assert saved.districts == ["North", "South", "Harbor"]
        assert saved.languages == ["en", "es"]
        event = db.session.query(AuditEvent).filter_by(action="agency.settings").one()
        assert event.agency_id == agency.id and "listed" in event.detail["changed"]
        assert audit.verify(db.session, agency.id).ok
    # Residents see the new name at once in this worker, and only the languages kept.
    page = client.get("/").get_data(as_text=True)
    assert "Testville Police" in page and 'value="ar"' not in page
    assert client.post("/language", data={"lang": "ar"}).status_code == 400


def test_the_main_language_must_be_offered_and_numbers_in_range(app, client, agency, sign_in):
    sign_in(Role.ADMIN)
    response = client.post("/staff/settings", data=FORM | {"default_language": "ar", "close_days": "0"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The main language must be one of the languages offered" in page
    assert "Enter a number of days from 1 to 3650" in page
    with app.app_context():
        assert db.session.get(Agency, agency.id).close_days == 90


def test_the_agencys_name_in_another_language(app, client, agency, sign_in):
    sign_in(Role.ADMIN)
    response = client.post("/staff/settings/texts/es", data={"name": "Policía de Testville", "city": "", "address": ""})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Agency, agency.id).texts == {"es": {"name": "Policía de Testville"}}
    client.post("/language", data={"lang": "es"})
    assert "Policía de Testville" in client.get("/").get_data(as_text=True)
    assert client.get("/staff/settings/texts/xx").status_code == 404


def test_a_new_wave_starts_with_the_agencys_districts(app, client, agency, sign_in):
    with app.app_context():
        db.session.get(Agency, agency.id).districts = ["Harbor", "Old Town"]
        db.session.commit()
    sign_in(Role.SURVEY_MANAGER)
    page = client.get("/staff/waves/new").get_data(as_text=True)
    assert "Harbor\nOld Town" in page


def test_the_admin_dashboard_leads_to_the_settings(app, client, agency, sign_in):
    sign_in(Role.ADMIN)
    page = client.get("/staff/").get_data(as_text=True)
    assert "Change the agency&#39;s settings" in page and 'href="/staff/settings"' in page
