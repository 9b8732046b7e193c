"""An agency's own settings and the campaign's side of its agencies.

Its settings: name and contact text per language, languages, districts, complaint deadlines and
whether it is listed. One form and one way to save them, for the agency's administrators (staff
console) and the campaign's (campaign console).

The campaign's side: what each agency has run and publishes (counts and yes/no only, never a
complaint or a response), a new agency with its first administrator, and the published scores
shown on the campaign's public page. The latest published scores are made by the results area
(survey/results), which registers its reader here (``register_scores``), so the campaign's pages
never import another area.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from . import audit, invites
from .auth import record_role_change
from .db import db
from .i18n import KNOWN
from .instrument_store import sync_instruments
from .instruments import InstrumentDef, load_dir
from .models import Agency, Complaint, Response, Role, StaffUser, Wave, today
from .targets import TargetRow, replace_targets

MAX_DISTRICTS = 200

#: The settings the form changes, in the order the audit log lists them.
FIELDS = ("name", "city", "phone", "address", "default_language", "languages", "districts",
          "acknowledge_days", "close_days", "listed")


class AgencySettingsForm(FlaskForm):
    name = StringField(_l("Name of the agency"), validators=[DataRequired(_l("Enter the agency's name")), Length(max=200)])
    city = StringField(_l("City or area served"), validators=[DataRequired(_l("Enter the city or area")), Length(max=200)])
    phone = StringField(_l("Phone number for complaints"), validators=[Optional(), Length(max=64)])
    address = TextAreaField(_l("Address for complaints in person or by mail"), validators=[Optional(), Length(max=1000)])
    languages = SelectMultipleField(
        _l("Languages offered to residents"),
        description=_l("Pages, questionnaires and the complaint form are offered in these languages."),
        validators=[DataRequired(_l("Choose at least one language"))],
    )
    default_language = SelectField(_l("Main language"), description=_l("Shown first when a browser asks for none of the languages offered."))
    districts = TextAreaField(
        _l("Districts"),
        description=_l("One per line. New survey waves start with these districts."),
        validators=[Optional(), Length(max=20_000)],
    )
    acknowledge_days = IntegerField(
        _l("Days to acknowledge a complaint"),
        validators=[InputRequired(_l("Enter a number of days from 1 to 365")),
                    NumberRange(1, 365, _l("Enter a number of days from 1 to 365"))],
    )
    close_days = IntegerField(
        _l("Days to close a complaint"),
        validators=[InputRequired(_l("Enter a number of days from 1 to 3650")),
                    NumberRange(1, 3650, _l("Enter a number of days from 1 to 3650"))],
    )
    listed = BooleanField(
        _l("List the agency on the campaign's public page and name it in other agencies' benchmarks"),
        description=_l("Not listed, the agency's figures still count in the campaign's pooled figures, without its name."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offered = [SelectChoice(code, KNOWN[code].native) for code in current_app.config["LANGUAGES"] if code in KNOWN]
        self.languages.choices = offered
        self.default_language.choices = offered

    def validate_default_language(self, field: Any) -> None:
        if self.languages.data and field.data not in self.languages.data:
            raise ValidationError(_l("The main language must be one of the languages offered"))

    def validate_districts(self, field: Any) -> None:
        names = self.district_names()
        if len(names) > MAX_DISTRICTS:
            raise ValidationError(_l("Give at most 200 districts"))
        if any(len(name) > 100 for name in names):
            raise ValidationError(_l("A district's name can be at most 100 characters long"))

    def district_names(self) -> list[str]:
        seen: dict[str, None] = {}
        for line in (self.districts.data or "").splitlines():
            name = line.strip()
            if name:
                seen.setdefault(name, None)
        return list(seen)

    def fill_from(self, agency: Agency) -> None:
        for key in ("name", "city", "phone", "address", "default_language", "acknowledge_days", "close_days", "listed"):
            getattr(self, key).data = getattr(agency, key)
        self.languages.data = list(agency.languages or current_app.config["LANGUAGES"])
        self.districts.data = "\n".join(agency.districts or [])


class AgencyTextsForm(FlaskForm):
    """The agency's name, city and address as one language writes them (empty: as in the main settings)."""

    name = StringField(_l("Name of the agency"), validators=[Optional(), Length(max=200)])
    city = StringField(_l("City or area served"), validators=[Optional(), Length(max=200)])
    address = TextAreaField(_l("Address for complaints in person or by mail"), validators=[Optional(), Length(max=1000)])


