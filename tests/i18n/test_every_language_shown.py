"""Every offered language is really shown: no interface string of a language's catalog appears in
English on the home page, the survey pages, the complaint pages or the public results.

Babel parses "tl" as Filipino ("fil"), so Flask-Babel once looked for translations/fil, found
nothing and showed every Tagalog visitor English; nothing noticed. This test would have."""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.pofile import read_po

from survey.i18n import KNOWN
from tests.residentpages import text_runs

from .checks import TRANSLATIONS

#: Attributes whose text a person reads or hears.
_READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|alt|placeholder|content)="([^"]*)"')
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


@cache
def untranslated_patterns(lang: str) -> list[tuple[str, re.Pattern[str]]]:
    """(English text, pattern matching it as a whole run) for each message of ``lang``'s catalog
    whose translation differs from the English."""
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            parts = _PLACEHOLDER.split(english)
            if english in strings or "<" in english or not any(c.isalpha() for c in "".join(parts)):
                continue  # the same text, markup, or glue such as "%(question)s: %(answer)s"
            pattern = ".+?".join(re.escape(re.sub(r"\s+", " ", part)) for part in parts)
            found.append((english, re.compile(rf"(?:{pattern})")))
    return found


def untranslated(html: str, lang: str) -> list[str]:
    """The catalog's English texts that stand whole on the page (as a text run or a read attribute)."""
    runs = text_runs(html) + [" ".join(v.split()) for v in _READ_ATTRIBUTES.findall(html.split("<body", 1)[-1])]
    runs += [" ".join(v.split()) for v in re.findall(r'<meta name="description" content="([^"]*)"', html)]
    return sorted({english for english, pattern in untranslated_patterns(lang)
                   for run in runs if pattern.fullmatch(run)})


LANGUAGES = [code for code in KNOWN if code != "en"]
PAGES = ("home", "survey-start", "survey-page-1", "complaint-form", "complaint-status", "results")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_is_in_the_visitors_language(tours, lang):
    pages = tours[lang]
    assert set(PAGES) <= set(pages)
    problems = {name: found for name, html in pages.items() if (found := untranslated(html, lang))}
    assert not problems, f"English interface text shown in {lang}: {problems}"


def test_the_check_finds_english_shown_to_a_tagalog_visitor(tours):
    """The English pages, labeled Tagalog, are what a Tagalog visitor saw before the fix."""
    english = tours["en"]
    for name in PAGES:
        assert untranslated(english[name], "tl"), f"{name}: the check finds nothing on an English page"
    assert "Back" in untranslated(english["survey-page-1"], "tl")
