"""Forms of the resident's survey: a form per page, built from the instrument's items.

No question is required. Each field checks only that what arrived is one of the item's own codes
(or short enough, for text), so a malformed or replayed post gets a message on that field and the
other answers on the page are kept. "Prefer not to say" (-9) is offered on every closed item.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from ..context import current_agency, locale_code
from ..formats import Filled, ltr
from ..instruments import PREFER_NOT_TO_SAY, Item
from ..models import Channel
from .flow import text_in


class CodeForm(FlaskForm):
    code = StringField(
        _l("Access code"),
        description=Filled(_l("It is printed on your letter, for example %(example)s. Capital or small letters are both fine."),
                           example=ltr("7KQ2M-XW4PD-9HTRB")),
        validators=[Length(max=64, message=_l("An access code has 15 letters and numbers. Check it against your letter."))],
    )

    def validate_code(self, field: Field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Enter the access code from your letter"))


class StartOpenForm(FlaskForm):
    """The open-link start button (only a CSRF token)."""


def _choice_labels(item: Item, lang: str) -> list[tuple[str, str]]:
    if item.type == "scale":
        choices = [(str(n), str(n)) for n in range(item.scale_min, item.scale_max + 1)]
    else:
        choices = [(str(option.code), text_in(option.text, lang)) for option in item.options]
    return [*choices, (str(PREFER_NOT_TO_SAY), _("Prefer not to say"))]


def select_choices(pairs: Sequence[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class _OneOf:
    """The value, when given, must be one of the item's codes."""

    def __init__(self, allowed: Sequence[str]) -> None:
        self.allowed = set(allowed)

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data in (None, ""):
            return
        if field.data not in self.allowed:
            field.data = None
            raise ValidationError(_("Choose one of the answers shown, or leave the question blank."))


class _ManyOf:
    """Every ticked value is one of the item's codes; an exclusive option stands alone."""

    def __init__(self, item: Item, labels: Mapping[str, str]) -> None:
        self.allowed = {str(code) for code in item.codes()}
        self.exclusive = {str(o.code) for o in item.options if o.exclusive} | {str(PREFER_NOT_TO_SAY)}
        self.labels = labels

    def __call__(self, form: FlaskForm, field: Field) -> None:
        chosen = list(dict.fromkeys(field.data or []))  # duplicates are harmless: keep the first
        bad = [value for value in chosen if value not in self.allowed]
        field.data = [value for value in chosen if value in self.allowed]
        if bad:
            raise ValidationError(_("Choose from the answers shown, or leave the question blank."))
        alone = [value for value in field.data if value in self.exclusive]
        if alone and len(field.data) > 1:
            raise ValidationError(
                _(
                    "“%(answer)s” cannot be chosen together with other answers. Untick it, or untick the others.",
                    answer=self.labels[alone[0]],
                )
            )


class _MaxChars:
    def __init__(self, maximum: int) -> None:
        self.maximum = maximum

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data and len(field.data) > self.maximum:
            raise ValidationError(
                _(
                    "Your answer is %(count)d characters long. Shorten it to %(max)d characters or fewer.",
                    count=len(field.data),
                    max=self.maximum,
                )
            )


