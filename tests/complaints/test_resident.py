"""Residents file complaints, get a receipt code once, and follow up with it."""

from __future__ import annotations

import html as htmllib

import pytest
from sqlalchemy import select

from survey import crypto
from survey.complaints import service
from survey.db import db
from survey.models import Channel, Complaint, ComplaintStatus
from survey.security import code_length, normalize_code


def _only_complaint(app) -> Complaint:
    with app.app_context():
        complaints = db.session.scalars(select(Complaint)).all()
        assert len(complaints) == 1
        return complaints[0]


def test_policy_page_names_every_way_to_complain(client, agency):
    html = client.get("/complaints/").get_data(as_text=True)
    assert "555-0101" in html  # the agency's phone from its settings
    assert "within 7 days" in html and "within 90 days" in html
    for link in ("/complaints/new", "/complaints/follow-up", "/complaints/data"):
        assert f'href="{link}"' in html


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_complaint_pages_render_in_every_language(client, agency, lang):
    client.post("/language", data={"lang": lang, "next": "/"})
    for path in ("/complaints/", "/complaints/new", "/complaints/follow-up", "/complaints/data"):
        response = client.get(path)
        assert response.status_code == 200
        assert f'lang="{lang}"' in response.get_data(as_text=True)


def test_filing_with_only_a_category(app, client, file_complaint, follow):
    code = file_complaint(categories=["force"])
    assert len(normalize_code(code)) == code_length(90) >= 19
    complaint = _only_complaint(app)
    assert complaint.categories == ["force"]
    assert complaint.narrative_enc is None
    assert complaint.channel == Channel.WEB
    assert complaint.wants_contact is False and complaint.contact_enc is None
    assert complaint.reference.startswith("C-")
    assert "Received" in follow(code)


def test_filing_with_only_a_sentence(app, client, file_complaint, follow):
    code = file_complaint(narrative="He shouted at me.")
    complaint = _only_complaint(app)
    assert complaint.categories == []
    with app.app_context():
        assert crypto.decrypt(complaint.narrative_enc, Complaint.narrative_enc) == "He shouted at me."
    assert b"He shouted at me." not in complaint.narrative_enc
    assert "Your complaint" in follow(code)


def test_neither_category_nor_words_is_a_clear_error(app, client, agency):
    response = client.post("/complaints/new", data={"contact_method": "none"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("Choose what your complaint is about, or tell us what happened") == 2  # summary + field
    assert 'href="#categories-0"' in html
    assert "<title>Error:" in html
    with app.app_context():
        assert db.session.scalars(select(Complaint)).first() is None


def test_nothing_typed_is_lost_on_a_validation_error(client, agency):
    data = {
        "categories": ["bias", "search"],
        "narrative": "A" * 20_001,  # too long: the one error
        "incident_date": "2026-01-15",
        "location": "Main & 5th <corner>",
        "officers": "I don't know, tall, car 42",
        "witnesses": "My neighbor Sam",
        "on_behalf": "y",
        "contact_method": "email",
        "contact_details": "me@example.org",
        "language": "es",
    }
    response = client.post("/complaints/new", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Shorten what happened" in html
    assert "A" * 20_001 in html
    assert "<corner>" not in html  # escaped, and still there once unescaped
    text = htmllib.unescape(html)
    for value in ("2026-01-15", "Main & 5th <corner>", "I don't know, tall, car 42", "My neighbor Sam", "me@example.org"):
        assert value in text, value
    assert 'value="bias" checked' in html and 'value="search" checked' in html
    assert 'name="on_behalf" value="y" checked' in html
    assert 'value="email" checked' in html
    assert 'value="es" selected' in html


def test_contact_chosen_without_details_asks_for_them(client, agency):
    response = client.post("/complaints/new", data={"categories": ["other"], "contact_method": "phone"})
    assert "Enter how we can reach you" in response.get_data(as_text=True)


def test_long_fields_are_stored_whole_and_encrypted(app, client, file_complaint):
    long_text = "The officer said things. " * 700  # ~17,500 characters
    file_complaint(
        narrative=long_text, location="L" * 500, officers="O" * 5000, witnesses="W" * 5000,
        contact_method="mail", contact_details="12 Long Street, Testville", incident_date="2026-02-01",
        on_behalf="y",
    )
    complaint = _only_complaint(app)
    with app.app_context():
        assert crypto.decrypt(complaint.narrative_enc, Complaint.narrative_enc) == long_text.strip()
        assert crypto.decrypt(complaint.location_enc, Complaint.location_enc) == "L" * 500
        assert crypto.decrypt(complaint.officers_enc, Complaint.officers_enc) == "O" * 5000
        assert crypto.decrypt(complaint.witnesses_enc, Complaint.witnesses_enc) == "W" * 5000
        assert "12 Long Street" in crypto.decrypt(complaint.contact_enc, Complaint.contact_enc)
        assert str(service.incident_date_of(complaint)) == "2026-02-01"
    assert complaint.on_behalf and complaint.wants_contact


def test_receipt_is_shown_once_and_never_stored_or_put_in_a_url(app, client, agency):
    response = client.post("/complaints/new", data={"categories": ["force"], "contact_method": "none"})
    assert response.headers["Location"] == "/complaints/receipt"
    first = client.get("/complaints/receipt")
    assert first.headers["Cache-Control"] == "no-store"
    from tests.pagetext import receipt_code

    code = receipt_code(first.get_data(as_text=True))
    assert "only way back" in first.get_data(as_text=True)
    second = client.get("/complaints/receipt").get_data(as_text=True)
    assert code not in second and "already shown" in second
    complaint = _only_complaint(app)
    assert normalize_code(code) not in complaint.receipt_hash and code not in complaint.receipt_hash
    with app.app_context():
        from survey.security import keyed_hash

        assert complaint.receipt_hash == keyed_hash("receipt", normalize_code(code))


@pytest.mark.parametrize("path", ["/complaints/new", "/complaints/receipt", "/complaints/follow-up"])
def test_no_store_on_resident_pages(client, agency, path):
    assert client.get(path).headers["Cache-Control"] == "no-store"


def test_code_is_forgiving_about_case_spaces_and_dashes(client, file_complaint, follow):
    code = file_complaint(categories=["other"])
    typed = " ".join(normalize_code(code).lower()[i : i + 3] for i in range(0, 19, 3))
    assert "Your complaint" in follow(typed)


def test_status_page_needs_a_fresh_code(client, file_complaint):
    file_complaint(categories=["other"])
    response = client.get("/complaints/status")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/complaints/follow-up")


def test_empty_reply_is_refused_with_a_message(client, file_complaint, follow):
    follow(file_complaint(categories=["other"]))
    response = client.post("/complaints/status", data={"body": "  "})
    assert response.status_code == 200
    assert "Write your message before sending it" in response.get_data(as_text=True)


def test_closed_complaint_shows_its_status(app, client, file_complaint, follow):
    code = file_complaint(categories=["other"])
    with app.app_context():
        complaint = db.session.scalars(select(Complaint)).one()
        complaint.status = ComplaintStatus.CLOSED
        complaint.closed_on = complaint.received_on
        db.session.commit()
    assert "Closed" in follow(code)
