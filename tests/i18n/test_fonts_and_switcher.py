"""Pages rely on the system's fonts only (nothing to download, every script rendered by the phone's
own fonts), and the language switcher names each language in itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel import Locale, UnknownLocaleError

from survey.i18n import KNOWN, html_lang
from tests.conftest import make_test_app

SURVEY = Path(__file__).resolve().parents[2] / "survey"
STYLESHEETS = sorted(SURVEY.rglob("static/**/*.css"))
TEMPLATES = sorted(SURVEY.rglob("templates/**/*.html"))
WEB_FONT = re.compile(
    r"@font-face|@import|\.(woff2?|ttf|otf|eot)\b|fonts\.(googleapis|gstatic)\.com|use\.typekit|fonts\.bunny|"
    r"font-display",
    re.I,
)


def test_there_is_a_stylesheet_to_check():
    assert STYLESHEETS


@pytest.mark.parametrize("path", STYLESHEETS + TEMPLATES, ids=lambda p: str(p.relative_to(SURVEY)))
def test_no_web_fonts(path):
    text = path.read_text(encoding="utf-8")
    found = sorted({m.group(0) for m in WEB_FONT.finditer(text)})
    assert not found, f"{path.name} loads fonts: {found}; pages must use system fonts only"


def test_no_stylesheet_or_script_comes_from_another_host():
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r'<(link|script)[^>]+(href|src)="(https?:)?//', text), path.name


def test_the_font_stacks_end_in_a_generic_system_family():
    for path in STYLESHEETS:
        for stack in re.findall(r"font-family:\s*([^;}]+)", path.read_text(encoding="utf-8")):
            last = stack.strip().split(",")[-1].strip()
            assert last in ("sans-serif", "serif", "monospace", "system-ui"), f"{path.name}: {stack}"


@pytest.mark.parametrize("code", list(KNOWN))
def test_each_language_is_named_in_itself(code):
    """Cross-check our native names with the CLDR's name of each language in that language."""
    try:
        locale = Locale.parse(code)
    except UnknownLocaleError:
        pytest.skip(f"Babel has no locale data for {code}")
    own = (locale.languages.get(locale.language) or "").casefold()
    native = KNOWN[code].native.casefold()
    if code == "tl":  # CLDR files Tagalog under Filipino; residents call the language Tagalog
        assert native == "tagalog"
        return
    assert own and own in native, f"{code}: CLDR calls it {own!r}, we show {KNOWN[code].native!r}"


def test_the_switcher_names_every_language_in_itself(database_url, tmp_path, agency):
    app = make_test_app(database_url, tmp_path, LANGUAGES=list(KNOWN))
    try:
        html = app.test_client().get("/", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    finally:
        app.extensions["survey.db"]["engine"].dispose()
    assert 'lang="ko"' in html
    for code, language in KNOWN.items():
        direction = "rtl" if language.rtl else "ltr"
        button = f'value="{code}" lang="{html_lang(code)}" dir="{direction}"'
        assert button in html, f"no switcher button for {code}"
        assert re.search(re.escape(button) + r"[^>]*>" + re.escape(language.native) + "</button>", html), code
