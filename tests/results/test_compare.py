"""The staff comparison view on the demo data: the drift it simulates, a hand-checked change,
refusal of mixed questionnaires, items not compared, and the charts."""

from __future__ import annotations

import html
import re

import pytest

from survey.models import Role
from tests.pagetext import text_of


def compare_url(waves, by="district", adjust="holm", section="findings"):
    return "/staff/compare/?" + "&".join(f"waves={w}" for w in waves) + f"&by={by}&adjust={adjust}&section={section}"


def test_compare_view_shows_the_demo_drift(demo_client, demo_sign_in, past_waves):
    demo_sign_in(Role.ANALYST)
    first, last = past_waves[0], past_waves[-1]
    page = text_of(demo_client.get(compare_url([first, last])))
    # Findings first: the index sentences, then the districts that changed.
    assert page.index("Main findings") < page.index("Trust score rose")
    assert re.search(rf"Trust score \(East\) rose [\d.]+ points from {first} to {last}", page), page[:3000]
    assert re.search(rf"Trust score \(South\) fell [\d.]+ points from {first} to {last}", page)
    method = text_of(demo_client.get(compare_url([first, last], section="method")))
    assert "raked in each wave to the agency's population targets for Age band" in method
    assert "age_band" not in method and "race_eth" not in method
    assert "Spanish: draft, not reviewed" in method
    rates = text_of(demo_client.get(compare_url([first, last], section="rates")))
    assert "Design effect of the weights" in rates and "AAPOR RR1" in rates


@pytest.mark.parametrize("section", ["indexes", "questions", "groups", "question-groups"])
def test_every_section_is_its_own_page_with_the_tables(demo_client, demo_sign_in, past_waves, section):
    demo_sign_in(Role.ANALYST)
    response = demo_client.get(compare_url(past_waves, section=section))
    page = text_of(response)
    assert "Adjusted p (Holm)" in page and "Verdict (adjusted)" in page
    assert "-0.0" not in page and "−0.0" not in page
    assert 'aria-current="page"' in response.get_data(as_text=True)


def test_the_open_wave_is_marked_provisional(demo_app, demo_client, demo_sign_in, past_waves):
    from sqlalchemy import select

    from survey.db import db
    from survey.models import Wave

    with demo_app.app_context():
        open_wave = db.session.scalars(select(Wave).where(Wave.published.is_(False))).one()
        slug, title = open_wave.slug, open_wave.title
    demo_sign_in(Role.ANALYST)
    page = text_of(demo_client.get(compare_url([past_waves[-1], slug])))
    assert f"{title} is still open: its numbers are provisional" in page
    closed = text_of(demo_client.get(compare_url(past_waves)))
    assert "provisional" not in closed


def test_one_change_and_its_interval_match_the_analysis_package(demo_app, demo_client, demo_sign_in, past_waves,
                                                               tmp_path):
    """Hand-checked: the trust change shown on the page is the difference of the two waves' raked means
    with the Satterthwaite df (analysis.changes.wave_change) on the export."""
    from sqlalchemy import select

    from analysis.changes import wave_change
    from analysis.estimate import mean
    from analysis.io import read_export
    from analysis.scales import score_indexes
    from analysis.tables import build_design, rake_wave
    from survey import export
    from survey.db import db
    from survey.models import Wave

    first, last = past_waves[0], past_waves[-1]
    with demo_app.test_request_context():
        waves = list(db.session.scalars(select(Wave).where(Wave.slug.in_([first, last]))))
        export.write(export.build(waves), tmp_path / "exp")
    frame, codebook = read_export(tmp_path / "exp" / "responses.csv", tmp_path / "exp" / "codebook.json")
    est = {}
    for w in (first, last):
        fw = frame[frame["wave"] == w].reset_index(drop=True)
        design = rake_wave(build_design(fw), fw, codebook.target_margins())
        est[w] = mean(design, score_indexes(fw, codebook.indexes)["trust"].to_numpy()).iloc[0]
    a, b = est[first], est[last]
    ref = wave_change(a["estimate"], a["se"] ** 2, a["df"], b["estimate"], b["se"] ** 2, b["df"])
    ref = {k: float(v) for k, v in ref.items()}
    ref["estimate"] = ref["difference"]

    demo_sign_in(Role.ANALYST)
    page = text_of(demo_client.get(compare_url([first, last])))
    expected = (f"Trust score rose {abs(ref['estimate']):.1f} points from {first} to {last} "
                f"(95% CI {ref['ci_low']:.1f} to {ref['ci_high']:.1f})")
    assert ref["estimate"] > 0
    assert expected in page


