"""The investigators' side: access control, intake, the status path, messages and the audit log."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

from sqlalchemy import select

from survey.complaints.staff_routes import bp as staff_bp
from survey.db import db
from survey.models import (
    AuditEvent,
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    Disposition,
    Role,
)
from survey.models import today as app_today
from tests.pagetext import receipt_code


def _complaint(app) -> Complaint:
    with app.app_context():
        return db.session.scalars(select(Complaint).order_by(Complaint.reference.desc())).first()


def _routes(app, complaint_id: str) -> list[tuple[str, str]]:
    """Every complaint staff route with a real complaint id filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(staff_bp.name + "."):
            continue
        path = rule.rule.replace("<complaint_id>", complaint_id)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


def test_every_complaint_staff_route_needs_the_investigator_role(app, client, file_complaint, sign_in):
    file_complaint(categories=["force"])
    complaint = _complaint(app)
    routes = _routes(app, complaint.id)
    assert len(routes) >= 9
    for method, path in routes:  # anonymous: sent to sign in
        response = client.open(path, method=method)
        assert response.status_code == 302, (method, path)
        assert "/staff/sign-in" in response.headers["Location"]
    for roles in ([Role.ADMIN], [Role.SURVEY_MANAGER], [Role.ANALYST], [Role.ADMIN, Role.SURVEY_MANAGER, Role.ANALYST]):
        client.post("/staff/sign-out")
        sign_in(*roles)
        for method, path in routes:
            assert client.open(path, method=method).status_code == 403, (roles, method, path)
    # Each view function carries the role requirement (the access-control matrix reads this).
    for endpoint, view in app.view_functions.items():
        if endpoint.startswith(staff_bp.name + "."):
            assert view.required_roles == frozenset({"investigator"}), endpoint
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).first() is None  # nothing was seen or changed


def test_admin_who_is_also_investigator_gets_in(client, agency, sign_in):
    sign_in(Role.ADMIN, Role.INVESTIGATOR)
    assert client.get("/staff/complaints/").status_code == 200
    assert "Complaints" in client.get("/staff/").get_data(as_text=True)


def test_complaints_menu_only_for_investigators(client, agency, sign_in):
    sign_in(Role.ANALYST)
    assert "/staff/complaints/" not in client.get("/staff/").get_data(as_text=True)


def test_status_path_refuses_skips_and_closing_without_disposition(app, client, file_complaint, sign_in):
    file_complaint(categories=["force"])
    complaint = _complaint(app)
    sign_in(Role.INVESTIGATOR)
    url = f"/staff/complaints/{complaint.id}/status"
    refused = client.post(url, data={"status-status": "closed", "status-disposition": "sustained"})
    assert refused.status_code == 400
    assert "can only move to Acknowledged" in refused.get_data(as_text=True)
    assert client.post(url, data={"status-status": "under_review"}).status_code == 400
    assert client.post(url, data={"status-status": "acknowledged"}).status_code == 303
    assert client.post(url, data={"status-status": "received"}).status_code == 400  # no going back
    assert client.post(url, data={"status-status": "under_review"}).status_code == 303
    no_disposition = client.post(url, data={"status-status": "closed"})
    assert no_disposition.status_code == 400
    assert "Choose a disposition" in no_disposition.get_data(as_text=True)
    assert client.post(url, data={"status-status": "closed", "status-disposition": "not_sustained"}).status_code == 303
    complaint = _complaint(app)
    assert complaint.status == ComplaintStatus.CLOSED
    assert complaint.disposition == Disposition.NOT_SUSTAINED
    assert complaint.acknowledged_on and complaint.review_started_on and complaint.closed_on
    closed = client.post(url, data={"status-status": "closed", "status-disposition": "sustained"}, follow_redirects=True)
    assert "cannot change status" in closed.get_data(as_text=True)


def test_every_view_and_change_is_audited(app, client, file_complaint, sign_in, make_staff):
    file_complaint(categories=["force"])
    complaint = _complaint(app)
    user = sign_in(Role.INVESTIGATOR)
    other = make_staff(Role.INVESTIGATOR, name="Other Investigator")
    base = f"/staff/complaints/{complaint.id}"
    client.get(base)
    client.post(base + "/assign", data={"assign-assignee": str(other.id)})
    client.post(base + "/status", data={"status-status": "acknowledged"})
    client.post(base + "/note", data={"note-body": "a note"})
    client.post(base + "/message", data={"message-body": "a message"})
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        actions = [(e.action, e.object_id, e.staff_user_id) for e in events]
        assert actions == [
            ("complaint.view", complaint.id, user.id),
            ("complaint.assign", complaint.id, user.id),
            ("complaint.status", complaint.id, user.id),
            ("complaint.note", complaint.id, user.id),
            ("complaint.message", complaint.id, user.id),
        ]
        assert db.session.get(Complaint, complaint.id).assigned_to_id == other.id
        from survey.audit import verify

        assert verify(db.session).ok


