"""Model-based neighborhood estimates on the staff Compare page, the public results page, the
report and the export of the demo (each response has a neighborhood)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from sqlalchemy import select, update

from survey.db import db
from survey.models import Response, Role, Wave
from survey.results import service
from tests.pagetext import text_of


def compare_url(waves, **extra):
    return "/staff/compare/?" + "&".join(f"waves={w}" for w in waves) + "&section=areas" + "".join(f"&{k}={v}" for k, v in extra.items())


def _rows(page: str, caption: str) -> str:
    return page.split(caption, 1)[1]


def test_compare_shows_every_neighborhood_model_based_beside_the_direct(demo_client, demo_sign_in, past_waves):
    demo_sign_in(Role.ANALYST)
    page = text_of(demo_client.get(compare_url(past_waves[-2:])))
    assert "Neighborhoods, Community survey" in page
    assert re.search(r"model-based estimates with their 95 ?% ranges", page)
    assert "Fay-Herriot model (REML)" in page and "covariates: owner_share" in page
    assert "Benchmarked: the areas add up to the direct estimate for the whole city." in page
    table = _rows(page, "Trust score: model-based estimates")
    for name in ("Central Park", "East Market", "North Village", "South Hill", "West Station"):
        assert re.search(rf"{name} \w+ \d+\.\d RMSE \d+\.\d, weight on own answers 0\.\d\d \d+\.\d to \d+\.\d", table), name
    # A direct estimate with its range beside the model's for a well-sampled neighborhood.
    assert re.search(r"\d+\.\d \(\d+\.\d to \d+\.\d\) \d+", table)


def test_compare_area_index_can_be_chosen(demo_client, demo_sign_in, past_waves):
    demo_sign_in(Role.ANALYST)
    page = text_of(demo_client.get(compare_url(past_waves[-2:], area_measure="safety")))
    assert "Safety score: model-based estimates" in page


def test_a_neighborhood_with_few_respondents_gets_the_model_alone(demo_app, demo_client, demo_sign_in, past_waves):
    latest = past_waves[-1]
    with demo_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == latest)).one()
        ids = db.session.scalars(select(Response.id).where(Response.wave_id == wave.id, Response.area == "East Park")).all()
        db.session.execute(update(Response).where(Response.id.in_(ids[3:])).values(area="East Market"))
        db.session.commit()
        # Responses changed outside the platform: the cache is told, as `flask results-warm --fresh` does.
        service.forget()
    demo_sign_in(Role.ANALYST)
    table = _rows(text_of(demo_client.get(compare_url(past_waves[-2:]))), "Trust score: model-based estimates")
    row = re.search(r"East Park (.*?) East Riverside", table).group(1)
    assert "model only" in row and "Not shown: fewer than 10 responses" in row
    public = text_of(demo_client.get("/results/"))
    row = re.search(r"East Park (.*?) East Riverside", _rows(public, "Trust score: model-based estimates")).group(1)
    assert "Not shown: fewer than 10 responses" in row


def test_public_page_shows_areas_with_a_plain_explanation_and_withholds_uncertain_ones(demo_app, demo_client):
    page = text_of(demo_client.get("/results/"))
    assert "These are model-based estimates" in page
    table = _rows(page, "Trust score: model-based estimates")
    assert re.search(r"Central Heights Responses: \d+ \d+ \(\d+ to \d+\)", table)
    demo_app.config["AREA_MAX_RMSE"] = 2.5
    page = text_of(demo_client.get("/results/"))
    assert "Withheld: too uncertain" in page
    assert re.search(r"\d+ areas? (is|are) withheld because", page)


def test_public_page_hides_areas_unless_the_admin_publishes_them(demo_app, demo_client, past_waves):
    with demo_app.app_context():
        db.session.execute(update(Wave).where(Wave.slug == past_waves[-1]).values(publish_areas=False))
        db.session.commit()
    page = text_of(demo_client.get("/results/"))
    assert "model-based" not in page and "What residents told us" in page


def test_public_areas_in_spanish_and_arabic(demo_app, demo_client, past_waves):
    """The heading names the survey by its months in the visitor's language, never by the title
    staff gave it (which is in one language: Chinese visitors once read "Community survey 2026 Q3")."""
    with demo_app.app_context():
        title = db.session.scalars(select(Wave.title).where(Wave.slug == past_waves[-1])).one()
    for code, heading in (("es", r"Vecindarios, \w+[–-]\w+ de 20\d\d"), ("ar", "الأحياء")):
        demo_client.post("/language", data={"lang": code})
        page = text_of(demo_client.get("/results/"))
        assert re.search(heading, page), code
        assert title not in page, code


def test_export_has_the_area_and_the_codebook_its_definition(demo_app, past_waves):
    from survey import export

    with demo_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == past_waves[-1])).one()
        result = export.build([wave])
    assert "area" in result.columns
    col = result.columns.index("area")
    assert all(isinstance(row[col], str) and row[col] for row in result.rows)
    (entry,) = result.codebook["waves"]
    assert entry["area_kind"] == "neighborhood" and len(entry["areas"]) == 40
    assert set(entry["areas"][0]) == {"name", "stratum", "population", "covariates"}
    json.dumps(result.codebook)


def test_area_estimates_add_up_to_the_direct_city_estimate(demo_app, past_waves):
    """Benchmarking: population-weighted area estimates equal the wave's direct estimate for everyone."""
    from analysis.tables import wave_tables
    from survey.results import areas, service

    with demo_app.app_context(), demo_app.test_request_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == past_waves[-1])).one()
        result, _codebook = areas.estimates(wave, 10)
        frame, codebook = service.export_table([wave])
        pops = {a.name: a.population for a in wave.areas}
    est = result.estimates[result.estimates["measure"] == "trust"]
    shares = np.array([pops[a] for a in est["area"]], dtype=float)
    shares /= shares.sum()
    tables = wave_tables(frame, codebook, breakdowns=None)
    city = tables.estimates[(tables.estimates["measure"] == "trust") & tables.estimates["by"].isna()]
    assert float(shares @ est["estimate"].to_numpy()) == pytest.approx(float(city["estimate"].iloc[0]), abs=1e-9)


