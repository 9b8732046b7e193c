"""The public results page: published waves only, small districts withheld, uncertainty shown."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from survey.db import db
from survey.models import Response, Wave
from tests.pagetext import text_of


def _titles(app) -> dict[str, str]:
    """Each wave's name on the public page (the months it ran, in English)."""
    from babel import Locale

    from survey.formats import period_text

    with app.app_context():
        return {w.slug: " ".join(period_text(w.opens_on, w.last_day(), Locale("en")).split())
                for w in db.session.scalars(select(Wave))}


def test_results_page_shows_published_waves_with_uncertainty(demo_client, past_waves):
    response = demo_client.get("/results/")
    assert response.status_code == 200
    page = text_of(response)
    titles = _titles(demo_client.application)
    latest = titles[past_waves[-1]]
    assert re.search(r"Trust score \d+ out of 100 in " + re.escape(latest) + r" \(range \d+ to \d+\)", page)
    assert re.search(r"Safety score \d+ out of 100", page)
    # Waves are named by the months they ran, never by their codes.
    for wave in past_waves:
        assert titles[wave] in page and wave not in page
    # The open, unpublished wave never appears.
    with demo_client.application.app_context():
        unpublished = db.session.scalars(select(Wave.slug).where(Wave.published.is_(False))).all()
    assert unpublished and not any(slug in page or titles[slug] in page for slug in unpublished)
    # One plain word for the interval, explained once.
    assert page.count("we are 95% sure") == 1 and "confidence interval" not in page
    assert "/complaints/data" in response.get_data(as_text=True)


def test_small_districts_are_withheld(demo_app, demo_client, past_waves, tmp_path):
    """Move all but a few of the latest wave's Central responses elsewhere: Central is withheld."""
    latest = past_waves[-1]
    with demo_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == latest)).one()
        ids = db.session.scalars(select(Response.id).where(Response.wave_id == wave.id, Response.stratum == "Central")).all()
        db.session.execute(update(Response).where(Response.id.in_(ids[30:])).values(stratum="North"))
        db.session.commit()
    # Responses never change in the platform, so the cache does not look for it: start afresh.
    demo_app.config["RESULTS_CACHE_DIR"] = str(tmp_path / "fresh-cache")
    assert demo_app.test_cli_runner().invoke(args=["results-warm", "--fresh"]).exit_code == 0
    page = text_of(demo_client.get("/results/"))
    row = re.search(r"Central (.*?) East", page.split("Scores by district")[1]).group(1)
    assert "Withheld: fewer than 50 responses" in row
    assert re.search(r"North \d+ range \d+ to \d+", page)


def test_no_published_wave_says_so(demo_app, demo_client):
    with demo_app.app_context():
        db.session.execute(update(Wave).values(published=False))
        db.session.commit()
    page = text_of(demo_client.get("/results/"))
    assert "No survey results have been published yet." in page
    assert demo_client.get("/results/chart/trust.svg").status_code == 404


def test_public_chart_is_an_svg_image_in_the_visitor_language(demo_client):
    response = demo_client.get("/results/chart/trust.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert "<title id=\"chart-title\">Trust score</title>" in response.get_data(as_text=True)
    demo_client.post("/language", data={"lang": "es"})
    es = demo_client.get("/results/chart/trust.svg").get_data(as_text=True)
    assert "Índice de confianza" in es
    assert demo_client.get("/results/chart/nothing.svg").status_code == 404


def test_arabic_chart_keeps_its_numbers_in_order(demo_client):
    """The browser draws a chart's text: after an Arabic word "0-100" reads "100-0" unless the
    digits are isolated (LRI ... PDI), as the screenshots of the Arabic results page showed."""
    english = demo_client.get("/results/chart/trust.svg").get_data(as_text=True)
    assert "Score (0-100)" in english and "\u2066" not in english
    demo_client.post("/language", data={"lang": "ar"})
    arabic = demo_client.get("/results/chart/trust.svg").get_data(as_text=True)
    assert "الدرجة (\u20660-100\u2069)" in arabic


def test_chart_addresses_name_the_language(demo_client):
    """A chart is kept by the browser for five minutes: its address names the language, or a
    visitor who switched to Arabic kept seeing the English chart."""
    assert 'src="/results/chart/trust.svg?lang=en"' in demo_client.get("/results/").get_data(as_text=True)
    demo_client.post("/language", data={"lang": "ar"})
    assert 'src="/results/chart/trust.svg?lang=ar"' in demo_client.get("/results/").get_data(as_text=True)


def test_home_page_links_to_results(demo_client):
    assert 'href="/results/"' in demo_client.get("/").get_data(as_text=True)


def test_results_page_in_spanish_and_arabic_passes_the_page_checks(demo_client):
    for code in ("es", "ar"):
        demo_client.post("/language", data={"lang": code})
        body = demo_client.get("/results/").get_data(as_text=True)
        assert f'lang="{code}"' in body


def test_results_page_is_light(demo_client):
    """At most 14 KB gzipped for the page, its stylesheet inside (charts are separate images)."""
    import gzip

    page = demo_client.get("/results/").get_data()
    assert b"<style>" in page and b'rel="stylesheet"' not in page
    total = len(gzip.compress(page))
    assert total <= 14 * 1024, total
    svg = demo_client.get("/results/chart/trust.svg").get_data()
    assert len(gzip.compress(svg)) <= 14 * 1024


def test_chart_text_reads_right_to_left_with_numbers_in_order(demo_app):
    """Each line of a chart's text is isolated right to left in Arabic (a label that starts with a
    number, "65 أو أكثر", was drawn "أو أكثر 65") and its digit runs left to right; English is untouched."""
    from survey.results.present import LRI, PDI, RLI, chart_text

    with demo_app.test_request_context(headers={"Accept-Language": "ar"}):
        assert chart_text("65 أو أكثر") == f"{RLI}{LRI}65{PDI} أو أكثر{PDI}"
        assert chart_text("أكتوبر\n2025") == f"{RLI}أكتوبر{PDI}\n2025"
        assert chart_text("2025-q4") == "2025-q4"  # no Arabic letter: it reads as it is
    with demo_app.test_request_context(headers={"Accept-Language": "en"}):
        assert chart_text("65 or older") == "65 or older"