def test_assigning_to_someone_without_the_role_is_refused(app, client, file_complaint, sign_in, make_staff):
    file_complaint(categories=["force"])
    complaint = _complaint(app)
    sign_in(Role.INVESTIGATOR)
    analyst = make_staff(Role.ANALYST)
    assert client.post(f"/staff/complaints/{complaint.id}/assign", data={"assign-assignee": str(analyst.id)}).status_code == 400


SCRIPT = '<script>alert("x")</script>'


def test_script_tags_in_every_field_are_shown_as_text_to_staff(app, client, file_complaint, follow, sign_in):
    code = file_complaint(
        categories=["other", SCRIPT],
        narrative=SCRIPT + " narrative",
        location=SCRIPT + " location",
        officers=SCRIPT + " officers",
        witnesses=SCRIPT + " witnesses",
        contact_method="email",
        contact_details=SCRIPT + " contact",
        incident_date="2026-01-01",
    )
    follow(code)
    client.post("/complaints/status", data={"body": SCRIPT + " reply"})
    client.post("/complaints/follow-up/end")
    complaint = _complaint(app)
    sign_in(Role.INVESTIGATOR)
    html = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    assert "<script" not in html
    text = htmllib.unescape(html)
    for suffix in ("narrative", "location", "officers", "witnesses", "contact", "reply"):
        assert f"{SCRIPT} {suffix}" in text, suffix
    assert html.count("&lt;script&gt;") >= 6
    queue = client.get("/staff/complaints/").get_data(as_text=True)
    assert "<script" not in queue


def test_staff_intake_records_the_channel_and_gives_a_receipt_once(app, client, agency, sign_in, follow):
    user = sign_in(Role.INVESTIGATOR)
    response = client.post("/staff/complaints/new", data={"channel": "phone", "narrative": "Caller says an officer pushed him.", "contact_method": "none"})
    assert response.status_code == 303
    page = client.get("/staff/complaints/receipt")
    code = receipt_code(page.get_data(as_text=True))
    assert "Read this code out" in page.get_data(as_text=True)
    assert code not in client.get("/staff/complaints/receipt").get_data(as_text=True)
    complaint = _complaint(app)
    assert complaint.channel == Channel.PHONE and complaint.entered_by_id == user.id
    client.post("/staff/sign-out")
    assert "Received" in follow(code)


def test_staff_intake_needs_a_channel(client, agency, sign_in):
    sign_in(Role.INVESTIGATOR)
    response = client.post("/staff/complaints/new", data={"narrative": "x", "contact_method": "none"})
    assert response.status_code == 200
    assert "Choose how the complaint reached you" in response.get_data(as_text=True)


def test_third_party_intake_is_marked_on_behalf(app, client, agency, sign_in):
    sign_in(Role.INVESTIGATOR)
    client.post("/staff/complaints/new", data={"channel": "third_party", "categories": ["bias"], "contact_method": "none"})
    assert _complaint(app).on_behalf is True


def test_queue_shows_overdue_first_and_filters(app, client, agency, sign_in):
    user = sign_in(Role.INVESTIGATOR)
    today = app_today()
    with app.app_context():
        for ref, received, status, cats, assigned in (
            ("C-2026-0001", today, ComplaintStatus.RECEIVED, ["force"], None),
            ("C-2026-0002", today - dt.timedelta(days=30), ComplaintStatus.RECEIVED, ["bias"], user.id),  # ack overdue
            ("C-2026-0003", today - dt.timedelta(days=200), ComplaintStatus.CLOSED, ["force"], None),
            ("C-2026-0004", today - dt.timedelta(days=5), ComplaintStatus.UNDER_REVIEW, ["search"], user.id),
        ):
            db.session.add(Complaint(agency_id=agency.id, reference=ref, receipt_hash=ref, channel=Channel.WEB,
                                     categories=cats, status=status, received_on=received,
                                     closed_on=today if status == ComplaintStatus.CLOSED else None,
                                     disposition=Disposition.WITHDRAWN if status == ComplaintStatus.CLOSED else None,
                                     assigned_to_id=assigned))
        db.session.commit()

    def refs(query: str = "") -> list[str]:
        html = client.get("/staff/complaints/" + query).get_data(as_text=True)
        return re.findall(r">(C-2026-\d{4})<", html)

    everything = refs()
    assert everything[0] == "C-2026-0002"
    assert set(everything) == {"C-2026-0001", "C-2026-0002", "C-2026-0003", "C-2026-0004"}
    assert refs("?overdue=y") == ["C-2026-0002"]
    assert refs("?category=force") == ["C-2026-0001", "C-2026-0003"]
    assert refs("?status=open") == ["C-2026-0002", "C-2026-0001", "C-2026-0004"] or set(refs("?status=open")) == {"C-2026-0001", "C-2026-0002", "C-2026-0004"}
    assert refs("?status=closed") == ["C-2026-0003"]
    assert set(refs("?assigned=me")) == {"C-2026-0002", "C-2026-0004"}
    assert set(refs("?assigned=none")) == {"C-2026-0001", "C-2026-0003"}


