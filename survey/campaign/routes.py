"""The campaign's pages: the public page of participating agencies, and the console where a
campaign administrator follows every agency's progress, creates agencies and invites their
first administrators.

The console shows counts and yes/no alone: never a complaint, a response or anything a resident
wrote. Campaign accounts (no agency, the campaign role) sign in here and nowhere else.
"""

from __future__ import annotations

from urllib.parse import urljoin

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy import select

from .. import agencies, invites, tenancy
from ..auth import campaign_required, current_user
from ..context import AgencyInfo, locale_code
from ..db import db
from ..i18n import KNOWN, current_code, remember_choice
from ..instruments import load_file
from ..models import Agency, Role, StaffUser
from ..signin import code_page, password_page, signed_out
from ..targets import parse_targets, read_upload, weighting_categories
from .forms import CampaignSettingsForm, NewAgencyForm

bp = Blueprint("campaign", __name__, template_folder="templates")

LAYOUT = "campaign/base.html"
#: Where a new invitation link waits for the page that shows it once.
_LINK_KEY = "campaign_invite_link"


@bp.context_processor
def _campaign_context():
    name = current_app.config["CAMPAIGN_NAMES"].get(current_code(), current_app.config["CAMPAIGN_NAME"])
    return {"site_name": name, "home_url": url_for("campaign.home"),
            "language_url": url_for("campaign.set_language")}


@bp.after_request
def _no_store(response):
    if request.endpoint != "campaign.home":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# ------------------------------------------------------------------ the public page


def agency_url(agency: Agency, endpoint: str) -> str:
    """The address of one of ``agency``'s pages, from the campaign's pages."""
    base = tenancy.agency_address(agency.slug, agency.host).rstrip("/")
    return base + url_for(endpoint)[len(request.script_root):]


@bp.get("/")
def home():
    listed = db.session.scalars(select(Agency).where(Agency.listed.is_(True)).order_by(Agency.name)).all()
    facts = {p.agency.id: p for p in agencies.progress(listed)}
    rows = []
    for agency in listed:
        scores = agencies.latest_scores(agency) if facts[agency.id].waves_published else None
        shown = AgencyInfo.of(agency).in_language(locale_code())  # its name as this language writes it
        rows.append({"agency": agency, "name": shown.name, "facts": facts[agency.id], "scores": scores,
                     "home": agency_url(agency, "public.home"), "results": agency_url(agency, "results.index"),
                     "data": agency_url(agency, "complaints.data"), "policy": agency_url(agency, "complaints.policy")})
    return render_template("campaign/home.html", rows=rows, min_n=current_app.config["RESULTS_MIN_N"])


@bp.post("/language")
def set_language():
    return remember_choice("campaign.home")


# ------------------------------------------------------------------ signing in and out


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    return password_page(code_endpoint="campaign.sign_in_code", home="campaign.console", layout=LAYOUT,
                         heading=_("Campaign sign-in"))


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code():
    return code_page(sign_in_endpoint="campaign.sign_in", home="campaign.console", layout=LAYOUT)


@bp.post("/sign-out", endpoint="sign_out")
def sign_out_page():
    return signed_out("campaign.sign_in")


# ------------------------------------------------------------------ the console


@bp.get("/console")
@campaign_required
def console():
    everyone = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    return render_template("campaign/console.html", rows=agencies.progress(everyone),
                           language_names=_language_names())


def _language_names() -> dict[str, str]:
    return {code: KNOWN[code].native for code in current_app.config["LANGUAGES"] if code in KNOWN}


def _taken_hosts(except_id: int | None = None) -> set[str]:
    return {host for aid, host in db.session.execute(select(Agency.id, Agency.host)).all()
            if host and aid != except_id}


def _instruments() -> dict[str, tuple[str, int]]:
    return {f"{inst.key}@{inst.version}": (inst.key, inst.version) for inst in agencies.instruments_on_offer()}


