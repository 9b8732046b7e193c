"""Staff console pages: sign-in and the dashboard (the areas plug in their own pages)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..db import db
from ..models import StaffUser
from ..security import is_safe_next
from .auth import current_user, sign_in, sign_out, signed_in_required, verify_password
from .forms import SignInForm
from .menu import visible_menu

bp = Blueprint("staff", __name__, template_folder="templates")


@bp.app_context_processor
def _staff_context():
    return {"staff_user": current_user, "staff_menu": visible_menu}


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalars(select(StaffUser).where(func.lower(StaffUser.email) == email)).first()
        if verify_password(user, form.password.data) and user is not None and user.active:
            sign_in(user)
            target = request.args.get("next")
            return redirect(target if is_safe_next(target) else url_for("staff.dashboard"), code=303)
        form.password.errors.append(_("The email address or password is not right"))
    return render_template("staff/sign_in.html", form=form)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page():
    sign_out()
    flash(_("You have signed out."), "success")
    return redirect(url_for("staff.sign_in"), code=303)


@bp.get("/")
@signed_in_required
def dashboard():
    return render_template("staff/dashboard.html", user=current_user())
