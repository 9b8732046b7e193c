"""Forms of the campaign console: the agency's own settings form (survey/agencies.py) with what
only the campaign sets, and the new agency's first administrator. Messages say what to do."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from ..agencies import AgencySettingsForm
from ..tenancy import SLUG

HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


class CampaignSettingsForm(AgencySettingsForm):
    """An agency's settings as the campaign sees them: its own, plus its peer group and host."""

    peer_group = StringField(
        _l("Peer group"),
        description=_l("Agencies of a similar size or kind share one, like small-city. Leave empty for none."),
        validators=[Optional(), Length(max=64),
                    Regexp(r"^[a-z0-9][a-z0-9-]*$", message=_l("Use only lower-case letters, digits and dashes"))],
    )
    host = StringField(
        _l("Host name"), description=_l("The agency's own address, like survey.riverton.example."),
        validators=[Optional(), Length(max=253), Regexp(HOST, message=_l("Enter a host name like survey.riverton.example"))],
    )

    def __init__(self, *args: Any, taken_hosts: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken_hosts = taken_hosts

    def validate_host(self, field: Any) -> None:
        if field.data and field.data.strip().lower() in self.taken_hosts:
            raise ValidationError(_l("Another agency already has this host name"))


class NewAgencyForm(CampaignSettingsForm):
    slug = StringField(
        _l("Short name"),
        description=_l("Used in the agency's address: lower-case letters, digits and dashes, like riverton."),
        validators=[DataRequired(_l("Enter a short name like riverton")), Length(max=64)],
    )
    instrument = RadioField(_l("Questionnaire"), validators=[DataRequired(_l("Choose the questionnaire version"))])
    targets = FileField(
        _l("CSV file of population targets"),
        description=_l("Columns: variable, category, stratum, population. The import replaces every current target."),
    )
    targets_source = StringField(
        _l("Source"), description=_l("For example: ACS 2019-2023 5-year, tables B01001 and B03002."),
        validators=[Length(max=200)],
    )
    admin_name = StringField(_l("Administrator's name"),
                             validators=[DataRequired(_l("Enter the person's name")), Length(max=200)])
    admin_email = EmailField(
        _l("Administrator's email address"),
        validators=[DataRequired(_l("Enter an email address")), Length(max=254),
                    Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address like name@example.org"))],
    )

    def __init__(self, *args: Any, instruments: list[tuple[str, str]], taken_slugs: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument.choices = [SelectChoice(value, label) for value, label in instruments]
        self.taken_slugs = taken_slugs

    def validate_slug(self, field: Any) -> None:
        value = (field.data or "").strip()
        if value and not SLUG.fullmatch(value):
            raise ValidationError(_l("Use only lower-case letters, digits and dashes"))
        if value in self.taken_slugs:
            raise ValidationError(_l("Another agency already has this short name; choose another"))