def test_mixed_questionnaires_are_refused(demo_app, demo_client, demo_sign_in, past_waves):
    import datetime as dt

    from survey.db import db
    from survey.models import Agency, Instrument, InstrumentVersion, Wave, WaveMode, WaveStratum

    with demo_app.app_context():
        agency = db.session.query(Agency).first()
        stored = db.session.query(InstrumentVersion).first()
        other = Instrument(agency_id=agency.id, key="other-survey", title="Other")
        db.session.add(other)
        db.session.flush()
        version = InstrumentVersion(instrument_id=other.id, version=1, content_hash="x" * 64,
                                    definition=dict(stored.definition, key="other-survey"), source_file="other.toml")
        db.session.add(version)
        db.session.flush()
        db.session.add(Wave(agency_id=agency.id, instrument_version_id=version.id, slug="other-1", title="Other wave",
                            opens_on=dt.date(2025, 1, 1), closes_on=dt.date(2025, 2, 1), mode=WaveMode.INVITATION,
                            languages=["en"], strata=[WaveStratum(name="North", population=10)]))
        db.session.commit()
    demo_sign_in(Role.ADMIN)
    page = text_of(demo_client.get(compare_url([past_waves[0], "other-1"])))
    assert "These waves use different questionnaires (core-trust, other-survey)" in page
    assert "Index scores" not in page


def test_an_item_reworded_between_versions_is_not_compared(demo_app, demo_client, demo_sign_in, past_waves):
    """A later wave on a version where duty_back is worded differently: listed with the reason."""
    import copy

    from sqlalchemy import select

    from survey.db import db
    from survey.instruments import validate
    from survey.models import InstrumentVersion, Wave

    last = past_waves[-1]
    with demo_app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.slug == last)).one()
        old = wave.instrument_version
        raw = copy.deepcopy(old.definition)
        raw["version"] = 2
        for item in raw["items"]:
            if item["key"] == "duty_back":
                item["text"]["en"] = "Do you feel you should back the police even when you disagree with them?"
            if item["key"] == "eff_response":
                item["key"] = "eff_response_v2"
        for index in raw.get("indexes", []):
            for member in index["items"]:
                if member["key"] == "eff_response":
                    member["key"] = "eff_response_v2"
        new = InstrumentVersion(instrument_id=old.instrument_id, version=2, content_hash=validate(raw).content_hash,
                                definition=raw, source_file="core-trust.v2.toml")
        db.session.add(new)
        db.session.flush()
        wave.instrument_version_id = new.id
        db.session.commit()
    demo_sign_in(Role.ANALYST)
    page = text_of(demo_client.get(compare_url([past_waves[0], last], section="method")))
    assert ": the wording or answer scale changed between versions 1 and 2" in page
    assert re.search(r": not asked in " + last, page)
    # The question by its words, never by its key.
    assert re.search(r"Felt obligation to obey: uses “[^”]*back[^”]*police[^”]*”, which cannot be compared", page), page
    assert "duty_back" not in page


def test_one_wave_is_not_enough(demo_client, demo_sign_in, past_waves):
    demo_sign_in(Role.ANALYST)
    page = text_of(demo_client.get(compare_url([past_waves[0]])))
    assert "Choose two or more waves to compare." in page


@pytest.mark.parametrize("chart", ["trend", "domains", "gaps"])
def test_charts_are_svg_with_a_text_alternative_and_the_palette(demo_client, demo_sign_in, past_waves, chart):
    import xml.etree.ElementTree as ET

    demo_sign_in(Role.ANALYST)
    url = ("/staff/compare/chart.svg?" + "&".join(f"waves={w}" for w in past_waves)
           + f"&chart={chart}&measure=trust&by=district")
    response = demo_client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    assert "Trust score" in root.find(f"{ns}title").text
    desc = root.find(f"{ns}desc").text
    assert "95% CI" in desc or "confidence" in desc
    from analysis.plots import OKABE_ITO

    strokes = set(re.findall(r"stroke: ?(#[0-9a-f]{6})", svg.lower()))
    lines = strokes - {"#4a4a4a", "#d9d9d9", "#767676", "#1b1b1b", "#ffffff"}
    assert lines and lines <= {c.lower() for c in OKABE_ITO}, strokes
    # A second request is served from the cache and is identical.
    assert demo_client.get(url).get_data(as_text=True) == svg


