"""Right-to-left pages keep numbers, codes and names in reading order: every run of digits with
punctuation (a phone number, an address, an access or receipt code, a range, a percentage) on
every resident and public page in Arabic is isolated with <bdi> or dir="ltr|auto"."""

from __future__ import annotations

import re

import pytest

from survey.i18n import RTL

from .bidi import unisolated_runs

PAGES = ("home", "survey-start", "survey-wrong-code", "survey-page-1", "complaint-policy", "complaint-receipt",
         "complaint-follow-up", "complaint-status", "results", "complaint-data", "survey-code-used")


@pytest.mark.parametrize("lang", sorted(RTL))
def test_every_run_of_digits_and_punctuation_is_isolated(tours, lang):
    pages = tours[lang]
    assert set(PAGES) <= set(pages)
    bare = {name: runs for name, html in pages.items() if (runs := unisolated_runs(html))}
    assert not bare, f"runs not isolated in {lang}: {bare}"


def _without_isolation(html: str) -> str:
    html = re.sub(r"</?bdi[^>]*>", "", html)
    return re.sub(r'\sdir="(ltr|auto)"', "", html)


def test_the_check_finds_what_arabic_readers_saw_turned_around(tours):
    """With the isolation taken out, the phone number, the address, the codes and the ranges are found."""
    pages = {name: _without_isolation(html) for name, html in tours["ar"].items()}
    assert "555-0100" in unisolated_runs(pages["complaint-policy"])
    assert "100 Main Street, Riverton" in unisolated_runs(pages["complaint-policy"])
    assert "7KQ2M-XW4PD-9HTRB" in unisolated_runs(pages["survey-start"])
    assert any(re.fullmatch(r"[A-Z0-9]{5}(-[A-Z0-9]{4,5}){3}", run) for run in unisolated_runs(pages["complaint-receipt"]))
    assert any("%" in run for run in unisolated_runs(pages["results"]))


def test_the_check_reads_isolation_and_direction():
    page = '<html dir="rtl"><body><p>اتصل 555-0100 أو <bdi dir="ltr">555-0101</bdi></p>' \
           '<p dir="ltr">Call 555-0102</p><div dir="ltr"><p dir="rtl">رقم 555-0103</p></div>' \
           '<p>شهادة (high school) أو GED</p></body></html>'
    assert unisolated_runs(page) == ["555-0100", "555-0103"]
    assert unisolated_runs(page.replace('dir="rtl"', 'dir="ltr"', 1)) == ["555-0103"]
