"""Staff console pages: sign-in, the second factor, one's own account and the dashboard.

The areas (staff accounts, waves, invitations, response rates, exports, targets) live in their
own modules and are imported at the bottom so that they register on the same blueprint.
"""

from __future__ import annotations

import pyotp
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import invites
from ..auth import (
    check_totp,
    current_user,
    hash_password,
    roles_required,
    sign_in,
    sign_out_everywhere,
    signed_in_required,
    verify_password,
)
from ..context import current_agency
from ..db import db
from ..menu import visible_menu, visible_panels
from ..models import Role, StaffUser
from ..qr import qr_svg
from ..signin import CodeForm, code_page, password_page, signed_out
from .blueprint import bp
from .forms import ConfirmForm, PasswordChangeForm, SetPasswordForm


@bp.app_context_processor
def _staff_context():
    return {"staff_user": current_user, "staff_menu": visible_menu}


@bp.after_request
def _no_store(response):
    # Staff pages hold personal and unpublished data: never keep them in a shared cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


LAYOUT = "staff/base.html"


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    return password_page(code_endpoint="staff.sign_in_code", home="staff.dashboard", layout=LAYOUT,
                         heading=_("Staff sign-in"))


@bp.route("/sign-in/code", methods=["GET", "POST"], endpoint="sign_in_code")
def sign_in_code():
    return code_page(sign_in_endpoint="staff.sign_in", home="staff.dashboard", layout=LAYOUT)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page():
    return signed_out("staff.sign_in")


#: Where an invited account's one-time link is kept between its two pages: the link's token
#: leaves the address bar (and the browser's history) at once.
_WELCOME_KEY = "welcome_token"


@bp.get("/welcome/<token>")
def welcome_link(token: str):
    session[_WELCOME_KEY] = token
    return redirect(url_for("staff.welcome"), code=303)


@bp.route("/welcome", methods=["GET", "POST"])
def welcome():
    """An invited administrator sets a password with the campaign's one-time link and is signed in."""
    found = invites.find(session.get(_WELCOME_KEY, ""), current_agency().id)
    if isinstance(found, invites.Refused):
        session.pop(_WELCOME_KEY, None)
        return render_template("staff/welcome.html", refused=found), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        db.write()
        found = invites.find(session.get(_WELCOME_KEY, ""), current_agency().id)  # again, inside the write
        if isinstance(found, invites.Refused):
            db.session.rollback()
            return render_template("staff/welcome.html", refused=found), 410
        user = invites.accept(found, form.new.data)
        db.session.commit()
        session.pop(_WELCOME_KEY, None)
        sign_in(user)
        flash(_("Your password is set. Welcome."), "success")
        return redirect(url_for("staff.dashboard"), code=303)
    user = db.session.get(StaffUser, found.staff_user_id)
    return render_template("staff/welcome.html", refused=None, form=form, user=user)


@bp.get("/")
@signed_in_required
def dashboard():
    user = current_user()
    return render_template("staff/dashboard.html", user=user, panels=visible_panels(user))


@bp.route("/account", methods=["GET", "POST"])
@roles_required(*Role, allow_without_totp=True)
def account():
    user = current_user()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        if not verify_password(user, form.current.data):
            form.current.errors.append(_("Your current password is not right"))
        else:
            user.password_hash = hash_password(form.new.data)
            # Other devices signed in with the old password are signed out.
            user.session_version += 1
            db.session.commit()
            sign_in(user)
            flash(_("Your password is changed. You are signed out on every other device."), "success")
            return redirect(url_for("staff.account"), code=303)
    return render_template("staff/account.html", user=user, form=form, confirm=ConfirmForm(formdata=None))


@bp.post("/account/sign-out-everywhere")
@roles_required(*Role, allow_without_totp=True)
def sign_out_all():
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    sign_out_everywhere(current_user())
    flash(_("You are signed out on every device, including this one."), "success")
    return redirect(url_for("staff.sign_in"), code=303)


@bp.route("/account/second-factor", methods=["GET", "POST"])
@roles_required(*Role, allow_without_totp=True)
def totp_enrol():
    user = current_user()
    form = CodeForm()
    if request.method == "GET" or "totp_enrol_secret" not in session:
        session["totp_enrol_secret"] = pyotp.random_base32()
    secret = session["totp_enrol_secret"]
    if form.validate_on_submit():
        if check_totp(user, secret, form.code.data):
            user.totp_secret = secret
            db.session.commit()
            session.pop("totp_enrol_secret", None)
            flash(_("Your authenticator app is set up. You will need a code from it each time you sign in."), "success")
            return redirect(url_for("staff.account"), code=303)
        form.code.errors.append(_("That code is not right. Check the app's clock and enter the code it shows now"))
    issuer = "Community survey"
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render_template(
        "staff/totp_enrol.html", form=form, user=user, secret=grouped,
        qr=qr_svg(uri, _("QR code for your authenticator app")),
    )


from . import admin, exports, invitations, rates, settings, targets, waves  # noqa: E402,F401  (register routes)
