"""Dates and numbers in each language's own form, checked against Babel's CLDR data: one long date
style on every resident page, no English month names, no CLDR placeholders ("M12"), no doubled
full stop after a date that ends in one ("2026 г.."), and decimals with the language's own mark."""

from __future__ import annotations

import re

import pytest
from babel import Locale
from babel.dates import format_date
from babel.numbers import get_decimal_symbol
from sqlalchemy import select

from survey.db import db
from survey.formats import HT_MONTHS, cldr_has_month_names, long_date_text
from survey.i18n import KNOWN
from survey.models import Wave, today
from tests.residentpages import text_runs

#: "May" is left out: it is also a Tagalog word ("there is").
ENGLISH_MONTHS = re.compile(r"\b(January|February|March|April|June|July|August|September|October|November|"
                            r"December)\b")
CLDR_PLACEHOLDER = re.compile(r"\bM(0[1-9]|1[0-2])\b")
DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def expected_long_date(day, code: str) -> str:
    """The long date from CLDR itself (Haitian Creole: CLDR has no month names, see survey.formats)."""
    locale = Locale.parse(code)
    if code == "ht":
        assert not cldr_has_month_names(locale), "CLDR now has Haitian Creole months: use them"
        return f"{day.day} {HT_MONTHS[day.month - 1]} {day.year}"
    # Page text is compared with its spaces collapsed (CLDR puts narrow no-break spaces in some).
    return " ".join(format_date(day, "long", locale=locale).split())


@pytest.fixture(scope="module")
def open_until(tour_app):
    with tour_app.app_context():
        return db.session.scalars(select(Wave).where(Wave.published.is_(False))).first().last_day()


@pytest.mark.parametrize("code", list(KNOWN))
def test_dates_are_the_languages_long_form(tours, tour_app, code, open_until):
    pages = tours[code]
    start = " ".join(text_runs(pages["survey-start"]))
    assert expected_long_date(open_until, code) in start, f"{code}: {start[-200:]}"
    status = " ".join(text_runs(pages["complaint-status"]))
    with tour_app.app_context():
        received = today()
    assert expected_long_date(received, code) in status, f"{code}: {status[:400]}"
    assert status.count(expected_long_date(received, code)) >= 2  # the summary and the timeline


@pytest.mark.parametrize("code", list(KNOWN))
def test_no_page_shows_foreign_or_placeholder_dates_or_doubled_stops(tours, code):
    for name, html in tours[code].items():
        text = " ".join(text_runs(html))
        if code != "en":
            assert not ENGLISH_MONTHS.search(text), f"{name} in {code}: English month {ENGLISH_MONTHS.search(text)[0]}"
        assert not CLDR_PLACEHOLDER.search(text), f"{name} in {code}: {CLDR_PLACEHOLDER.search(text)[0]}"
        found = DOUBLED_STOP.search(text)
        assert not found, f"{name} in {code}: ..{text[max(0, found.start() - 40):found.end() + 10]}"


@pytest.mark.parametrize("code", list(KNOWN))
def test_decimals_use_the_languages_own_mark(tours, code):
    """The results page writes changes with one decimal ("4.7" or "4,7" as CLDR says)."""
    mark = get_decimal_symbol(Locale.parse(code))
    other = "," if mark == "." else "."
    text = " ".join(text_runs(tours[code]["results"]) + text_runs(tours[code]["complaint-data"]))
    assert re.search(rf"\d{re.escape(mark)}\d", text), f"{code}: no decimal with {mark!r}"
    assert not re.search(rf"\b\d{{1,2}}{re.escape(other)}\d\b", text), f"{code}: a decimal with {other!r}"


def test_haitian_creole_and_russian_as_their_readers_write_them():
    import datetime as dt

    day = dt.date(2026, 12, 23)
    assert long_date_text(day, Locale.parse("ht")) == "23 desanm 2026"
    assert long_date_text(day, Locale.parse("ru")).split() == ["23", "декабря", "2026", "г."]
    assert long_date_text(day, Locale.parse("tl")) == "Disyembre 23, 2026"


#: The longest month label that fits its slot under a public chart on a 360 px phone: the plot
#: is about 256 px wide for four surveys (64 px a slot) and its 15 px text averages about 8 px a
#: character, so 7 characters leave a gap and 8 touch the next label (Vietnamese "Tháng 10" did).
CHART_MONTH_CHARS = 7


@pytest.mark.parametrize("code", list(KNOWN))
def test_chart_month_labels_fit_under_a_phones_chart(tour_app, code):
    import datetime as dt

    from survey.formats import period_lines

    locale = Locale.parse("fil" if code == "tl" else code)
    with tour_app.test_request_context():
        months = [period_lines(dt.date(2026, m, 1), dt.date(2026, m, 28), locale).split("\n")[0] for m in range(1, 13)]
    assert max(len(month) for month in months) <= CHART_MONTH_CHARS, months
