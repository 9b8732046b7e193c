"""The sign-in pages' steps (password, then the second factor), shared by the staff console and
the campaign console: one form, one refusal message, one throttle (survey/auth.py)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .auth import SignIn, attempt_code, attempt_password, pending_user, sign_out
from .security import is_safe_next


class SignInForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(_l("Enter your email address")), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password")), Length(max=1024)]
    )


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        description=_l("The 6 digits your app shows now."),
        validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app")), Length(max=20)],
    )


def refused_message() -> str:
    """The one answer to every refused sign-in: wrong, unknown, inactive or locked out alike."""
    minutes = max(1, current_app.config["THROTTLE_RULES"]["signin"].window // 60)
    return _(
        "The email address or password is not right. After several wrong tries, sign-in from your "
        "network pauses for %(minutes)d minutes; an administrator can unlock your account.",
        minutes=minutes,
    )


def after_sign_in(home: str) -> Response:
    target = request.args.get("next")
    return redirect(target if is_safe_next(target) else url_for(home), code=303)


def password_page(*, code_endpoint: str, home: str, layout: str, heading: str) -> str | Response:
    """The email and password page; the account signed in is one of this page's scope
    (the request's agency, or the campaign's accounts on the campaign's pages)."""
    form = SignInForm()
    if form.validate_on_submit():
        result = attempt_password(form.email.data, form.password.data)
        if result is SignIn.OK:
            return after_sign_in(home)
        if result is SignIn.NEED_CODE:
            return redirect(url_for(code_endpoint, next=request.args.get("next")), code=303)
        form.password.errors.append(refused_message())
    return render_template("sign_in.html", form=form, layout=layout, heading=heading)


def code_page(*, sign_in_endpoint: str, home: str, layout: str) -> str | Response:
    """The second-factor page for whoever gave the right password a moment ago."""
    user = pending_user()
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for(sign_in_endpoint))
    form = CodeForm()
    if form.validate_on_submit():
        if attempt_code(user, form.code.data) is SignIn.OK:
            return after_sign_in(home)
        form.code.errors.append(_("That code is not right. Enter the code your app shows now"))
    return render_template("sign_in_code.html", form=form, layout=layout)


def signed_out(sign_in_endpoint: str) -> Response:
    """End this session (the sign-out button) and go back to the sign-in page."""
    sign_out()
    flash(_("You have signed out."), "success")
    return redirect(url_for(sign_in_endpoint), code=303)