def save_settings(session: Any, agency: Agency, form: AgencySettingsForm, staff_user_id: int | None) -> list[str]:
    """Write the form's settings to ``agency`` in the caller's write transaction and record the
    change on the agency's audit chain; return the names of the settings that changed."""
    wanted = {
        "name": form.name.data.strip(),
        "city": form.city.data.strip(),
        "phone": (form.phone.data or "").strip() or None,
        "address": (form.address.data or "").strip() or None,
        "default_language": form.default_language.data,
        "languages": [code for code in current_app.config["LANGUAGES"] if code in form.languages.data],
        "districts": form.district_names(),
        "acknowledge_days": form.acknowledge_days.data,
        "close_days": form.close_days.data,
        "listed": bool(form.listed.data),
    }
    if wanted["languages"] == list(current_app.config["LANGUAGES"]):
        wanted["languages"] = None  # every language, including those the deployment adds later
    changed = [key for key in FIELDS if getattr(agency, key) != wanted[key]]
    for key in changed:
        setattr(agency, key, wanted[key])
    if changed:
        audit.record(session, "agency.settings", "agency", str(agency.id), staff_user_id=staff_user_id,
                     agency_id=agency.id, detail={"changed": changed})
    return changed


def save_texts(session: Any, agency: Agency, lang: str, form: AgencyTextsForm, staff_user_id: int | None) -> None:
    """Store the agency's texts in ``lang`` (an empty field falls back to the main settings)."""
    given = {key: (getattr(form, key).data or "").strip() for key in ("name", "city", "address")}
    texts = {code: dict(values) for code, values in (agency.texts or {}).items() if code != lang}
    if any(given.values()):
        texts[lang] = {key: value for key, value in given.items() if value}
    if texts != (agency.texts or {}):
        agency.texts = texts
        audit.record(session, "agency.texts", "agency", str(agency.id), staff_user_id=staff_user_id,
                     agency_id=agency.id, detail={"language": lang})


def forget_cached(app: Any) -> None:
    """Drop this worker's copy of every agency's settings (other workers reread within 30 s)."""
    app.extensions.get("survey.agency", {}).clear()


# ------------------------------------------------------------------ the campaign's side


def instruments_on_offer() -> list[InstrumentDef]:
    """The questionnaire versions in the deployment's instruments folder, a new agency's choice."""
    return load_dir(current_app.config["INSTRUMENTS_DIR"])


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@dataclass(frozen=True)
class Progress:
    """Where one agency stands, in counts: what the campaign console shows."""

    agency: Agency
    waves_run: int = 0
    waves_open: int = 0
    responses: int = 0
    waves_published: int = 0
    # Complaint figures are published by finished quarter (the agency's complaint data page):
    # there are some once a complaint came in before the current quarter began.
    complaints_published: bool = False
    staff: int = 0


def progress(agencies: Sequence[Agency]) -> list[Progress]:
    """Every agency's progress, with one grouped query per figure (not one per agency)."""
    ids = [a.id for a in agencies]
    on = today()

    def counts(query: Any) -> dict[int, int]:
        return {agency_id: int(n) for agency_id, n in db.session.execute(query).all()}

    started = counts(select(Wave.agency_id, func.count()).where(Wave.agency_id.in_(ids), Wave.opens_on <= on)
                     .group_by(Wave.agency_id))
    running = counts(select(Wave.agency_id, func.count())
                     .where(Wave.agency_id.in_(ids), Wave.opens_on <= on, Wave.closes_on >= on, Wave.closed_early_on.is_(None))
                     .group_by(Wave.agency_id))
    published = counts(select(Wave.agency_id, func.count()).where(Wave.agency_id.in_(ids), Wave.published.is_(True))
                       .group_by(Wave.agency_id))
    responses = counts(select(Wave.agency_id, func.count(Response.id)).join(Response, Response.wave_id == Wave.id)
                       .where(Wave.agency_id.in_(ids)).group_by(Wave.agency_id))
    staff = counts(select(StaffUser.agency_id, func.count()).where(StaffUser.agency_id.in_(ids))
                   .group_by(StaffUser.agency_id))
    first_complaint = dict(db.session.execute(
        select(Complaint.agency_id, func.min(Complaint.received_on)).where(Complaint.agency_id.in_(ids))
        .group_by(Complaint.agency_id)).all())
    this_quarter = quarter_start(on)
    return [
        Progress(
            agency=a, waves_run=started.get(a.id, 0), waves_open=running.get(a.id, 0),
            responses=responses.get(a.id, 0), waves_published=published.get(a.id, 0),
            complaints_published=first_complaint.get(a.id) is not None and first_complaint[a.id] < this_quarter,
            staff=staff.get(a.id, 0),
        )
        for a in agencies
    ]


