"""Dates and numbers as each language writes them, kept in reading order on right-to-left pages.

Every page a resident reads writes a date one way, the language's long form from CLDR ("23
December 2026", "23 декабря 2026 г.", "2026년 12월 23일"). CLDR has no month names for
Haitian Creole (Babel writes "2026 M12 23"), so that one language uses the names below.

On a right-to-left page a run of digits, Latin letters and punctuation (a phone number, an
address, a code, a range) is reordered by the bidirectional algorithm unless it is isolated:
"555-0100" reads "0100-555". :func:`ltr` isolates such text and :func:`bdi` text whose
direction follows its own content (a date, a name).
"""

from __future__ import annotations

import datetime as dt

from babel import Locale
from flask_babel import format_date, get_locale
from markupsafe import Markup

from .context import locale_code
from .i18n import direction

#: Haitian Creole month names (Akademi Kreyòl Ayisyen spelling), in the day-month-year order
#: Haitian Creole is written in.
HT_MONTHS = ("janvye", "fevriye", "mas", "avril", "me", "jen", "jiyè", "out", "septanm", "oktòb", "novanm",
             "desanm")


def cldr_has_month_names(locale: Locale) -> bool:
    """False when CLDR only has placeholders ("M12") for the locale's month names."""
    return not locale.months["format"]["wide"][12].startswith("M1")


def long_date_text(day: dt.date, locale: Locale | None = None) -> str:
    """``day`` in the long form of the locale (this request's by default), as plain text."""
    locale = _locale(locale)
    if _ht(locale):
        return f"{day.day} {HT_MONTHS[day.month - 1]} {day.year}"
    if locale is get_locale():
        return format_date(day, "long")
    from babel.dates import format_date as babel_format_date

    return babel_format_date(day, "long", locale=locale)


def _locale(locale: Locale | None) -> Locale:
    return locale or get_locale() or Locale("en")


def _ht(locale: Locale) -> bool:
    return locale.language == "ht" and not cldr_has_month_names(locale)


def period_text(start: dt.date, end: dt.date, locale: Locale | None = None) -> str:
    """The months a survey wave ran, as the language writes a span: "July – September 2026"."""
    from babel.dates import format_interval

    locale = _locale(locale)
    if _ht(locale):
        first, last = HT_MONTHS[start.month - 1], HT_MONTHS[end.month - 1]
        if start.year != end.year:
            return f"{first} {start.year} – {last} {end.year}"
        return f"{first} {start.year}" if start.month == end.month else f"{first} – {last} {end.year}"
    return format_interval(start, end, "yMMMM", locale=locale)


def period_lines(start: dt.date, end: dt.date, locale: Locale | None = None) -> str:
    """The span short, for a chart's axis or a narrow column: the first month over the year
    ("Jul" over "2026"); a span's full name (:func:`period_text`) does not fit under a tick on a
    phone in most languages ("أكتوبر–ديسمبر", "окт. — дек.")."""
    from babel.dates import format_date as format_pattern
    from babel.dates import format_skeleton

    locale = _locale(locale)
    if _ht(locale):
        month = HT_MONTHS[start.month - 1]
    else:
        # The stand-alone form unless the format form is shorter: Vietnamese "Tháng 10" collided
        # with its neighbor under a phone's chart, "thg 10" fits.
        month = min(format_skeleton("MMM", start, locale=locale), format_pattern(start, "MMM", locale=locale), key=len)
    return f"{month}\n{format_skeleton('y', start, locale=locale)}"


def long_date(day: dt.date) -> Markup:
    """``day`` in the request's long form, isolated for right-to-left pages."""
    return bdi(long_date_text(day))


def bdi(text: object) -> Markup:
    """Text whose direction comes from its own first strong letter, isolated from what surrounds it."""
    return Markup("<bdi>%s</bdi>") % (text,)


#: Unicode's isolates: left to right, right to left, and their end.
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"


def right_to_left() -> bool:
    """Whether the request's language reads right to left."""
    return direction(locale_code()) == "rtl"


def ltr_text(text: str) -> str:
    """:func:`ltr` in plain characters (LRI ... PDI), for text that is not markup: a sentence that
    may also go to a CSV file, or a chart's text. Only on right-to-left pages; elsewhere ``text``."""
    return LRI + text + PDI if right_to_left() else text


def ltr(text: object) -> Markup:
    """Text that reads left to right in every language: codes, phone numbers, addresses, ranges of numbers."""
    return Markup('<bdi dir="ltr">%s</bdi>') % (text,)


class Filled:
    """A message (lazy or not) filled with values only when shown, the values kept as markup.

    ``Filled(_l("for example %(code)s"), code=ltr("7KQ2M-..."))`` in a form's description shows
    the translated sentence with the example isolated; gettext's own ``%`` would turn the
    isolating markup into text.
    """

    __slots__ = ("message", "values")

    def __init__(self, message: object, **values: object) -> None:
        self.message = message
        self.values = values

    def __html__(self) -> Markup:
        # Our catalogs are trusted as Jinja trusts them; the values are escaped unless markup.
        return Markup(str(self.message)) % self.values  # noqa: S704  # nosec B704

    def __str__(self) -> str:
        return str(self.__html__())
