"""Staff accounts and their roles (administrators only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import throttle
from ..auth import (
    current_user,
    hash_password,
    record_role_change,
    role_changes,
    roles_required,
    sign_in_account,
)
from ..context import current_agency
from ..db import db
from ..menu import register
from ..models import Role, StaffUser
from .blueprint import bp
from .forms import ROLE_LABELS, StaffUserForm

register(_l("Staff accounts"), "staff.users", (Role.ADMIN,), order=90)


def _taken(except_id: int | None = None) -> set[str]:
    return {
        email.lower()
        for uid, email in db.session.execute(
            select(StaffUser.id, StaffUser.email).where(StaffUser.agency_id == current_agency().id)
        ).all()
        if uid != except_id
    }


@bp.get("/users")
@roles_required(Role.ADMIN)
def users():
    people = db.session.scalars(
        select(StaffUser).where(StaffUser.agency_id == current_agency().id).order_by(StaffUser.name)
    ).all()
    keys = {sign_in_account(p.email, p.agency_id): p.email for p in people}
    locked = {keys[key] for key in throttle.locked_accounts(throttle.SIGNIN, keys)}
    return render_template(
        "staff/users.html", people=people, role_labels=ROLE_LABELS, locked=locked,
        changes=role_changes(current_agency().id),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form = StaffUserForm(creating=True, taken=_taken())
    if form.validate_on_submit():
        db.write()
        user = StaffUser(
            agency_id=current_agency().id,
            email=form.email.data.strip().lower(),
            name=form.name.data.strip(),
            password_hash=hash_password(form.password.data),
            roles=sorted(set(form.roles.data)),
            totp_required=form.totp_required.data,
            active=form.active.data,
        )
        db.session.add(user)
        db.session.flush()
        record_role_change(user, [], current_user())
        db.session.commit()
        flash(_("The account for %(email)s is created.", email=user.email), "success")
        return redirect(url_for("staff.users"), code=303)
    return render_template("staff/user_form.html", form=form, person=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    person = db.session.get(StaffUser, user_id)
    if person is None or person.agency_id != current_agency().id:
        abort(404)
    form = StaffUserForm(obj=person, taken=_taken(person.id))
    if form.validate_on_submit():
        me = current_user()
        if person.id == me.id and (str(Role.ADMIN) not in form.roles.data or not form.active.data):
            form.roles.errors.append(_("You cannot remove your own administrator role or deactivate yourself; ask another administrator"))
        else:
            signed_out = (
                bool(form.password.data)
                or form.reset_totp.data
                or set(form.roles.data) != set(person.roles)
                or (person.active and not form.active.data)
            )
            db.write()
            before = list(person.roles)
            person.name = form.name.data.strip()
            person.email = form.email.data.strip().lower()
            person.roles = sorted(set(form.roles.data))
            person.totp_required = form.totp_required.data
            person.active = form.active.data
            if form.password.data:
                person.password_hash = hash_password(form.password.data)
            if form.reset_totp.data:
                person.totp_secret = None
                person.totp_last_step = None
            if form.unlock.data:
                throttle.forget_account(throttle.SIGNIN, sign_in_account(person.email, person.agency_id), everywhere=True)
            record_role_change(person, before, me)
            if signed_out and person.id != me.id:
                # A changed password, roles or second factor takes effect at once on every device.
                person.session_version += 1
            db.session.commit()
            flash(_("The account for %(email)s is saved.", email=person.email), "success")
            return redirect(url_for("staff.users"), code=303)
    locked = bool(throttle.locked_accounts(throttle.SIGNIN, [sign_in_account(person.email, person.agency_id)]))
    return render_template("staff/user_form.html", form=form, person=person, locked=locked)
