"""Staff console pages: sign-in, the second factor, one's own account and the dashboard.

The areas (staff accounts, waves, invitations, response rates, exports, targets) live in their
own modules and are imported at the bottom so that they register on the same blueprint.
"""

from __future__ import annotations

import pyotp
from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..auth import (
    SignIn,
    attempt_code,
    attempt_password,
    check_totp,
    current_user,
    hash_password,
    pending_user,
    roles_required,
    sign_out,
    sign_out_everywhere,
    signed_in_required,
    verify_password,
)
from ..db import db
from ..menu import visible_menu, visible_panels
from ..models import Role
from ..qr import qr_svg
from ..security import is_safe_next
from .blueprint import bp
from .forms import CodeForm, ConfirmForm, PasswordChangeForm, SignInForm


@bp.app_context_processor
def _staff_context():
    return {"staff_user": current_user, "staff_menu": visible_menu}


@bp.after_request
def _no_store(response):
    # Staff pages hold personal and unpublished data: never keep them in a shared cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _after_sign_in():
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else url_for("staff.dashboard"), code=303)


def _refused_message() -> str:
    # The one answer to every refused sign-in: wrong, unknown, inactive or locked out alike.
    minutes = max(1, current_app.config["THROTTLE_RULES"]["signin"].window // 60)
    return _(
        "The email address or password is not right. After several wrong tries, sign-in from your "
        "network pauses for %(minutes)d minutes; an administrator can unlock your account.",
        minutes=minutes,
    )


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page():
    form = SignInForm()
    if form.validate_on_submit():
        result = attempt_password(form.email.data, form.password.data)
        if result is SignIn.OK:
            return _after_sign_in()
        if result is SignIn.NEED_CODE:
            return redirect(url_for("staff.sign_in_code", next=request.args.get("next")), code=303)
        form.password.errors.append(_refused_message())
    return render_template("staff/sign_in.html", form=form)


@bp.route("/sign-in/code", methods=["GET", "POST"], endpoint="sign_in_code")
def sign_in_code():
    user = pending_user()
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("staff.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        if attempt_code(user, form.code.data) is SignIn.OK:
            return _after_sign_in()
        form.code.errors.append(_("That code is not right. Enter the code your app shows now"))
    return render_template("staff/sign_in_code.html", form=form)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page():
    sign_out()
    flash(_("You have signed out."), "success")
    return redirect(url_for("staff.sign_in"), code=303)


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
            from ..auth import sign_in

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
