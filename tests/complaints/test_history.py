"""The History section of a complaint's staff page: its audit events in plain words, newest first.

The view recorded for a page load is committed before the page is drawn, so it is always the top
line; repeat views by one person on one day share a line with a count instead of adding lines.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from survey import audit
from survey.db import db
from survey.models import AuditEvent, Complaint, ComplaintStatus, Disposition, Role, StaffUser
from survey.models import today as app_today
from tests.conftest import PASSWORD
from tests.pagetext import history


def who_what(html: str) -> list[tuple[str, str]]:
    """(who, what) for each line, top to bottom."""
    return [(row[2], row[3]) for row in history(html).rows]


def history_section(html: str) -> str:
    start = html.index("<h2>History</h2>")
    return html[start:html.index("</main>", start)] if "</main>" in html[start:] else html[start:]


def _complaints(app) -> list[Complaint]:
    with app.app_context():
        return db.session.scalars(select(Complaint).order_by(Complaint.reference)).all()


def _user(app, name: str) -> StaffUser:
    with app.app_context():
        return db.session.scalars(select(StaffUser).where(StaffUser.name == name)).one()


def _sign_in_as(client, user) -> None:
    client.post("/staff/sign-out")
    response = client.post("/staff/sign-in", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303


def _view_assign_acknowledge_note(client, complaint, assignee) -> str:
    """Four events on one complaint (view, assign, status, note); returns its staff URL."""
    base = f"/staff/complaints/{complaint.id}"
    client.get(base)
    client.post(base + "/assign", data={"assign-assignee": str(assignee.id)})
    client.post(base + "/status", data={"status-status": "acknowledged"})
    client.post(base + "/note", data={"note-body": "Checked the body camera list."})
    return base


def test_history_shows_changes_and_views_newest_first_with_names(app, client, file_complaint, sign_in, make_staff):
    started = dt.datetime.now(dt.UTC)
    file_complaint(categories=["force"])
    (complaint,) = _complaints(app)
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    dana = make_staff(Role.INVESTIGATOR, name="Dana Lee")
    base = _view_assign_acknowledge_note(client, complaint, dana)
    client.post(base + "/message", data={"message-body": "We have started looking into this."})
    client.post(base + "/status", data={"status-status": "under_review"})
    client.post(base + "/assign", data={"assign-assignee": ""})
    client.post(base + "/status", data={"status-status": "closed", "status-disposition": "sustained"})
    _sign_in_as(client, dana)
    page = client.get(base).get_data(as_text=True)

    assert who_what(page) == [
        ("Dana Lee", "Viewed"),
        ("Robin Park", "Status changed from Under review to Closed (Sustained)"),
        ("Robin Park", "Assignment removed"),
        ("Robin Park", "Status changed from Acknowledged to Under review"),
        ("Robin Park", "Sent a message to the resident"),
        ("Robin Park", "Added an internal note"),
        ("Robin Park", "Status changed from Received to Acknowledged"),
        ("Robin Park", "Assigned to Dana Lee"),
        ("Robin Park", "Viewed"),
    ]
    table = history(page)
    assert table.caption == "9 events, newest first"
    days = {f"{d:%b} {d.day}, {d:%Y}" for d in (started, dt.datetime.now(dt.UTC))}  # en medium date, UTC
    for date, time, _who, _what in table.rows:
        assert date in days
        assert re.fullmatch(r"\d{1,2}:\d{2}\s[AP]M", time), time
    assert "Time (UTC)" in page
    assert "Only the latest" not in page


def test_this_page_load_is_listed_and_repeat_views_share_a_line(app, client, file_complaint, sign_in, make_staff):
    file_complaint(categories=["force"])
    (complaint,) = _complaints(app)
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    dana = make_staff(Role.INVESTIGATOR, name="Dana Lee")
    url = f"/staff/complaints/{complaint.id}"

    first = client.get(url).get_data(as_text=True)
    assert who_what(first) == [("Robin Park", "Viewed")]
    assert history(first).caption == "1 event, newest first"

    client.get(url)
    third = client.get(url).get_data(as_text=True)
    assert who_what(third) == [("Robin Park", "Viewed 3 times")]
    assert history(third).caption == "3 events, newest first"

    _sign_in_as(client, dana)
    client.get(url)
    client.post(url + "/note", data={"note-body": "n"})
    robin = _user(app, "Robin Park")
    _sign_in_as(client, robin)
    page = client.get(url).get_data(as_text=True)
    assert who_what(page) == [
        ("Robin Park", "Viewed"),  # not merged across Dana's lines
        ("Dana Lee", "Added an internal note"),
        ("Dana Lee", "Viewed"),
        ("Robin Park", "Viewed 3 times"),
    ]


def test_views_on_different_days_are_separate_lines(app, client, file_complaint, sign_in, monkeypatch):
    file_complaint(categories=["force"])
    (complaint,) = _complaints(app)
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    url = f"/staff/complaints/{complaint.id}"
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    monkeypatch.setattr(audit, "utcnow", lambda: yesterday)
    client.get(url)
    client.get(url)
    monkeypatch.undo()
    page = client.get(url).get_data(as_text=True)
    table = history(page)
    assert [(row[2], row[3]) for row in table.rows] == [("Robin Park", "Viewed"), ("Robin Park", "Viewed 2 times")]
    assert table.rows[0][0] != table.rows[1][0]  # two dates


def test_staff_intake_and_the_retention_job_are_named(app, client, agency, sign_in, runner):
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    response = client.post("/staff/complaints/new", data={
        "channel": "phone", "narrative": "Caller says an officer pushed him.",
        "contact_method": "phone", "contact_details": "555-0199",
    })
    assert response.status_code == 303
    (complaint,) = _complaints(app)
    with app.app_context():  # closed long ago, so the retention job erases the contact details
        row = db.session.get(Complaint, complaint.id)
        row.status, row.disposition = ComplaintStatus.CLOSED, Disposition.WITHDRAWN
        row.closed_on = app_today() - dt.timedelta(days=400)
        db.session.commit()
        app.config["RETENTION_DAYS"] = 365
    assert runner.invoke(args=["complaints", "erase-contacts"]).exit_code == 0
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    assert who_what(page) == [
        ("Robin Park", "Viewed"),
        ("System", "Contact details erased (retention period over)"),
        ("Robin Park", "Entered the complaint (Phone)"),
    ]


def test_history_needs_the_investigator_role(app, client, file_complaint, sign_in):
    file_complaint(categories=["force"])
    (complaint,) = _complaints(app)
    url = f"/staff/complaints/{complaint.id}"
    assert client.get(url).status_code == 302  # anonymous: sent to sign in
    for roles in ([Role.ADMIN], [Role.SURVEY_MANAGER], [Role.ANALYST], [Role.ADMIN, Role.SURVEY_MANAGER, Role.ANALYST]):
        client.post("/staff/sign-out")
        sign_in(*roles, name="Not An Investigator")
        response = client.get(url)
        assert response.status_code == 403, roles
        assert "History" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(AuditEvent)).first() is None


def test_history_never_includes_another_complaints_events(app, client, file_complaint, sign_in, make_staff):
    file_complaint(categories=["force"])
    file_complaint(categories=["bias"])
    first, second = _complaints(app)
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    dana = make_staff(Role.INVESTIGATOR, name="Dana Lee")
    base = _view_assign_acknowledge_note(client, first, dana)
    client.get("/staff/complaints/")  # the queue's event belongs to no complaint
    page = client.get(f"/staff/complaints/{second.id}").get_data(as_text=True)
    assert who_what(page) == [("Robin Park", "Viewed")]
    assert history(page).caption == "1 event, newest first"
    assert len(who_what(client.get(base).get_data(as_text=True))) == 5


def test_history_shows_no_resident_text_note_or_message(app, client, file_complaint, sign_in):
    secrets_ = {
        "narrative": "Narrative-zq81 the officer shouted",
        "location": "Location-zq82 Elm Street",
        "officers": "Officers-zq83 badge 4411",
        "witnesses": "Witnesses-zq84 my neighbor",
        "contact_details": "contact-zq85@example.org",
    }
    file_complaint(categories=["force"], contact_method="email", **secrets_)
    (complaint,) = _complaints(app)
    sign_in(Role.INVESTIGATOR)
    base = f"/staff/complaints/{complaint.id}"
    client.post(base + "/note", data={"note-body": "Note-zq86 internal"})
    client.post(base + "/message", data={"message-body": "Message-zq87 to resident"})
    page = client.get(base).get_data(as_text=True)
    assert "Narrative-zq81" in page  # the page itself still shows what the resident wrote
    section = history_section(page)
    assert len(who_what(page)) == 3
    for marker in ("zq81", "zq82", "zq83", "zq84", "zq85", "zq86", "zq87", "4411", "Elm Street"):
        assert marker not in section, marker


def test_only_the_latest_200_events_are_listed(app, client, file_complaint, sign_in):
    file_complaint(categories=["force"])
    (complaint,) = _complaints(app)
    user = sign_in(Role.INVESTIGATOR, name="Robin Park")
    with app.app_context():
        for n in range(205):
            audit.record(db.session, "complaint.note" if n % 2 else "complaint.message", "complaint", complaint.id,
                         staff_user_id=user.id, agency_id=complaint.agency_id, detail={"seq": n})
        db.session.commit()
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    table = history(page)
    assert table.caption == "206 events, newest first"
    assert len(table.rows) == 200
    assert table.rows[0][3] == "Viewed"
    assert "Only the latest 200 events are shown." in page


def test_history_is_translated_with_plurals(app, client, file_complaint, sign_in):
    file_complaint(categories=["force"])
    (complaint,) = _complaints(app)
    sign_in(Role.INVESTIGATOR, name="Robin Park")
    url = f"/staff/complaints/{complaint.id}"
    client.get(url)
    spanish = client.get(url, headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "<h2>Historial</h2>" in spanish
    assert who_what(spanish) == [("Robin Park", "Consultó la queja 2 veces")]
    assert history(spanish).caption == "2 eventos, primero los más recientes"
    arabic = client.get(url, headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert who_what(arabic) == [("Robin Park", "اطّلع على الشكوى 3 مرات")]