@dataclass
class NewAgency:
    """What the campaign's "New agency" form gives beyond the agency's own settings, checked."""

    slug: str
    instrument: tuple[str, int]
    admin_name: str
    admin_email: str
    peer_group: str | None = None
    host: str | None = None
    targets: list[TargetRow] = field(default_factory=list)
    targets_source: str | None = None


def create(new: NewAgency, settings: AgencySettingsForm, by: StaffUser) -> tuple[Agency, StaffUser, str]:
    """Create the agency with its settings, questionnaire and targets, and its first administrator
    (an account without a usable password); return them with the one-time link's token. Written to
    the campaign's audit chain and to the new agency's. The caller commits."""
    db.write()
    agency = Agency(slug=new.slug, name=settings.name.data.strip(), city=settings.city.data.strip(),
                    peer_group=new.peer_group, host=new.host, texts={})
    db.session.add(agency)
    db.session.flush()
    what = {"slug": agency.slug, "name": agency.name, "instrument": f"{new.instrument[0]} v{new.instrument[1]}",
            "targets": len(new.targets), "peer_group": new.peer_group, "host": new.host}
    audit.record(db.session, "campaign.agency_created", "agency", str(agency.id), staff_user_id=by.id,
                 agency_id=None, detail=what)
    audit.record(db.session, "agency.created", "agency", str(agency.id), staff_user_id=by.id,
                 agency_id=agency.id, detail=what | {"by": by.email})
    save_settings(db.session, agency, settings, by.id)
    list(sync_instruments(agency, Path(current_app.config["INSTRUMENTS_DIR"]), only={new.instrument}))
    replace_targets(agency.id, new.targets, new.targets_source)
    admin = StaffUser(agency_id=agency.id, email=new.admin_email, name=new.admin_name,
                      password_hash=invites.UNUSABLE, roles=[str(Role.ADMIN)])
    db.session.add(admin)
    db.session.flush()
    record_role_change(admin, [], by)
    token = invite(admin, by)
    return agency, admin, token


def invite(admin: StaffUser, by: StaffUser) -> str:
    """A new one-time link for ``admin`` (earlier ones stop working), on both audit chains."""
    token = invites.create(admin)
    detail = {"email": admin.email, "expires_in_days": invites.VALID_FOR.days}
    audit.record(db.session, "campaign.admin_invited", "staff_user", str(admin.id), staff_user_id=by.id,
                 agency_id=None, detail=detail | {"agency_id": admin.agency_id})
    audit.record(db.session, "staff.invited", "staff_user", str(admin.id), staff_user_id=by.id,
                 agency_id=admin.agency_id, detail=detail | {"by": by.email})
    return token


#: The settings only the campaign changes (the agency's administrators change the others too).
CAMPAIGN_SETTINGS = ("peer_group", "host")


def save_campaign_settings(agency: Agency, settings: AgencySettingsForm, values: dict[str, Any],
                           by: StaffUser) -> list[str]:
    """The campaign's change of an agency's settings: the agency's own (``save_settings``) and the
    campaign's (``values``: peer group, host), on the agency's audit chain and the campaign's.
    Returns the names of the settings that changed. The caller commits."""
    changed = save_settings(db.session, agency, settings, by.id)
    own = {}
    for name in CAMPAIGN_SETTINGS:
        if name in values and getattr(agency, name) != values[name]:
            own[name] = [getattr(agency, name), values[name]]
            setattr(agency, name, values[name])
    if own:
        audit.record(db.session, "agency.campaign_settings", "agency", str(agency.id), staff_user_id=by.id,
                     agency_id=agency.id, detail={"by": by.email, "changed": own})
    changed += list(own)
    if changed:
        audit.record(db.session, "campaign.agency_settings", "agency", str(agency.id), staff_user_id=by.id,
                     agency_id=None, detail={"slug": agency.slug, "changed": changed})
    return changed


# ------------------------------------------------------------------ published scores

#: The results area's reader of an agency's latest published scores.
_SCORES: list[Callable[[Agency], Any]] = []


def register_scores(reader: Callable[[Agency], Any]) -> None:
    """Set the reader of an agency's latest published scores (the results area, at import)."""
    if reader not in _SCORES:
        _SCORES[:] = [reader]


def latest_scores(agency: Agency) -> Any:
    """The headline scores of the agency's latest published wave (None: nothing published, or no
    reader registered)."""
    return _SCORES[0](agency) if _SCORES else None
