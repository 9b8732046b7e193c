"""An agency's own settings: its name and contact text per language, languages, districts,
complaint deadlines and whether it is listed. One form and one way to save them, for the
agency's administrators (staff console) and the campaign's (campaign console)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
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

from . import audit
from .i18n import KNOWN
from .models import Agency

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