def test_compare_page_has_charts_with_alt_text(demo_client, demo_sign_in, past_waves):
    demo_sign_in(Role.ADMIN)
    assert "<img" not in demo_client.get(compare_url(past_waves)).get_data(as_text=True)  # charts only when asked
    body = demo_client.get(compare_url(past_waves, section="groups")).get_data(as_text=True)
    imgs = re.findall(r'<img [^>]*?src="([^"]+)" alt="([^"]*)"', body)
    assert imgs and all(alt.strip() for _src, alt in imgs)
    assert any("East went from" in html.unescape(alt) for _src, alt in imgs)


def test_report_command_shows_the_drift_and_prints_progress(demo_app, past_waves, tmp_path):
    runner = demo_app.test_cli_runner()
    args = ["report", *[a for w in past_waves for a in ("--waves", w)], "--out", str(tmp_path / "report")]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "weights and estimates" in result.output and "charts:" in result.output
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    first, last = past_waves[0], past_waves[-1]
    assert re.search(rf"Trust score \(East\) rose [\d.]+ points from {first} to {last}", page)
    assert re.search(rf"Trust score \(South\) fell [\d.]+ points from {first} to {last}", page)
    assert "es</th><td>draft" in page  # translation status from the instrument
    assert (tmp_path / "report" / "changes.csv").exists()


