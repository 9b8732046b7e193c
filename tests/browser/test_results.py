"""The public results page at a phone viewport in English, Spanish and Arabic: axe finds nothing,
nothing scrolls sideways, and the charts load as images with text alternatives."""

from __future__ import annotations

import pytest

from survey.i18n import KNOWN
from tests.browser.conftest import PHONE, assert_accessible, demo_app, serving, set_language


@pytest.fixture(scope="module")
def results_server(tmp_path_factory):
    """A live app on a small demo (published waves, a district or two below the minimum n)."""
    with serving(demo_app(tmp_path_factory.mktemp("results-live"), per_wave=300, languages=tuple(KNOWN))) as url:
        yield url


@pytest.fixture
def phone(browser, playwright, results_server):
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    context = browser.new_context(**{**device, "viewport": PHONE, "screen": PHONE}, base_url=results_server)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(("code", "direction"), [("en", "ltr"), ("es", "ltr"), ("ar", "rtl")])
def test_results_page_is_accessible_in_each_language(phone, code, direction):
    phone.goto("/results/")
    set_language(phone, code)
    phone.wait_for_load_state("networkidle")
    html = phone.locator("html")
    assert html.get_attribute("lang") == code
    assert html.get_attribute("dir") == direction
    assert phone.locator("h1").count() == 1
    images = phone.locator("figure.chart img")
    assert images.count() == 2
    for i in range(images.count()):
        img = images.nth(i)
        assert (img.get_attribute("alt") or "").strip()
        assert img.evaluate("el => el.complete && el.naturalWidth > 0"), "the chart did not load"
    assert_accessible(phone, f"results page in {code}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_results_page_shows_withheld_districts(phone):
    phone.goto("/results/")
    assert phone.get_by_text("Withheld: fewer than 50 responses").count() >= 1


#: Column headings that would overflow their cell if their words could not break mid-word.
BROKEN_HEADINGS_JS = """() => [...document.querySelectorAll('main thead th')].filter(th => {
  const before = [th.style.overflowWrap, th.style.hyphens];
  th.style.overflowWrap = 'normal'; th.style.hyphens = 'manual';
  const broken = th.scrollWidth > th.clientWidth + 1;
  [th.style.overflowWrap, th.style.hyphens] = before;
  return broken;
}).map(th => th.textContent.trim())"""


@pytest.mark.parametrize("code", ["en", "fr", "pt", "ru", "vi", "tl", "ht"])
def test_table_headings_keep_their_words_whole_on_a_phone(phone, code):
    """"Fourchette", "Pontuação" and "Диапазон" once broke mid-word in the public tables."""
    phone.goto("/results/")
    if code != "en":
        set_language(phone, code)
    for path in ("/results/", "/complaints/data"):
        phone.goto(path)
        assert phone.evaluate(BROKEN_HEADINGS_JS) == [], f"{path} in {code}"
