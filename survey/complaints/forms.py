"""Forms for complaints: the resident's form, follow-up, and the investigators' forms.

Only two things can make the resident's form fail: choosing nothing and writing nothing, or a
field longer than we can store. Everything else is optional and labeled so.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..formats import Filled, ltr
from ..models import Channel, ComplaintStatus, Disposition

#: Category keys (stored) and their labels, in the order the form shows them.
CATEGORIES: list[tuple[str, object]] = [
    ("force", _l("Use of force")),
    ("discourtesy", _l("Discourtesy or offensive language")),
    ("bias", _l("Bias or discrimination")),
    ("wrongful_stop", _l("Wrongful stop")),
    ("search", _l("Search, arrest or seizure")),
    ("failure_to_act", _l("Failure to act")),
    ("property", _l("Property damage")),
    ("other", _l("Something else")),
]
CATEGORY_LABELS = dict(CATEGORIES)

CONTACT_CHOICES: list[tuple[str, object]] = [
    ("none", _l("No, do not contact me")),
    ("phone", _l("Yes, by phone")),
    ("email", _l("Yes, by email")),
    ("mail", _l("Yes, by post")),
]

CHANNEL_LABELS = {
    Channel.WEB: _l("Online form"),
    Channel.PAPER: _l("Paper form"),
    Channel.PHONE: _l("Phone"),
    Channel.IN_PERSON: _l("In person"),
    Channel.MAIL: _l("Mail"),
    Channel.THIRD_PARTY: _l("Someone else on their behalf"),
}
STAFF_CHANNELS = [Channel.PHONE, Channel.IN_PERSON, Channel.MAIL, Channel.THIRD_PARTY, Channel.PAPER]

STATUS_LABELS = {
    ComplaintStatus.RECEIVED: _l("Received"),
    ComplaintStatus.ACKNOWLEDGED: _l("Acknowledged"),
    ComplaintStatus.UNDER_REVIEW: _l("Under review"),
    ComplaintStatus.CLOSED: _l("Closed"),
}

DISPOSITION_LABELS = {
    Disposition.SUSTAINED: _l("Sustained"),
    Disposition.NOT_SUSTAINED: _l("Not sustained"),
    Disposition.EXONERATED: _l("Exonerated"),
    Disposition.UNFOUNDED: _l("Unfounded"),
    Disposition.POLICY_FAILURE: _l("Policy or training failure"),
    Disposition.INFORMAL: _l("Resolved informally or mediated"),
    Disposition.WITHDRAWN: _l("Withdrawn"),
    Disposition.REFERRED: _l("Referred elsewhere"),
}

# Generous limits: enough for a long account, small enough to stay within MAX_CONTENT_LENGTH.
LONG = 20_000
SHORT = 500


def options(pairs: list[tuple[str, object]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: object) -> None:
        # Unknown values are dropped rather than shown as an error the resident cannot fix.
        values = {str(c.value) for c in self.choices}
        self.data = [d for d in (self.data or []) if d in values]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _language_choices() -> list[tuple[str, str]]:
    from ..i18n import offered

    return options([(lang.code, lang.native) for lang in offered()])


class ComplaintForm(FlaskForm):
    """What the resident (or staff taking a complaint by phone) fills in."""

    categories = MultiCheckboxField(
        _l("What is your complaint about?"),
        choices=options(CATEGORIES),
        description=_l("Choose all that apply, or tell us in your own words below. Either is enough."),
    )
    narrative = TextAreaField(
        _l("What happened?"),
        filters=[_strip],
        validators=[Length(max=LONG, message=_l("Shorten what happened to %(max)d characters or fewer"))],
        description=_l("In your own words. A sentence is enough. You can add more later."),
    )
    incident_date = DateField(
        _l("When did it happen? (optional)"),
        validators=[Optional()],
        description=_l("If you are not sure of the date, leave this empty."),
    )
    location = StringField(
        _l("Where did it happen? (optional)"),
        filters=[_strip],
        validators=[Length(max=SHORT, message=_l("Shorten the place to %(max)d characters or fewer"))],
        description=_l("A street, a corner, a building or a neighborhood."),
    )
    officers = TextAreaField(
        _l("Officers involved (optional)"),
        filters=[_strip],
        validators=[Length(max=LONG, message=_l("Shorten the officer details to %(max)d characters or fewer"))],
        description=_l("Name, badge number, vehicle number, or what they looked like. It is fine to write \"I don't know\"."),
    )
    witnesses = TextAreaField(
        _l("Witnesses (optional)"),
        filters=[_strip],
        validators=[Length(max=LONG, message=_l("Shorten the witness details to %(max)d characters or fewer"))],
        description=_l("Anyone who saw what happened, and how to reach them if you know."),
    )
    on_behalf = BooleanField(_l("I am filing this for someone else (optional)"))
    contact_method = RadioField(
        _l("Do you want us to contact you? (optional)"),
        choices=options(CONTACT_CHOICES),
        default="none",
        validators=[Optional()],
        description=_l("You can stay anonymous. With your receipt code you can follow your complaint without giving contact details."),
    )
    contact_details = StringField(
        _l("Your phone number, email address or postal address (optional)"),
        filters=[_strip],
        validators=[Length(max=SHORT, message=_l("Shorten the contact details to %(max)d characters or fewer"))],
        description=_l("Only if you chose to be contacted. We delete contact details after the complaint is closed."),
    )
    language = SelectField(_l("Which language do you prefer? (optional)"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = _language_choices()
        if self.contact_method.data is None:
            self.contact_method.data = "none"

    def validate(self, extra_validators: object = None) -> bool:
        ok = super().validate(extra_validators)
        if not self.narrative.data and not self.categories.data:
            # One error, on the first question; the summary links to its first checkbox.
            self.categories.errors = list(self.categories.errors) + [
                str(_l("Choose what your complaint is about, or tell us what happened in your own words"))
            ]
            ok = False
        return ok

    def validate_contact_details(self, field: StringField) -> None:
        if self.contact_method.data in ("phone", "email", "mail") and not field.data:
            raise ValidationError(
                _l("Enter how we can reach you, or choose 'No, do not contact me'")
            )


class StaffIntakeForm(ComplaintForm):
    """Staff taking a complaint by phone, in person, by mail or from a third party."""

    channel = RadioField(
        _l("How did the complaint reach you?"),
        choices=options([(c.value, CHANNEL_LABELS[c]) for c in STAFF_CHANNELS]),
        validators=[InputRequired(_l("Choose how the complaint reached you"))],
    )


class ReceiptForm(FlaskForm):
    code = StringField(
        _l("Receipt code"),
        validators=[DataRequired(_l("Enter the receipt code you were given"))],
        description=Filled(_l("It looks like %(example)s. Capital letters and dashes do not matter."), example=ltr("ABCDE-FGHJK-MNPQR-STVW")),
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Add information or answer a question"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write your message before sending it")),
            Length(max=LONG, message=_l("Shorten your message to %(max)d characters or fewer")),
        ],
    )


# --- staff ----------------------------------------------------------------------------------


class StaffReplyForm(FlaskForm):
    """A message the resident reads with their receipt code."""

    body = TextAreaField(
        _l("Message to the resident"),
        description=_l("The resident will see this when they check their complaint with their receipt code."),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write the reply before sending it")),
            Length(max=LONG, message=_l("Shorten the reply to %(max)d characters or fewer")),
        ],
    )


class NoteForm(FlaskForm):
    """A note for staff only."""

    body = TextAreaField(
        _l("Internal note"),
        description=_l("Only staff see internal notes. The resident never sees them."),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write the note before saving it")),
            Length(max=LONG, message=_l("Shorten the note to %(max)d characters or fewer")),
        ],
    )


class StatusForm(FlaskForm):
    status = RadioField(
        _l("New status"),
        choices=options([(s.value, STATUS_LABELS[s]) for s in ComplaintStatus]),
        validators=[InputRequired(_l("Choose the new status"))],
    )
    disposition = RadioField(
        _l("Disposition (when closing)"),
        choices=options([(d.value, DISPOSITION_LABELS[d]) for d in Disposition]),
        validators=[Optional()],
    )

    def validate(self, extra_validators: object = None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.status.data == ComplaintStatus.CLOSED.value and not self.disposition.data:
            self.disposition.errors = [str(_l("Choose a disposition to close the complaint"))]
            ok = False
        return ok


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assign to"), validators=[Optional()])


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    overdue = BooleanField(_l("Overdue only"))
    assigned = SelectField(_l("Assigned"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = options(
            [("", _l("Any status")), ("open", _l("Not closed"))] + [(s.value, STATUS_LABELS[s]) for s in ComplaintStatus]
        )
        self.category.choices = options([("", _l("Any category")), *CATEGORIES])
        self.assigned.choices = options(
            [("", _l("Anyone or no one")), ("me", _l("Assigned to me")), ("none", _l("Not assigned"))]
        )