def test_report_command_refuses_unknown_waves(demo_app, tmp_path):
    result = demo_app.test_cli_runner().invoke(args=["report", "--waves", "nope", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "No such wave: nope" in result.output


def test_small_cells_are_withheld_on_the_comparison_page_and_charts(demo_app, demo_client, demo_sign_in, past_waves):
    """With a threshold above every district's count, no district estimate is shown, and the page says why."""
    first, last = past_waves[0], past_waves[-1]
    demo_sign_in(Role.ANALYST)
    groups = compare_url([first, last], section="groups")
    shown = text_of(demo_client.get(groups))
    assert not re.search(r"fewer than 10\b", shown), "the check can fail: normally districts are shown"
    demo_app.config["SMALL_COUNT_THRESHOLD"] = 100_000
    page = text_of(demo_client.get(groups))
    assert "fewer than 100000" in page or "fewer than 100,000" in page
    assert not re.search(r"Trust score \(East\) (rose|fell)", page)
    svg = demo_client.get(f"/staff/compare/chart.svg?waves={first}&waves={last}&chart=domains&measure=trust&by=district")
    assert svg.status_code == 200 and "nan" not in svg.get_data(as_text=True).lower()


@pytest.mark.parametrize("code", ["en", "es", "ar", "fr", "ru", "pt", "vi", "ko", "zh_Hans", "zh_Hant", "tl", "ht"])
def test_fast_numbers_are_babels_numbers(demo_app, code, monkeypatch):
    """present.fixed gives the text Babel's format_decimal / format_percent give, in every language."""
    import random

    from flask_babel import force_locale, format_decimal, format_percent

    from survey.results import present

    rng = random.Random(5)
    values = [0.0, 0.05, 0.25, 0.35, 1.45, -2.25, 999.95, 1234.5, -12345.67] + [rng.uniform(-5000, 5000) for _ in range(50)]
    monkeypatch.setattr(present, "lang", lambda: code)  # the visitor's language, as a request would give it
    with demo_app.test_request_context(), force_locale(code):
        for v in values:
            assert present.fixed(v) == format_decimal(v, "#,##0.0"), v
            assert present.fixed(v, 3) == format_decimal(v, "#,##0.000"), v
            assert present.fixed(v, signed=True) == format_decimal(v, "+#,##0.0;-#,##0.0"), v
            assert present.fixed(round(v)) == format_decimal(round(v), "#,##0.0"), v
            assert present.fixed(v / 10000, percent=True) == format_percent(v / 10000, "#,##0.0%"), v
        assert present.change(-0.04, {"scale": "mean"}) in ("0.0", "0,0")
        assert present.change(-0.0004, {"scale": "proportion"}) in ("0.0", "0,0")


def test_the_report_downloads_as_a_zip_from_the_console(demo_client, demo_sign_in, past_waves):
    import io
    import zipfile

    demo_sign_in(Role.ANALYST)
    first, last = past_waves[0], past_waves[-1]
    page = demo_client.get(compare_url([first, last])).get_data(as_text=True)
    assert "/staff/compare/report.zip?waves=" in page
    response = demo_client.get(f"/staff/compare/report.zip?waves={first}&waves={last}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert "report.html" in names and "changes.csv" in names
    html = archive.read("report.html").decode()
    assert re.search(rf"Trust score \(East\) rose [\d.]+ points from {first} to {last}", html)


@pytest.mark.parametrize("chart", ["trend", "domains", "gaps"])
def test_chart_titles_start_where_the_language_reads_from(demo_client, demo_sign_in, past_waves, chart):
    """A chart's title (and a small-multiples chart's panel titles and note) start at the left in
    English and at the right in Arabic, where its reader begins."""
    import xml.etree.ElementTree as ET

    demo_sign_in(Role.ANALYST)
    ns = "{http://www.w3.org/2000/svg}"
    placed = {}
    for lang, anchor in (("en", "start"), ("ar", "end")):
        demo_client.post("/language", data={"lang": lang})
        url = ("/staff/compare/chart.svg?" + "&".join(f"waves={w}" for w in past_waves)
               + f"&chart={chart}&measure=trust&by=district&lang={lang}")
        root = ET.fromstring(demo_client.get(url).get_data(as_text=True))
        bold = [t for t in root.iter(f"{ns}text") if "font-weight: 700" in (t.get("style") or "")]
        assert bold, "no title drawn"
        for title in bold:
            assert f"text-anchor: {anchor}" in title.get("style"), (lang, title.text)
        # The chart's own title (the largest) is anchored at the plot's left edge in English and
        # at its right edge in Arabic.
        title = max(bold, key=lambda t: float(re.search(r"font-size: ([\d.]+)px", t.get("style")).group(1)))
        placed[lang] = float(title.get("x")) / float(root.get("viewBox").split()[2])
    assert placed["en"] < 0.25 and placed["ar"] > 0.6, placed


@pytest.mark.parametrize("section", ["findings", "indexes"])
def test_wave_codes_and_signed_numbers_read_left_to_right_in_arabic(demo_client, demo_sign_in, past_waves, section):
    """On a right-to-left page "2025-q4" was shown "q4-2025", "+4.3" as "4.3+" and "< 0.001" as
    "0.001 <": every wave code, change, interval and p-value on Compare is isolated left to right,
    in the tables as <bdi dir="ltr"> and in the sentences as LRI ... PDI."""
    from survey.results.present import LRI, PDI

    demo_sign_in(Role.ANALYST)
    demo_client.post("/language", data={"lang": "ar"})
    page = demo_client.get(compare_url(past_waves, section=section)).get_data(as_text=True)
    isolated = rf'(<bdi dir="ltr">|{LRI})'
    waves = re.escape(past_waves[0]) + "|" + re.escape(past_waves[-1])
    # Every wave code in the page's text (not in its addresses, form values or text alternatives,
    # which a screen reader reads in logical order) is isolated.
    body = re.sub(r'(href|value|action|src|alt)="[^"]*"', "", page[page.index("<main"):])
    shown = list(re.finditer(rf"(?<![\w/=-])({waves})(?![\w-])", body))
    assert shown, "no wave code on the page"
    for m in shown:
        assert re.search(isolated + r"$", body[:m.start()]), body[max(0, m.start() - 80):m.end() + 20]
    # Every signed number and every "< 0.001" is isolated too.
    signed = list(re.finditer(r"(?<![\w.])[+−-]\d+\.\d|&lt; 0\.\d+", body))
    assert signed, "no signed number on the page"
    for m in signed:
        before = body[:m.start()]
        assert re.search(isolated + r"$", before) or re.search(rf"<bdi dir=\"ltr\">[^<{PDI}]*$", before), \
            body[max(0, m.start() - 80):m.end() + 20]
