"""Forms of the staff console. Validation lives here, with messages that say what to do."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FloatField,
    IntegerField,
    PasswordField,
    RadioField,
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
    Regexp,
    ValidationError,
)

from ..i18n import KNOWN
from ..models import InstrumentVersion, Role

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MIN_PASSWORD = 12

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator (staff accounts, publishing results)"),
    Role.SURVEY_MANAGER: _l("Survey manager (waves, invitations, response rates)"),
    Role.ANALYST: _l("Analyst (results, exports, population targets)"),
    Role.INVESTIGATOR: _l("Complaint investigator"),
}


def choices(pairs: Any) -> list[SelectChoice]:
    """Options for a choice field (wtforms 3.3 wants SelectChoice, not tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class ConfirmForm(FlaskForm):
    """A button that changes something: CSRF only."""


class PublishForm(FlaskForm):
    published = BooleanField(_l("Results of this wave are published"))


def _check_password(field: Any) -> None:
    if field.data and len(field.data) < MIN_PASSWORD:
        raise ValidationError(_l("Enter a password of at least 12 characters"))


class StaffUserForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the person's name")), Length(max=200)])
    email = EmailField(
        _l("Email address"),
        validators=[DataRequired(_l("Enter an email address")), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address like name@example.org")), Length(max=254)],
    )
    roles = SelectMultipleField(
        _l("Roles"),
        description=_l("A person can hold several roles. No role includes another."),
        choices=choices((str(role), label) for role, label in ROLE_LABELS.items()),
        validators=[DataRequired(_l("Choose at least one role"))],
    )
    password = PasswordField(
        _l("Password"),
        description=_l("At least 12 characters. Leave empty to keep the current password."),
        validators=[Optional(), Length(max=1024)],
    )
    totp_required = BooleanField(_l("Require a second factor (authenticator app) at sign-in"))
    active = BooleanField(_l("Account is active"), default=True)
    reset_totp = BooleanField(_l("Remove the person's authenticator app (they set it up again)"))
    unlock = BooleanField(_l("Unlock after too many failed sign-ins"))

    def __init__(self, *args: Any, creating: bool = False, taken: set[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.taken = taken or set()
        if creating:
            self.password.description = _l("At least 12 characters. Give it to the person in a safe way.")
            # Optional() would end the checks of an empty password before validate_password runs.
            self.password.validators = [DataRequired(_l("Enter a password of at least 12 characters")), Length(max=1024)]

    def validate_password(self, field: Any) -> None:
        if self.creating and not field.data:
            raise ValidationError(_l("Enter a password of at least 12 characters"))
        _check_password(field)

    def validate_email(self, field: Any) -> None:
        if field.data and field.data.strip().lower() in self.taken:
            raise ValidationError(_l("There is already a staff account with this email address"))


class SetPasswordForm(FlaskForm):
    """A new password alone: an invited account's first."""

    new = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters."),
        validators=[DataRequired(_l("Enter a new password of at least 12 characters")), Length(max=1024)],
    )

    def validate_new(self, field: Any) -> None:
        _check_password(field)


class PasswordChangeForm(SetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password"))])


def parse_strata(text: str) -> list[tuple[str, int | None]]:
    """Lines of "name, population" (population optional) into pairs; raise ValueError with a message."""
    strata: list[tuple[str, int | None]] = []
    seen: set[str] = set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, _sep, size = line.partition(",")
        name = " ".join(name.split())
        if not name or len(name) > 100:
            raise ValueError(str(_l("Line %(n)d: give the district's name (up to 100 characters) before the comma", n=number)))
        if name.lower() in seen:
            raise ValueError(str(_l("Line %(n)d: the district %(name)s is listed twice", n=number, name=name)))
        seen.add(name.lower())
        population: int | None = None
        if size.strip():
            cleaned = size.strip().replace(",", "").replace("_", "").replace(" ", "")
            if not cleaned.isdigit() or int(cleaned) <= 0:
                raise ValueError(
                    str(_l("Line %(n)d: the population of %(name)s must be a whole number above 0, like 31000", n=number, name=name))
                )
            population = int(cleaned)
        strata.append((name, population))
    return strata


class WaveForm(FlaskForm):
    instrument_version = RadioField(
        _l("Questionnaire"), coerce=int, validators=[InputRequired(_l("Choose the questionnaire version"))]
    )
    title = StringField(
        _l("Title"), description=_l("For example: Community survey 2026 Q4."),
        validators=[DataRequired(_l("Enter a title for the wave")), Length(max=200)],
    )
    slug = StringField(
        _l("Short name"),
        description=_l("Used in addresses and exports: lower-case letters, digits and dashes, like 2026-q4."),
        validators=[DataRequired(_l("Enter a short name like 2026-q4")), Length(max=64)],
    )
    opens_on = DateField(_l("Opens on"), validators=[InputRequired(_l("Enter the date the wave opens"))])
    closes_on = DateField(_l("Closes on"), validators=[InputRequired(_l("Enter the date the wave closes"))])
    mode = RadioField(
        _l("How residents are invited"),
        choices=choices([
            ("invitation", _l("Mailed letters with access codes (a probability sample)")),
            ("open_link", _l("An open link anyone can use (no response rates, no base weights)")),
        ]),
        validators=[InputRequired(_l("Choose how residents are invited"))],
    )
    languages = SelectMultipleField(
        _l("Languages"),
        description=_l("Only approved translations, or draft ones you accept below."),
        validators=[DataRequired(_l("Choose at least one language"))],
    )
    accept_drafts = SelectMultipleField(
        _l("Accept draft translations"),
        description=_l("A draft translation has not been checked by a fluent speaker. Residents will see it as it is."),
    )
    strata = TextAreaField(
        _l("Districts (strata) and their populations"),
        description=_l("One per line: name, population. For example: North, 31000"),
    )

    def __init__(
        self,
        *args: Any,
        versions: Mapping[int, InstrumentVersion],
        taken_slugs: set[str],
        instrument_locked: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.versions = versions
        self.taken_slugs = taken_slugs
        self.instrument_locked = instrument_locked
        self.version_labels = {
            vid: f"{v.instrument.title} ({v.instrument.key}), version {v.version}" for vid, v in versions.items()
        }
        self.instrument_version.choices = choices(self.version_labels.items())
        codes: dict[str, str] = {}
        for v in versions.values():
            for code in v.language_status():
                name = KNOWN[code].english if code in KNOWN else code
                codes.setdefault(code, f"{name} ({code})")
        self.languages.choices = choices(codes.items())
        self.accept_drafts.choices = choices(codes.items())
        self.parsed_strata: list[tuple[str, int | None]] = []

    def validate_slug(self, field: Any) -> None:
        value = (field.data or "").strip()
        if value and not SLUG_RE.match(value):
            raise ValidationError(_l("Use only lower-case letters, digits and dashes, like 2026-q4"))
        if value in self.taken_slugs:
            raise ValidationError(_l("Another wave already has this short name; choose another"))

    def validate_closes_on(self, field: Any) -> None:
        if field.data and self.opens_on.data and field.data < self.opens_on.data:
            raise ValidationError(_l("The closing date must be on or after the opening date"))

    def validate_instrument_version(self, field: Any) -> None:
        if field.data not in self.versions:
            raise ValidationError(_l("Choose the questionnaire version"))

    def validate_languages(self, field: Any) -> None:
        version = self.versions.get(self.instrument_version.data)
        if version is None or not field.data:
            return
        status = version.language_status()
        missing = [code for code in field.data if code not in status]
        if missing:
            raise ValidationError(
                _l("This questionnaire version has no text in %(langs)s; remove it or choose another version", langs=", ".join(missing))
            )
        drafts = [code for code in field.data if status[code] != "approved" and code not in (self.accept_drafts.data or [])]
        if drafts:
            raise ValidationError(
                _l(
                    "The translation in %(langs)s is not approved: tick it under 'Accept draft translations' or remove it",
                    langs=", ".join(drafts),
                )
            )

    def validate_strata(self, field: Any) -> None:
        try:
            self.parsed_strata = parse_strata(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if self.mode.data == "invitation" and not self.parsed_strata:
            raise ValidationError(_l("An invitation wave needs at least one district with its population, like North, 31000"))
        if self.mode.data == "invitation" and any(pop is None for _n, pop in self.parsed_strata):
            raise ValidationError(_l("Give every district's population (it sets the selection probability), like North, 31000"))

    def accepted_drafts(self) -> list[str]:
        version = self.versions[self.instrument_version.data]
        status = version.language_status()
        return sorted(code for code in self.languages.data if status.get(code) != "approved")


def invitations_form(strata: list[tuple[str, int | None]]) -> type[FlaskForm]:
    """A form with a count (and an optional probability) for each of the wave's strata."""

    class InvitationsForm(FlaskForm):
        def stratum_fields(self) -> list[tuple[str, int | None, Any, Any]]:
            return [
                (name, pop, getattr(self, f"count_{i}"), getattr(self, f"probability_{i}"))
                for i, (name, pop) in enumerate(strata)
            ]

        def validate(self, extra_validators: Any = None) -> bool:
            ok = super().validate(extra_validators)
            if ok and not any((count.data or 0) for _n, _p, count, _prob in self.stratum_fields()):
                first = self.stratum_fields()[0][2]
                first.errors.append(_l("Enter how many letters to make for at least one district"))
                return False
            for _name, pop, count, prob in self.stratum_fields():
                if count.data and prob.data is None and not pop:
                    prob.errors.append(_l("This district has no population: enter the selection probability"))
                    ok = False
            return ok

    for i, (name, pop) in enumerate(strata):
        setattr(
            InvitationsForm,
            f"count_{i}",
            IntegerField(
                _l("Letters for %(name)s", name=name),
                description=(_l("Population %(pop)s.", pop=f"{pop:,}") if pop else None),
                validators=[Optional(), NumberRange(min=0, max=2000, message=_l("Enter a whole number from 0 to 2000"))],
            ),
        )
        setattr(
            InvitationsForm,
            f"probability_{i}",
            FloatField(
                _l("Selection probability for %(name)s (optional)", name=name),
                description=_l("Leave empty to use letters divided by population."),
                validators=[Optional(), NumberRange(min=1e-9, max=1, message=_l("Enter a probability above 0 and at most 1, like 0.004"))],
            ),
        )
    return InvitationsForm


class UndeliverableForm(FlaskForm):
    codes = TextAreaField(
        _l("Codes of returned letters"),
        description=_l("Type or paste the codes, one per line. Dashes and spaces do not matter."),
        validators=[Length(max=200_000)],
    )
    upload = FileField(_l("Or upload a text or CSV file of codes"), description=_l("One code per line, or a column named code."))


class ExportForm(FlaskForm):
    waves = SelectMultipleField(
        _l("Waves"),
        description=_l("Choose one wave, or several waves of the same questionnaire."),
        validators=[DataRequired(_l("Choose at least one wave"))],
    )
    include_text = BooleanField(
        _l("Include free-text answers"),
        description=_l("Residents may have written something that identifies them. Leave this off unless you need it."),
    )
    statistics_files = BooleanField(
        _l("Also SPSS (.sav) and Stata (.dta) files"),
        description=_l("With variable labels, value labels and missing-value codes, in your language."),
    )


class TargetsForm(FlaskForm):
    upload = FileField(
        _l("CSV file of population targets"),
        description=_l("Columns: variable, category, stratum, population. The import replaces every current target."),
    )
    text = TextAreaField(_l("Or paste the CSV here"), validators=[Length(max=500_000)])
    source = StringField(
        _l("Source"), description=_l("For example: ACS 2019-2023 5-year, tables B01001 and B03002."),
        validators=[Length(max=200)],
    )


def next_quarter(day: dt.date) -> dt.date:
    """The same day one quarter later; a month's last day stays the last day (Sep 30 -> Dec 31)."""
    month = day.month - 1 + 3
    year, month = day.year + month // 12, month % 12 + 1
    last = calendar.monthrange(year, month)[1]
    if day.day == calendar.monthrange(day.year, day.month)[1]:
        return dt.date(year, month, last)
    return dt.date(year, month, min(day.day, last))


class PublishAreasForm(FlaskForm):
    publish_areas = BooleanField(_l("Model-based small-area estimates of this wave are on the public results page"))