def test_complaint_of_another_agency_is_not_found(app, client, agency, sign_in):
    from survey.models import Agency

    with app.app_context():
        other = Agency(slug="elsewhere", name="Elsewhere PD", city="Elsewhere")
        db.session.add(other)
        db.session.flush()
        db.session.add(Complaint(agency_id=other.id, reference="C-2026-9999", receipt_hash="x", channel=Channel.WEB,
                                 categories=["force"]))
        db.session.commit()
        cid = db.session.scalars(select(Complaint.id)).one()
    sign_in(Role.INVESTIGATOR)
    assert client.get(f"/staff/complaints/{cid}").status_code == 404
def test_status_and_staff_message_reach_the_resident_and_the_reply_reaches_staff(app, client, file_complaint, follow, sign_in):
    code = file_complaint(narrative="Stopped for no reason.")
    complaint = _complaint(app)
    client.post("/complaints/follow-up/end")
    sign_in(Role.INVESTIGATOR)
    assert client.post(f"/staff/complaints/{complaint.id}/status", data={"status-status": "acknowledged"}).status_code == 303
    assert client.post(f"/staff/complaints/{complaint.id}/message", data={"message-body": "Which street was it?"}).status_code == 303
    assert client.post(f"/staff/complaints/{complaint.id}/note", data={"note-body": "INTERNAL ONLY"}).status_code == 303
    client.post("/staff/sign-out")

    status = follow(code)
    assert "Acknowledged" in status
    assert "Which street was it?" in status
    assert "INTERNAL ONLY" not in status
    response = client.post("/complaints/status", data={"body": "It was Elm Street."})
    assert response.status_code == 303
    assert "It was Elm Street." in client.get("/complaints/status").get_data(as_text=True)

    sign_in(Role.INVESTIGATOR)
    detail = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    assert "It was Elm Street." in detail and "From the resident" in detail
    with app.app_context():
        messages = db.session.scalars(select(ComplaintMessage).order_by(ComplaintMessage.seq)).all()
        assert [m.author for m in messages] == ["staff", "note", "resident"]
        assert messages[2].read_on is not None




def test_reply_and_internal_note_are_told_apart(app, client, file_complaint, sign_in):
    from tests.pagetext import text_of

    file_complaint(categories=["force"])
    complaint = _complaint(app)
    sign_in(Role.INVESTIGATOR)
    response = client.get(f"/staff/complaints/{complaint.id}")
    body = response.get_data(as_text=True)
    page = text_of(response)
    # Own headings, labels, hints and buttons; the reply says the resident will see it.
    assert "Internal note (staff only)" in page and "Only staff see internal notes." in page
    assert "Reply to the resident" in page and "The resident will see this." in page
    assert "Save the internal note" in page and "Send to the resident" in page
    assert page.index("Internal note (staff only)") < page.index("Reply to the resident")
    assert 'for="note-body">Internal note' in body.replace("\n", "") or "Internal note</label>" in body
    assert "Language English" in page  # by name, not "en"


def test_status_control_offers_only_the_next_step_with_the_current_one_chosen(app, client, file_complaint, sign_in):
    file_complaint(categories=["force"])
    complaint = _complaint(app)
    sign_in(Role.INVESTIGATOR)
    body = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    values = re.findall(r'name="status-status"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="status-status"', body)
    offered = [a or b for a, b in values]
    assert offered == ["received", "acknowledged"], offered
    assert re.search(r'value="received"[^>]*checked|checked[^>]*value="received"', body)
    assert "status-disposition" not in body  # only when the next step is closing
    unchanged = client.post(f"/staff/complaints/{complaint.id}/status", data={"status-status": "received"},
                            follow_redirects=True)
    assert "The status is unchanged." in unchanged.get_data(as_text=True)


def test_queue_pages_and_filters_by_assignee(app, client, file_complaint, sign_in, monkeypatch):
    from survey.complaints import staff_routes
    from tests.pagetext import text_of

    monkeypatch.setattr(staff_routes, "QUEUE_PAGE", 2)
    for _ in range(3):
        file_complaint(categories=["force"])
    user = sign_in(Role.INVESTIGATOR)
    first = text_of(client.get("/staff/complaints/?status=open"))
    assert "3 complaints, overdue first · showing 1 to 2" in first and "Page 1 of 2" in first
    second = client.get("/staff/complaints/?status=open&page=2")
    assert "showing 3 to 3" in text_of(second) and "status=open" in second.get_data(as_text=True)
    mine = text_of(client.get(f"/staff/complaints/?assigned=u{user.id}"))
    assert "No complaints match these filters." in mine
