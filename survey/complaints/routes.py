"""Complaints as residents see them: the policy, the form, the receipt and following up.

The receipt code never travels in a URL: the form POSTs it, and after a right code the
complaint's id is kept in the (signed) session for a short time behind a code-free address.
The code itself crosses one redirect encrypted in the session and is removed once shown.
"""

from __future__ import annotations

import base64
import time
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from .. import crypto, throttle
from ..context import current_agency, locale_code
from ..db import db
from ..models import Complaint
from . import service
from .forms import CATEGORY_LABELS, STATUS_LABELS, ComplaintForm, ReceiptForm, ReplyForm

bp = Blueprint("complaints", __name__, template_folder="templates")

FOLLOW_UP_SECONDS = 15 * 60
_RECEIPT_KEY = "complaint_receipt"
_FOLLOW_KEY = "complaint_follow"


def no_store(view):
    """Pages that show or take what a resident wrote are never cached (shared computers)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    return wrapped


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"category_labels": CATEGORY_LABELS, "status_labels": STATUS_LABELS}


@bp.get("/")
def policy():
    return render_template("complaints/policy.html")


def stash_receipt(code: str) -> None:
    """Keep the new code for exactly one showing (encrypted: the session cookie is only signed)."""
    session[_RECEIPT_KEY] = base64.urlsafe_b64encode(crypto.encrypt(code, _RECEIPT_KEY)).decode("ascii")


def show_receipt_once(template: str, **context: Any) -> str:
    """Render the page that shows the new code, then forget the code.

    The code is dropped only once its page rendered: if the database is away at that moment the
    visitor gets "try again in a moment" and the reload still shows the code.
    """
    token = session.get(_RECEIPT_KEY)
    page = render_template(template, code=crypto.decrypt(base64.urlsafe_b64decode(token), _RECEIPT_KEY) if token else None, **context)
    session.pop(_RECEIPT_KEY, None)
    return page


def save_new_complaint(form: ComplaintForm, **kwargs: Any) -> tuple[Complaint, str]:
    """File the complaint in a write transaction, retrying once if two took the same reference."""
    for attempt in range(3):
        try:
            complaint, code = service.file_complaint(db.write(), current_agency(), form.data, **kwargs)
            db.session.commit()
            return complaint, code
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@bp.route("/new", methods=["GET", "POST"])
@no_store
def new():
    form = ComplaintForm()
    if not form.is_submitted():
        form.language.data = locale_code()
    status = 200
    if form.validate_on_submit():
        if throttle.take(throttle.COMPLAINT):
            _complaint, code = save_new_complaint(form)
            stash_receipt(code)
            return redirect(url_for("complaints.receipt"), code=303)
        # What the resident wrote stays in the form; nothing was saved.
        status = 429
        form.narrative.errors = [*form.narrative.errors,
            _("Too many complaints were sent from this network in the last day, so this one was not sent. "
              "What you wrote is still here: please try again later."),
        ]
    return render_template(
        "complaints/form.html", form=form, layout="base.html", heading=_("Make a complaint"), submit_label=_("Send the complaint")
    ), status


@bp.get("/receipt")
@no_store
def receipt():
    return show_receipt_once("complaints/receipt.html")


# --- following up ------------------------------------------------------------------------------


def _followed_complaint() -> Complaint | None:
    state = session.get(_FOLLOW_KEY)
    if not state or state.get("until", 0) < time.time():
        session.pop(_FOLLOW_KEY, None)
        return None
    complaint = db.session.get(Complaint, state["id"])
    if complaint is None or complaint.follow_version != state.get("v") or complaint.agency_id != current_agency().id:
        # The resident left this follow-up ("Leave this page"): a replayed cookie shows nothing;
        # nor does one carried to another agency's address.
        session.pop(_FOLLOW_KEY, None)
        return None
    return complaint


@bp.route("/follow-up", methods=["GET", "POST"])
@no_store
def follow_up():
    form = ReceiptForm()
    if form.validate_on_submit():
        if not throttle.take(throttle.RECEIPT):
            return render_template("complaints/follow_up_start.html", form=form, blocked=True), 429
        # Well-formed or not, every code takes the same path: hash, look up, answer.
        complaint = service.find_by_receipt(db.session, form.code.data, current_agency().id)
        if complaint is not None:
            throttle.refund(throttle.RECEIPT)  # only wrong codes count
            session[_FOLLOW_KEY] = {"id": complaint.id, "until": int(time.time()) + FOLLOW_UP_SECONDS,
                                    "v": complaint.follow_version}
            return redirect(url_for("complaints.status"), code=303)
        # The typed code is not echoed back: the answer is the same page for every wrong code.
        form.code.raw_data, form.code.data = [], ""
        form.code.errors.append(_("We could not find a complaint with that code. Check the code and try again."))
    return render_template("complaints/follow_up_start.html", form=form, blocked=False)


@bp.route("/status", methods=["GET", "POST"])
@no_store
def status():
    complaint = _followed_complaint()
    if complaint is None:
        flash(_("For your privacy, please enter your receipt code again."), "info")
        return redirect(url_for("complaints.follow_up"), code=303)
    form = ReplyForm()
    if form.validate_on_submit():
        service.add_message(db.write(), db.session.merge(complaint), "resident", form.body.data)
        db.session.commit()
        flash(_("Your message was sent to the investigator."), "success")
        return redirect(url_for("complaints.status"), code=303)
    agency = current_agency()
    messages = [
        {"author": m.author, "body": service.body_of(m), "on": m.created_on}
        for m in complaint.messages
        if m.author in ("resident", "staff")
    ]
    # What the resident wrote, as the receipt page promises; contact details stay out (whoever
    # holds the code could be someone else, and the details are not needed to follow up).
    written = service.decrypted(complaint)
    written.pop("contact", None)
    return render_template(
        "complaints/status.html",
        complaint=complaint,
        form=form,
        written=written,
        messages=messages,
        deadlines=service.deadlines(complaint, agency),
    )


@bp.post("/follow-up/end")
def end_follow_up():
    complaint = _followed_complaint()
    if complaint is not None:
        # End the follow-up on the server too: every cookie that carried it now shows nothing.
        write = db.write()
        write.execute(update(Complaint).where(Complaint.id == complaint.id)
                      .values(follow_version=Complaint.follow_version + 1))
        write.commit()
    session.pop(_FOLLOW_KEY, None)
    flash(_("You have left your complaint. Use your receipt code to come back."), "success")
    return redirect(url_for("complaints.policy"), code=303)


# --- public complaint data ---------------------------------------------------------------------


def _published_quarters():
    from . import stats

    threshold = int(current_app.config["SMALL_COUNT_THRESHOLD"])
    return stats.build(db.session, current_agency(), threshold), threshold


@bp.get("/data")
def data():
    from . import stats
    from .forms import CHANNEL_LABELS, DISPOSITION_LABELS

    quarters, threshold = _published_quarters()
    labels = {
        "received_by_channel": {c.value: label for c, label in CHANNEL_LABELS.items()},
        "received_by_category": CATEGORY_LABELS,
        "closed_by_disposition": {d.value: label for d, label in DISPOSITION_LABELS.items()},
    }
    return render_template(
        "complaints/data.html", quarters=quarters, threshold=threshold, labels=labels, cell_text=stats.cell_text
    )


@bp.get("/data.csv")
def data_csv():
    from . import stats

    quarters, threshold = _published_quarters()
    response = make_response(stats.to_csv(quarters, threshold))
    response.mimetype = "text/csv"
    response.headers["Content-Disposition"] = "attachment; filename=complaint-data.csv"
    return response
