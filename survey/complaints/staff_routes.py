"""The investigators' side of complaints: queue, intake, one complaint, and changes to it.

Every page here needs the investigator role (roles are never implied). Every view or change of
a complaint is written to the hash-chained audit log in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import audit
from ..auth import current_user, roles_required
from ..context import current_agency
from ..db import db
from ..menu import Fact, Panel, register, register_panel
from ..models import Channel, Complaint, ComplaintStatus, Disposition, Role, StaffUser
from . import service
from .forms import (
    CATEGORY_LABELS,
    CHANNEL_LABELS,
    DISPOSITION_LABELS,
    STATUS_LABELS,
    AssignForm,
    NoteForm,
    QueueFilterForm,
    StaffIntakeForm,
    StaffReplyForm,
    StatusForm,
    options,
)
from .history import history as complaint_history
from .routes import no_store, save_new_complaint, show_receipt_once, stash_receipt

bp = Blueprint("complaint_staff", __name__, template_folder="templates")

register(_l("Complaints"), "complaint_staff.queue", (Role.INVESTIGATOR,), order=40)
register(_l("Take a complaint"), "complaint_staff.intake", (Role.INVESTIGATOR,), order=41)

investigator_only = roles_required(Role.INVESTIGATOR)
#: Complaints per page of the queue.
QUEUE_PAGE = 50


def _complaints_panels(user: StaffUser) -> list[Panel]:
    """Open, overdue, unassigned and own complaints, and unread messages from residents (counts only:
    the dashboard shows no complaint, so it writes nothing to the audit log)."""
    agency = current_agency()
    open_ = db.session.scalars(
        select(Complaint).where(Complaint.agency_id == agency.id, Complaint.status != ComplaintStatus.CLOSED)).all()
    overdue = sum(1 for c in open_ if service.deadlines(c, agency).overdue)
    unassigned = sum(1 for c in open_ if c.assigned_to_id is None)
    mine = sum(1 for c in open_ if c.assigned_to_id == user.id)
    unread = sum(1 for c in open_ for m in c.messages if m.author == "resident" and m.read_on is None)
    queue = "complaint_staff.queue"

    def n(value: int) -> str:
        return format_decimal(value, "#,##0")

    facts = [Fact(_("Open complaints"), n(len(open_)), url_for(queue, status="open")),
             Fact(_("Overdue"), n(overdue), url_for(queue, status="open", overdue="y")),
             Fact(_("Assigned to you"), n(mine), url_for(queue, status="open", assigned="me")),
             Fact(_("Not assigned"), n(unassigned), url_for(queue, status="open", assigned="none"))]
    todo = []
    if overdue:
        todo.append((ngettext("%(count)s complaint is overdue.", "%(count)s complaints are overdue.", overdue, count=n(overdue)),
                     url_for(queue, status="open", overdue="y")))
    if unassigned:
        todo.append((ngettext("%(count)s complaint has no investigator.", "%(count)s complaints have no investigator.",
                              unassigned, count=n(unassigned)), url_for(queue, status="open", assigned="none")))
    if unread:
        todo.append((ngettext("%(count)s new message from a resident.", "%(count)s new messages from residents.", unread,
                              count=n(unread)), url_for(queue, status="open")))
    return [Panel(_("Complaints"), facts, todo)]


register_panel(_complaints_panels, (Role.INVESTIGATOR,), order=20)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "category_labels": CATEGORY_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "status_labels": STATUS_LABELS,
        "disposition_labels": DISPOSITION_LABELS,
    }


def _audit(action: str, complaint: Complaint | None, **detail: Any) -> None:
    user = current_user()
    audit.record(
        db.session,
        action,
        "complaint",
        complaint.id if complaint else None,
        staff_user_id=user.id if user else None,
        agency_id=current_agency().id,
        detail=detail,
    )


def _load(complaint_id: str, for_write: bool = False) -> Complaint:
    session_ = db.write() if for_write else db.session
    complaint = session_.get(Complaint, complaint_id)
    if complaint is None or complaint.agency_id != current_agency().id:
        abort(404)
    return complaint


@bp.get("/")
@investigator_only
@no_store
def queue():
    agency = current_agency()
    form = QueueFilterForm(request.args)
    people = _investigators(agency)
    form.assigned.choices = list(form.assigned.choices) + options([(f"u{u.id}", u.name) for u in people])
    form.validate()
    complaints = db.session.scalars(select(Complaint).where(Complaint.agency_id == agency.id)).all()
    user = current_user()
    rows = []
    for complaint in complaints:
        due = service.deadlines(complaint, agency)
        if form.status.data == "open" and complaint.status == ComplaintStatus.CLOSED:
            continue
        if form.status.data not in ("", "open", None) and complaint.status.value != form.status.data:
            continue
        if form.category.data and form.category.data not in (complaint.categories or []):
            continue
        if form.overdue.data and not due.overdue:
            continue
        if form.assigned.data == "me" and complaint.assigned_to_id != user.id:
            continue
        if form.assigned.data == "none" and complaint.assigned_to_id is not None:
            continue
        if (form.assigned.data or "").startswith("u") and f"u{complaint.assigned_to_id}" != form.assigned.data:
            continue
        rows.append((complaint, due))
    # Overdue first, then the nearest deadline, then the oldest.
    rows.sort(key=lambda r: (not r[1].overdue, r[0].status == ComplaintStatus.CLOSED, _next_due(r), r[0].received_on))
    pages = max(1, -(-len(rows) // QUEUE_PAGE))
    page = request.args.get("page", "1")
    page = min(max(int(page), 1), pages) if page.isascii() and page.isdigit() and len(page) < 6 else 1
    shown = rows[(page - 1) * QUEUE_PAGE: page * QUEUE_PAGE]
    db.write()
    _audit("complaint.queue", None, filters=dict(request.args.items()), shown=len(shown))
    db.session.commit()
    filters = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("complaints/staff/queue.html", form=form, rows=shown, total=len(rows), page=page,
                           pages=pages, first=(page - 1) * QUEUE_PAGE + 1, filters=filters)


def _investigators(agency) -> list[StaffUser]:
    users = db.session.scalars(
        select(StaffUser).where(StaffUser.agency_id == agency.id, StaffUser.active.is_(True)).order_by(StaffUser.name)).all()
    return [u for u in users if u.has_role(Role.INVESTIGATOR)]


def _next_due(row: tuple[Complaint, service.Deadlines]):
    complaint, due = row
    return due.acknowledge_by if complaint.status == ComplaintStatus.RECEIVED else due.close_by


@bp.route("/new", methods=["GET", "POST"])
@investigator_only
@no_store
def intake():
    form = StaffIntakeForm()
    if form.validate_on_submit():
        user = current_user()
        complaint, code = save_new_complaint(form, channel=Channel(form.channel.data), entered_by_id=user.id)
        db.write()
        _audit("complaint.create", complaint, channel=complaint.channel.value)
        db.session.commit()
        stash_receipt(code)
        session["complaint_staff_ref"] = complaint.id
        return redirect(url_for("complaint_staff.receipt"), code=303)
    return render_template(
        "complaints/staff/intake.html",
        form=form,
        layout="staff/base.html",
        heading=_("Take a complaint"),
        submit_label=_("Save the complaint"),
    )


@bp.get("/receipt")
@investigator_only
@no_store
def receipt():
    complaint_id = session.pop("complaint_staff_ref", None)
    complaint = db.session.get(Complaint, complaint_id) if complaint_id else None
    if complaint is not None and complaint.agency_id != current_agency().id:
        complaint = None
    return show_receipt_once("complaints/staff/receipt.html", complaint=complaint)


def _render_detail(complaint: Complaint, status: int = 200, **forms: Any):
    agency = current_agency()
    assign = forms.get("assign") or AssignForm(prefix="assign")
    assign.assignee.choices = options([("", _("No one"))] + [(str(u.id), u.name) for u in _investigators(agency)])
    if not assign.is_submitted():
        assign.assignee.data = str(complaint.assigned_to_id or "")
    status_form = forms.get("status_form") or StatusForm(prefix="status")
    position = service.STATUS_PATH.index(complaint.status)
    next_step = service.STATUS_PATH[position + 1] if position + 1 < len(service.STATUS_PATH) else None
    # Only the current status (shown, chosen) and the one step that may follow it.
    status_form.status.choices = options(
        [(complaint.status.value, _("%(status)s (now)", status=STATUS_LABELS[complaint.status]))]
        + ([(next_step.value, STATUS_LABELS[next_step])] if next_step else []))
    if not status_form.is_submitted():
        status_form.status.data = complaint.status.value
    messages = [
        {"author": m.author, "body": service.body_of(m), "on": m.created_on, "read_on": m.read_on,
         "staff": db.session.get(StaffUser, m.staff_user_id).name if m.staff_user_id else None}
        for m in complaint.messages
    ]
    body = render_template(
        "complaints/staff/detail.html",
        complaint=complaint,
        fields=service.decrypted(complaint),
        messages=messages,
        deadlines=service.deadlines(complaint, agency),
        next_step=next_step,
        assign=assign,
        status_form=status_form,
        note_form=forms.get("note_form") or NoteForm(prefix="note"),
        message_form=forms.get("message_form") or StaffReplyForm(prefix="message"),
        form=forms.get("form_with_errors") or StatusForm(prefix="unused", formdata=None),
        # Read after the caller committed its audit event, so this page load is always listed.
        history=complaint_history(db.session, complaint),
    )
    return body, status


@bp.get("/<complaint_id>")
@investigator_only
@no_store
def detail(complaint_id: str):
    complaint = _load(complaint_id, for_write=True)
    for message in complaint.messages:
        if message.author == "resident" and message.read_on is None:
            message.read_on = service.today()
    _audit("complaint.view", complaint)
    db.session.commit()
    return _render_detail(complaint)


@bp.post("/<complaint_id>/assign")
@investigator_only
def assign(complaint_id: str):
    complaint = _load(complaint_id, for_write=True)
    form = AssignForm(prefix="assign")
    agency = current_agency()
    choice = form.assignee.data or ""
    assignee = None
    if choice:
        # Ids fit in 63 bits; a longer number cannot be a staff member (and would overflow SQLite).
        valid = choice.isascii() and choice.isdigit() and len(choice) <= 18
        assignee = db.session.get(StaffUser, int(choice)) if valid else None
        if assignee is None or assignee.agency_id != agency.id or not assignee.has_role(Role.INVESTIGATOR):
            abort(400)
    complaint.assigned_to_id = assignee.id if assignee else None
    _audit("complaint.assign", complaint, assigned_to=complaint.assigned_to_id)
    db.session.commit()
    flash(_("Assignment saved."), "success")
    return redirect(url_for("complaint_staff.detail", complaint_id=complaint.id), code=303)


@bp.post("/<complaint_id>/status")
@investigator_only
def status(complaint_id: str):
    complaint = _load(complaint_id, for_write=True)
    if complaint.status == ComplaintStatus.CLOSED:
        flash(_("This complaint is closed. A closed complaint cannot change status."), "error")
        return redirect(url_for("complaint_staff.detail", complaint_id=complaint.id), code=303)
    form = StatusForm(prefix="status")
    if form.validate_on_submit() and form.status.data == complaint.status.value:
        flash(_("The status is unchanged."), "success")
        return redirect(url_for("complaint_staff.detail", complaint_id=complaint.id), code=303)
    if not form.errors:
        new = ComplaintStatus(form.status.data)
        disposition = Disposition(form.disposition.data) if form.disposition.data else None
        old = complaint.status
        try:
            service.change_status(complaint, new, disposition)
        except service.TransitionRefused:
            following = service.STATUS_PATH[service.STATUS_PATH.index(complaint.status) + 1]
            form.status.errors.append(
                _("A complaint that is %(current)s can only move to %(next)s. Steps cannot be skipped or undone.",
                  current=STATUS_LABELS[complaint.status], next=STATUS_LABELS[following])
            )
        else:
            _audit("complaint.status", complaint, old=old.value, new=new.value,
                   disposition=disposition.value if disposition else None)
            db.session.commit()
            flash(_("Status changed to %(status)s.", status=STATUS_LABELS[new]), "success")
            return redirect(url_for("complaint_staff.detail", complaint_id=complaint.id), code=303)
    _audit("complaint.view", complaint, after="refused status change")
    db.session.commit()
    return _render_detail(complaint, 400, status_form=form, form_with_errors=form)


def _post_message(complaint_id: str, author: str, prefix: str, done: str):
    complaint = _load(complaint_id, for_write=True)
    form = (NoteForm if author == "note" else StaffReplyForm)(prefix=prefix)
    if form.validate_on_submit():
        message = service.add_message(db.session, complaint, author, form.body.data, current_user().id)
        _audit(f"complaint.{'note' if author == 'note' else 'message'}", complaint, seq=message.seq)
        db.session.commit()
        flash(done, "success")
        return redirect(url_for("complaint_staff.detail", complaint_id=complaint.id), code=303)
    _audit("complaint.view", complaint)
    db.session.commit()
    kwargs = {"note_form" if author == "note" else "message_form": form, "form_with_errors": form}
    return _render_detail(complaint, 400, **kwargs)


@bp.post("/<complaint_id>/note")
@investigator_only
def note(complaint_id: str):
    return _post_message(complaint_id, "note", "note", _("Internal note saved. Only staff can see it."))


@bp.post("/<complaint_id>/message")
@investigator_only
def message(complaint_id: str):
    return _post_message(complaint_id, "staff", "message", _("Reply sent. The resident sees it when they use their receipt code."))