def test_report_has_a_model_based_area_section_and_csv(demo_app, past_waves, tmp_path):
    runner = demo_app.test_cli_runner()
    args = ["report", *[a for w in past_waves[-2:] for a in ("--waves", w)], "--out", str(tmp_path / "report")]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Small areas: model-based estimates" in page
    assert re.search(r"<th scope=\"row\">Central Park</th><td>\d+</td><td>[\d.]+ \([\d.]+-[\d.]+\)</td><td>[\d.]+ \([\d.]+-[\d.]+\) model-based", page)
    import pandas as pd

    table = pd.read_csv(tmp_path / "report" / "areas.csv")
    assert set(table["wave"]) == set(past_waves[-2:]) and table["area"].nunique() == 40
    assert {"direct", "direct_se", "estimate", "rmse", "ci_low", "ci_high", "kind"} <= set(table.columns)


def test_admin_publishes_or_withdraws_the_area_estimates(demo_app, demo_client, demo_sign_in, past_waves):
    latest = past_waves[-1]
    demo_sign_in(Role.ADMIN)
    page = text_of(demo_client.get(f"/staff/waves/{latest}"))
    assert "This wave has 40 small areas." in page and "Stop showing them publicly" in page
    response = demo_client.post(f"/staff/waves/{latest}/publish-areas", data={})
    assert response.status_code == 303
    with demo_app.app_context():
        assert db.session.scalars(select(Wave.publish_areas).where(Wave.slug == latest)).one() is False
    page = text_of(demo_client.get("/results/"))
    assert "are no longer shown publicly" in page  # the flashed confirmation
    assert "These are model-based estimates" not in page
    demo_client.post(f"/staff/waves/{latest}/publish-areas", data={"publish_areas": "y"})
    assert "These are model-based estimates" in text_of(demo_client.get("/results/"))


def test_areas_command_declares_a_waves_areas(demo_app, tmp_path):
    from survey.models import AreaSource, WaveMode

    with demo_app.app_context():
        open_wave = db.session.scalars(select(Wave).where(Wave.published.is_(False))).one()
        open_wave.mode = WaveMode.INVITATION
        db.session.execute(Response.__table__.delete().where(Response.wave_id == open_wave.id))
        db.session.commit()
        slug = open_wave.slug
    path = tmp_path / "areas.csv"
    path.write_text("name,stratum,population,owner_share\nA,North,100,0.4\nB,North,200,0.5\nC,South,300,0.6\n", encoding="utf-8")
    result = demo_app.test_cli_runner().invoke(args=["areas", "--wave", slug, "--source", "resident", str(path)])
    assert result.exit_code == 0, result.output
    with demo_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == slug)).one()
        assert [(a.name, a.population, a.covariates) for a in wave.areas] == [
            ("A", 100, {"owner_share": 0.4}), ("B", 200, {"owner_share": 0.5}), ("C", 300, {"owner_share": 0.6})]
        assert wave.area_source == AreaSource.RESIDENT
    path.write_text("name,population\nA,1\n", encoding="utf-8")
    result = demo_app.test_cli_runner().invoke(args=["areas", "--wave", slug, str(path)])
    assert result.exit_code != 0 and "name, stratum, population" in result.output


def test_results_warm_fits_the_small_area_models_too(demo_app, tmp_path):
    """The public page's first view must not fit the model: `flask results-warm` caches it."""
    demo_app.config["RESULTS_CACHE_DIR"] = str(tmp_path / "warm-cache")
    result = demo_app.test_cli_runner().invoke(args=["results-warm"])
    assert result.exit_code == 0, result.output
    fitted = int(re.search(r"small-area models of (\d+)", result.output).group(1))
    assert fitted >= 1
    assert any(path.name.endswith("-areas.pickle") for path in (tmp_path / "warm-cache").iterdir())