@bp.route("/agencies/new", methods=["GET", "POST"])
@campaign_required
def agency_new():
    offered = {}
    for inst in agencies.instruments_on_offer():
        offered[f"{inst.key}@{inst.version}"] = _("%(title)s (%(key)s), version %(version)d",
                                                  title=inst.title.get("en", inst.key), key=inst.key, version=inst.version)
    form = NewAgencyForm(taken_hosts=_taken_hosts(), instruments=list(offered.items()),
                         taken_slugs=set(db.session.scalars(select(Agency.slug))))
    if request.method == "GET":
        form.process(data={"languages": list(current_app.config["LANGUAGES"]),
                           "default_language": current_app.config["DEFAULT_LANGUAGE"],
                           "acknowledge_days": 7, "close_days": 90, "instrument": next(reversed(offered), None)})
    problems: list[str] = []
    if form.validate_on_submit():
        instrument = _instruments()[form.instrument.data]
        rows = []
        if form.targets.data:
            text, problem = read_upload(form.targets.data, None)
            if problem:
                form.targets.errors.append(problem)
            else:
                path = next(i.path for i in agencies.instruments_on_offer() if (i.key, i.version) == instrument)
                districts = form.district_names()
                rows, problems = parse_targets(text, weighting_categories([load_file(path)], districts), districts)
                if problems:
                    form.targets.errors.append(_("Correct the rows of the CSV file listed above and choose it again"))
        if not form.errors:
            new = agencies.NewAgency(
                slug=form.slug.data.strip(), instrument=instrument,
                admin_name=form.admin_name.data.strip(), admin_email=form.admin_email.data.strip().lower(),
                peer_group=(form.peer_group.data or "").strip() or None, host=_host(form),
                targets=rows, targets_source=(form.targets_source.data or "").strip() or None,
            )
            agency, _admin, token = agencies.create(new, form, current_user())
            db.session.commit()
            flash(_("%(name)s is created.", name=agency.name), "success")
            return _show_link(agency, token)
    return render_template("campaign/agency_new.html", form=form, problems=problems,
                           host_mode=tenancy.mode() == "host")


def _host(form: CampaignSettingsForm) -> str | None:
    if tenancy.mode() != "host":
        return None
    return (form.host.data or "").strip().lower() or None


def _show_link(agency: Agency, token: str):
    """Keep the new link for the one page that shows it (not in the address: out of the history)."""
    session[_LINK_KEY] = {"agency": agency.id, "token": token}
    return redirect(url_for("campaign.invitation", agency_id=agency.id), code=303)


def _agency_or_404(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    return agency


def _first_admin(agency: Agency) -> StaffUser | None:
    """The agency's first administrator (the account the campaign invited)."""
    people = db.session.scalars(select(StaffUser).where(StaffUser.agency_id == agency.id).order_by(StaffUser.id))
    return next((person for person in people if str(Role.ADMIN) in person.roles), None)


@bp.get("/agencies/<int:agency_id>/invitation")
@campaign_required
def invitation(agency_id: int):
    agency = _agency_or_404(agency_id)
    stashed = session.pop(_LINK_KEY, None)
    link = None
    if stashed and stashed.get("agency") == agency.id:
        base = urljoin(request.host_url, tenancy.agency_address(agency.slug, agency.host))
        link = base.rstrip("/") + url_for("staff.welcome_link", token=stashed["token"])[len(request.script_root):]
    admin = _first_admin(agency)
    return render_template("campaign/invitation.html", agency=agency, link=link, admin=admin,
                           pending=admin is not None and admin.password_hash == invites.UNUSABLE,
                           days=invites.VALID_FOR.days)


@bp.post("/agencies/<int:agency_id>/invitation")
@campaign_required
def reinvite(agency_id: int):
    agency = _agency_or_404(agency_id)
    admin = _first_admin(agency)
    if not FlaskForm().validate_on_submit() or admin is None:
        abort(400)
    if admin.password_hash != invites.UNUSABLE:
        # A new link would let whoever holds it set the password of an account in use.
        flash(_("The administrator has chosen a password: no link is needed."), "info")
        return redirect(url_for("campaign.invitation", agency_id=agency.id), code=303)
    db.write()
    token = agencies.invite(admin, current_user())
    db.session.commit()
    return _show_link(agency, token)


@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@campaign_required
def agency_edit(agency_id: int):
    agency = _agency_or_404(agency_id)
    form = CampaignSettingsForm(taken_hosts=_taken_hosts(agency.id))
    if request.method == "GET":
        form.fill_from(agency)
        form.peer_group.data = agency.peer_group
        form.host.data = agency.host
    if form.validate_on_submit():
        db.write()
        values = {"peer_group": (form.peer_group.data or "").strip() or None}
        if tenancy.mode() == "host":
            values["host"] = _host(form)
        changed = agencies.save_campaign_settings(agency, form, values, current_user())
        db.session.commit()
        agencies.forget_cached(current_app)  # this worker shows the change at once
        if changed:
            flash(_("The settings of %(name)s are saved.", name=agency.name), "success")
        return redirect(url_for("campaign.console"), code=303)
    return render_template("campaign/agency_edit.html", form=form, agency=agency, host_mode=tenancy.mode() == "host")
