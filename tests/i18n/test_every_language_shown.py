"""Every offered language is really shown: no interface string of a language's catalog appears in
English on the home page, the survey pages, the complaint pages or the public results.

Babel parses "tl" as Filipino ("fil"), so Flask-Babel once looked for translations/fil, found
nothing and showed every Tagalog visitor English; nothing noticed. This test would have."""

from __future__ import annotations

import pytest

from survey.i18n import KNOWN

from .checks import untranslated

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