class _Text(TextAreaField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        # NUL cannot be stored in PostgreSQL text and is never typed by a person.
        self.data = str(valuelist[0]).replace("\x00", "").strip() if valuelist else ""


class MultiCheckboxField(SelectMultipleField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = [str(v) for v in valuelist]

    def pre_validate(self, form: FlaskForm) -> None:  # our validator checks the choices
        return None


def field_for(item: Item, lang: str) -> Any:
    """An unbound WTForms field for one item, labeled in the questionnaire's language."""
    label = text_in(item.text, lang)
    hint = text_in(item.hint, lang) if item.hint else ""
    if item.type == "text":
        return _Text(label, description=hint, validators=[Optional(), _MaxChars(item.max_length)])
    choices = _choice_labels(item, lang)
    if item.type == "multi":
        return MultiCheckboxField(label, description=hint, choices=select_choices(choices), coerce=str, validate_choice=False,
                      validators=[_ManyOf(item, dict(choices))])
    return RadioField(label, description=hint, choices=select_choices(choices), coerce=str, validate_choice=False,
                      validators=[_OneOf([value for value, _label in choices])])


#: Form classes already built, by everything their labels depend on (see :func:`page_form`).
_FORM_CLASSES: dict[tuple[Any, ...], type] = {}
_FORM_CLASSES_MAX = 2048


def form_key(items: Sequence[Item], lang: str, base: type, cache_key: Hashable | None) -> tuple[Any, ...] | None:
    """Everything a page's unbound fields depend on, or None when they are built per request."""
    if cache_key is None:
        return None
    agency = current_agency()
    return (cache_key, tuple(item.key for item in items), lang, locale_code(), agency.name, agency.city, base)


class FieldHtml:
    """Rendered radio groups of a page, kept per answer given.

    A page of six 0-10 questions is about seventy radio buttons; rendering them was the largest
    part of a survey page. A radio group's markup depends only on the form class (see
    :func:`form_key`), whether the question is the page's heading, and which answer is ticked,
    so each variant is rendered once by the same template macros and reused. Groups with an
    error message, checkboxes and text boxes are always rendered afresh.
    """

    _kept: dict[tuple[Any, ...], Any] = {}
    _MAX = 8192

    def __init__(self, key: tuple[Any, ...] | None) -> None:
        self.key = key

    def _variant(self, item_key: str, field: Field) -> tuple[Any, ...] | None:
        if self.key is None or field.errors or field.type != "RadioField":
            return None
        return (self.key, item_key, field.data)

    def get(self, item_key: str, field: Field) -> Any:
        variant = self._variant(item_key, field)
        return None if variant is None else self._kept.get(variant)

    def keep(self, item_key: str, field: Field, html: Any) -> Any:
        variant = self._variant(item_key, field)
        if variant is not None:
            if len(self._kept) >= self._MAX:
                self._kept.clear()
            self._kept[variant] = html
        return html


@dataclass(frozen=True)
class _KeptField:
    """What :class:`FieldHtml` reads of a radio field: no errors, and the stored answer."""

    data: str | None
    errors: tuple[()] = ()
    type: str = "RadioField"


class KeptPage:
    """A GET of a page whose every question is a radio group already kept by :class:`FieldHtml`.

    The template then needs no WTForms form (building one cost a tenth of the page): it reads
    ``form.errors`` (none on a GET) and each field's stored answer, and takes the markup from
    the kept groups. ``KeptPage.of`` returns None when any group would have to be rendered.
    """

    errors: dict[str, list[str]] = {}

    def __init__(self, fields: dict[str, _KeptField]) -> None:
        self._fields = fields

    def __getitem__(self, key: str) -> _KeptField:
        return self._fields[key]

    @classmethod
    def of(cls, items: Sequence[Item], answers: Mapping[str, Any], field_html: FieldHtml) -> KeptPage | None:
        fields = {}
        for item in items:
            if item.type not in ("scale", "choice"):
                return None
            field = _KeptField(_stored_data(answers.get(item.key)))
            if field_html.get(item.key, field) is None:
                return None
            fields[item.key] = field
        return cls(fields)


def _form_class(items: Sequence[Item], lang: str, base: type, key: tuple[Any, ...] | None) -> type:
    """Build (or reuse, by its :func:`form_key`) the form class of a page.

    Building the unbound fields (labels, choices, "Prefer not to say" in the interface language,
    {agency} and {city} filled) cost more than rendering the page, so a class is kept per
    instrument version, page, shown items, both languages and agency wording. Classes hold no
    resident data: the answers are bound to each instance.
    """
    if key is not None:
        cls = _FORM_CLASSES.get(key)
        if cls is not None:
            return cls

    class PageForm(base):  # type: ignore[misc, valid-type]
        pass

    for item in items:
        setattr(PageForm, item.key, field_for(item, lang))
    if key is not None:
        if len(_FORM_CLASSES) >= _FORM_CLASSES_MAX:
            _FORM_CLASSES.clear()
        _FORM_CLASSES[key] = PageForm
    return PageForm


def _stored_data(stored: Any) -> Any:
    """A stored answer as its field holds it: the code as text, a list of them for multi."""
    if stored is None:
        return None
    return [str(v) for v in stored] if isinstance(stored, list) else str(stored)


def page_form(items: Sequence[Item], lang: str, answers: Mapping[str, Any], *, base: type = FlaskForm,
              formdata: Any = None, key: tuple[Any, ...] | None = None) -> FlaskForm:
    """A form for these items, filled from the stored answers (GET) or the posted data (POST).

    ``key`` (from :func:`form_key`) lets the form class be reused; leave it out when the items
    are built per request (the open-link area question) or for another base form.
    """
    PageForm = _form_class(items, lang, base, key)  # noqa: N806 - a class
    if formdata is not None:
        return PageForm(formdata=formdata)
    return PageForm(data={item.key: _stored_data(answers[item.key]) for item in items if answers.get(item.key) is not None})


def values_of(form: FlaskForm, items: Sequence[Item]) -> dict[str, Any]:
    """The validated answers as stored in the draft: ints for codes, a list for multi, text."""
    values: dict[str, Any] = {}
    for item in items:
        data = form[item.key].data
        if item.type == "text":
            values[item.key] = data or None
        elif item.type == "multi":
            values[item.key] = [int(v) for v in data or []] or None
        else:
            values[item.key] = int(data) if data not in (None, "") else None
    return values


class KeyedEntryForm(FlaskForm):
    """The header of a paper or phone questionnaire keyed in by staff."""

    channel = RadioField(
        _l("How was the questionnaire answered?"),
        choices=[SelectChoice(Channel.PAPER.value, _l("On paper")), SelectChoice(Channel.PHONE.value, _l("By phone"))],
        validate_choice=False,
    )
    language = RadioField(_l("Language of the questionnaire"), validate_choice=False)
    stratum = RadioField(_l("Area (stratum)"), validate_choice=False)
    code = StringField(
        _l("Access code on the form (if any)"),
        description=_l("Leave blank if the form had no code. A code given here is marked used."),
        validators=[Length(max=64, message=_l("An access code has 15 letters and numbers."))],
    )

    def validate_channel(self, field: Field) -> None:
        if field.data not in (Channel.PAPER.value, Channel.PHONE.value):
            raise ValidationError(_("Choose paper or phone"))

    def validate_language(self, field: Field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_("Choose the language the questionnaire was answered in"))

    def validate_stratum(self, field: Field) -> None:
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_("Choose one of the areas shown"))
