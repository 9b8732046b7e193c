"""The batched wave tables against the one-variable estimators, the p-value adjustments against
statsmodels, and the charts and report built from them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.estimate import domain_estimates, mean
from analysis.io import codebook_from_dict
from analysis.report import write_report
from analysis.synthetic import synthetic_export
from analysis.tables import build_design, holm_bh, rake_wave, wave_tables
from analysis.tables import measures as _measures


@pytest.fixture(scope="module")
def export():
    return synthetic_export(waves=3, per_wave=900, districts=4, seed=7)


@pytest.mark.parametrize("rake", [True, False])
def test_batched_estimates_match_domain_estimates(export, rake):
    frame, codebook = export
    tables = wave_tables(frame, codebook, breakdowns=["district", "age_band"], rake=rake, small_sample=False)
    measures = _measures(frame, codebook)
    wave = codebook.wave_order[1]
    mask = (frame["wave"] == wave).to_numpy()
    fw = frame[mask].reset_index(drop=True)
    design = build_design(fw)
    if rake:
        design = rake_wave(design, fw, codebook.target_margins())
    for k in (0, 1, 5, len(measures) - 1):
        y = measures[k]["values"][mask]
        for by in (None, "district", "age_band"):
            dom = None if by is None else fw[by].to_numpy(dtype=object)
            keep = np.ones(len(fw), bool) if dom is None else pd.notna(fw[by]).to_numpy()
            ref = domain_estimates(design, y, by=None if by is None else np.where(keep, dom, "~"), full_cov=True)
            got = tables.estimates[(tables.estimates["mi"] == k) & (tables.estimates["wave"] == wave)
                                   & (tables.estimates["by"].isna() if by is None else tables.estimates["by"] == by)]
            labels = [lab for lab in ref.labels if lab != "~"]
            got = got.set_index("domain").reindex(labels if by else [None])
            idx = [ref.labels.index(lab) for lab in labels] if by else [0]
            np.testing.assert_allclose(got["estimate"], ref.estimate[idx], rtol=1e-10)
            np.testing.assert_allclose(got["se"], ref.se[idx], rtol=1e-8)
            np.testing.assert_allclose(got["deff"], ref.deff[idx], rtol=1e-8)
            np.testing.assert_array_equal(got["n"], ref.n[idx])


def test_first_last_change_is_the_difference_of_two_wave_means_with_satterthwaite_df(export):
    """The change of an index between two waves: the difference of each wave's own raked mean, the
    SE from the two variances, the Welch-Satterthwaite df from the two designs' dfs."""
    frame, codebook = export
    first, last = codebook.wave_order[0], codebook.wave_order[-1]
    tables = wave_tables(frame, codebook, waves=[first, last], breakdowns=[], small_sample=False)
    ests = []
    for w in (first, last):
        fw = frame[frame["wave"] == w].reset_index(drop=True)
        design = rake_wave(build_design(fw), fw, codebook.target_margins())
        y = next(m["values"] for m in _measures(fw, codebook) if m["measure"] == "trust")
        ests.append(mean(design, y).iloc[0])
    (a, b) = ests
    va, vb = a["se"] ** 2, b["se"] ** 2
    df = (va + vb) ** 2 / (va**2 / a["df"] + vb**2 / b["df"])
    assert a["df"] > 100 and b["df"] > 100  # answered respondents minus strata
    row = tables.changes[(tables.changes["measure"] == "trust") & tables.changes["by"].isna()].iloc[0]
    assert row["difference"] == pytest.approx(b["estimate"] - a["estimate"], rel=1e-10)
    assert row["se"] == pytest.approx(np.sqrt(va + vb), rel=1e-8)
    assert row["df"] == pytest.approx(df, rel=1e-10)
    q = stats.t.ppf(0.975, df)
    assert row["ci_low"] == pytest.approx(row["difference"] - q * row["se"], rel=1e-10)
    p = 2 * stats.t.sf(abs(row["difference"] / row["se"]), df)
    assert row["p_value"] == pytest.approx(p, rel=1e-8, abs=1e-300)


def test_holm_and_bh_match_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, 40) ** 2
    p[[3, 9]] = np.nan
    holm, bh = holm_bh(p)
    ok = ~np.isnan(p)
    np.testing.assert_allclose(holm[ok], multipletests(p[ok], method="holm")[1])
    np.testing.assert_allclose(bh[ok], multipletests(p[ok], method="fdr_bh")[1])
    assert np.isnan(holm[3]) and np.isnan(bh[9])


def test_an_item_missing_from_a_wave_stays_in_the_other_waves(export):
    """Issue 17: an item not asked in one wave keeps its estimates and changes elsewhere; only the
    changes that involve that wave are marked not comparable. An excluded item keeps its estimates."""
    frame, codebook = export
    frame = frame.copy()
    w0, w1, w2 = codebook.wave_order
    frame.loc[frame["wave"] == w0, "eff_prevent"] = np.nan
    tables = wave_tables(frame, codebook, breakdowns=["district"],
                         exclude={"duty_back": "wording changed in version 2"})
    reasons = dict(zip(tables.not_compared["measure"], tables.not_compared["reason"], strict=True))
    assert reasons["duty_back"] == "wording changed in version 2"
    assert w0 in reasons["eff_prevent"]
    est = tables.estimates[(tables.estimates["measure"] == "eff_prevent") & tables.estimates["by"].isna()]
    assert est.set_index("wave")["interval"].to_dict() == {w0: "no answers", w1: "t", w2: "t"}
    assert est.set_index("wave")["n"][w1] > 100
    ch = tables.changes[(tables.changes["measure"] == "eff_prevent") & tables.changes["by"].isna()]
    by_kind = {(r.comparison, r.wave_from, r.wave_to): r for r in ch.itertuples(index=False)}
    step01, step12 = by_kind[("step", w0, w1)], by_kind[("step", w1, w2)]
    assert not step01.comparable and step01.note == f"not comparable: not asked in {w0}"
    assert np.isnan(step01.p_value) and np.isnan(step01.difference)
    assert step12.comparable and step12.note == "" and 0 <= step12.p_value <= 1
    assert not by_kind[("first_last", w0, w2)].comparable
    assert not by_kind[("trend", w0, w2)].comparable  # two waves with answers are not a trend
    excluded = tables.changes[tables.changes["measure"] == "duty_back"]
    assert len(excluded) and not excluded["comparable"].any() and excluded["p_value"].isna().all()
    assert (excluded["note"] == "not comparable: wording changed in version 2").all()
    assert (tables.estimates.loc[tables.estimates["measure"] == "duty_back", "n"] > 0).any()


def test_a_domain_without_answers_shows_as_no_answers(export):
    frame, codebook = export
    frame = frame.copy()
    w0, w1, _w2 = codebook.wave_order
    district = sorted(frame["district"].dropna().unique())[0]
    frame.loc[(frame["wave"] == w1) & (frame["district"] == district), "trust_agency"] = np.nan
    tables = wave_tables(frame, codebook, breakdowns=["district"])
    est = tables.estimates
    row = est[(est["measure"] == "trust_agency") & (est["domain"] == district) & (est["wave"] == w1)]
    assert len(row) == 1 and row["n"].iloc[0] == 0 and row["interval"].iloc[0] == "no answers"
    assert np.isnan(row["estimate"].iloc[0])
    ch = tables.changes
    step = ch[(ch["measure"] == "trust_agency") & (ch["domain"] == district) & (ch["comparison"] == "step")
              & (ch["wave_from"] == w0)].iloc[0]
    assert not step["comparable"] and step["note"] == f"not comparable: no answers in this domain in {w1}"
    other = ch[(ch["measure"] == "trust_agency") & (ch["domain"] != district) & (ch["comparison"] == "step")
               & (ch["wave_from"] == w0) & (ch["by"] == "district")]
    assert other["comparable"].all()


def test_codebook_from_dict_checks_the_format():
    with pytest.raises(ValueError, match="format"):
        codebook_from_dict({"format": "other"})


def test_mean_of_the_tables_equals_mean(export):
    frame, codebook = export
    tables = wave_tables(frame, codebook, breakdowns=[], rake=False, small_sample=False)
    wave = codebook.wave_order[0]
    fw = frame[frame["wave"] == wave].reset_index(drop=True)
    ref = mean(build_design(fw), fw["pj_respect"].to_numpy(dtype=float))
    got = tables.estimates[(tables.estimates["measure"] == "pj_respect") & (tables.estimates["wave"] == wave)]
    assert got["estimate"].iloc[0] == pytest.approx(ref["estimate"][0])
    assert got["ci_high"].iloc[0] == pytest.approx(ref["ci_high"][0])


# ---------------------------------------------------------------- charts and report


def _svg_root(svg: str):
    import xml.etree.ElementTree as ET

    return ET.fromstring(svg)


def test_trend_svg_is_well_formed_with_text_alternative_and_palette():
    import re

    from analysis.plots import OKABE_ITO, Series, trend_svg

    lines = [Series("Trust score", ["a", "b", "c"], [50, 52, 55], [48, 50, 53], [52, 54, 57]),
             Series("Safety score", ["a", "b", "c"], [60, 59, None], [58, 57, None], [62, 61, None])]
    svg = trend_svg(lines, title="Scores <by wave>", desc="Trust went from 50 to 55.")
    root = _svg_root(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-title chart-desc"
    assert root.find(f"{ns}title").text == "Scores <by wave>"
    assert root.find(f"{ns}desc").text == "Trust went from 50 to 55."
    # Lines are labeled at their ends as text, not only by color.
    texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "Trust score" in texts and "Safety score" in texts
    strokes = {c.lower() for c in re.findall(r"stroke: ?(#[0-9A-Fa-f]{6})", svg)}
    assert {OKABE_ITO[0].lower(), OKABE_ITO[1].lower()} <= strokes
    assert 'stroke-dasharray' in svg  # the second line differs by dashes too


def test_small_multiples_svg_has_one_titled_panel_per_domain():
    from analysis.plots import Series, small_multiples_svg

    everyone = Series("Everyone", ["a", "b"], [50, 51], [49, 50], [51, 52])
    panels = [(f"District {k}", [everyone, Series(f"District {k}", ["a", "b"], [40 + k, 45 + k], [38, 43], [42, 47])])
              for k in range(5)]
    root = _svg_root(small_multiples_svg(panels, title="Trust by district", desc="x", note="Gray: everyone."))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(f"District {k}" in texts for k in range(5))
    assert "Gray: everyone." in texts


def test_plots_module_imports_neither_flask_nor_survey():
    import subprocess
    import sys

    code = "import sys, analysis.plots, analysis.report, analysis.tables; " \
           "assert not any(m.split('.')[0] in ('flask', 'survey') for m in sys.modules), 'web import'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_writes_html_with_figures_methodology_and_csv(tmp_path):
    frame, codebook = synthetic_export(waves=4, per_wave=1500, districts=4, seed=11)
    messages: list[str] = []
    times = write_report(frame, codebook, tmp_path, breakdowns=["district", "age_band"], progress=messages.append)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count('<img src="data:image/svg+xml;base64,') == 7 + 7 + 2
    for heading in ("Methodology", "Sampling", "Responses and response rates", "Weighting", "margin of error",
                    "How indexes are scored", "Translation status", "Not compared"):
        assert heading in page, heading
    assert "@media print" in page and "<script" not in page
    # The synthetic drift: district D01 rises, D02 falls.
    assert re.search(r"Trust score \(D01\) rose [\d.]+ points", page)
    assert re.search(r"Trust score \(D02\) fell [\d.]+ points", page)
    changes = pd.read_csv(tmp_path / "changes.csv")
    assert {"difference", "ci_low", "ci_high", "p_holm", "p_bh", "label"} <= set(changes.columns)
    assert len(pd.read_csv(tmp_path / "estimates.csv")) > 100
    assert set(times) == {"weights and estimates", "charts", "csv", "html"}
    assert any(m.startswith("charts:") for m in messages)


def test_report_command_line(tmp_path, capsys):
    import json

    from analysis.cli import main

    frame, codebook = synthetic_export(waves=2, per_wave=600, districts=3, seed=5)
    frame.to_csv(tmp_path / "responses.csv", index=False)
    (tmp_path / "codebook.json").write_text(json.dumps(codebook.raw), encoding="utf-8")
    status = main(["report", str(tmp_path / "responses.csv"), "--codebook", str(tmp_path / "codebook.json"),
                   "--out", str(tmp_path / "out"), "--by", "district"])
    assert status == 0
    err = capsys.readouterr().err
    assert "weights and estimates" in err and "wrote" in err
    assert (tmp_path / "out" / "report.html").exists()


def test_the_report_withholds_estimates_from_small_cells(tmp_path):
    """Districts of about 100 respondents against a threshold of 120: every district estimate is
    withheld in estimates.csv and report.html, and said so; without withholding they would show."""
    frame, codebook = synthetic_export(waves=2, per_wave=300, districts=3, seed=5)
    write_report(frame, codebook, tmp_path / "kept", breakdowns=["district"], min_n=120)
    write_report(frame, codebook, tmp_path / "open", breakdowns=["district"], min_n=120, withhold=False)
    kept = pd.read_csv(tmp_path / "kept" / "estimates.csv")
    opened = pd.read_csv(tmp_path / "open" / "estimates.csv")
    small = kept["n"] < 120
    assert small.any() and (~small).any()
    assert kept.loc[small, ["estimate", "se", "ci_low", "ci_high", "deff"]].isna().all().all()
    assert kept.loc[small, "withheld"].all() and not kept.loc[~small, "withheld"].any()
    assert kept.loc[~small, "estimate"].notna().all()
    assert opened.loc[opened["n"] < 120, "estimate"].notna().all(), "the check can fail: without withholding they show"
    changes = pd.read_csv(tmp_path / "kept" / "changes.csv")
    assert changes.loc[changes["too_few"], ["difference", "estimate_from", "estimate_to"]].isna().all().all()
    html_text = (tmp_path / "kept" / "report.html").read_text()
    assert "withheld" in html_text and "fewer than 120" in html_text


def test_every_estimate_names_its_interval_and_the_switch_at_0_and_1():
    from analysis.estimate import ci_korn_graubard, ci_wilson
    from analysis.tables import INTERVALS, intervals

    est = np.array([5.0, 0.3, 0.0, 1.0, np.nan])
    se = np.array([0.2, 0.05, 0.0, 0.0, np.nan])
    df = np.array([30.0, 30.0, 30.0, 30.0, 0.0])
    n = np.array([32, 32, 32, 32, 0])
    prop = np.array([False, True, True, True, True])
    lo, hi, how = intervals(est, se, df, n, prop, 0.95)
    assert list(how) == ["t", "wilson", "korn-graubard", "korn-graubard", "no answers"]
    assert set(how) <= set(INTERVALS)
    assert (lo[0], hi[0]) == pytest.approx((5.0 - stats.t.ppf(0.975, 30) * 0.2, 5.0 + stats.t.ppf(0.975, 30) * 0.2))
    assert (lo[1], hi[1]) == pytest.approx(tuple(float(v) for v in ci_wilson(0.3, 0.05, 0.95, 30, 32)))
    assert (lo[2], hi[2]) == pytest.approx(ci_korn_graubard(0.0, 0.0, 0.95, 30, 32))
    assert lo[2] == 0 and 0 < hi[2] < 0.2 and hi[3] == 1
    assert np.isnan(lo[4]) and np.isnan(hi[4])


def test_wilson_on_a_simple_random_sample_is_the_textbook_wilson():
    from analysis.estimate import ci_wilson

    p, n = 0.3, 50
    lo, hi = ci_wilson(p, np.sqrt(p * (1 - p) / n))  # no df: n* = n
    z = stats.norm.ppf(0.975)
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (float(lo), float(hi)) == pytest.approx((center - half, center + half), rel=1e-12)


def test_report_says_no_answers_and_not_comparable(tmp_path):
    """A question not asked in the first wave, and a district where nobody answered one in the last."""
    frame, codebook = synthetic_export(waves=3, per_wave=600, districts=3, seed=9)
    frame = frame.copy()
    w0, _w1, w2 = codebook.wave_order
    frame.loc[frame["wave"] == w0, "trust_agency"] = np.nan
    district = sorted(frame["district"].dropna().unique())[0]
    frame.loc[(frame["wave"] == w2) & (frame["district"] == district), "pj_respect"] = np.nan
    write_report(frame, codebook, tmp_path, breakdowns=["district"])
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<td class="num">no answers</td>' in page
    assert f"not comparable: not asked in {w0}" in page
    assert "not comparable: no answers in this domain in " + w2 in page
    est = pd.read_csv(tmp_path / "estimates.csv", keep_default_na=False)
    assert {"t", "wilson", "no answers"} <= set(est["interval"])
    assert "Wilson score intervals" in page and "Welch-Satterthwaite" in page and "linear contrast" in page
    changes = pd.read_csv(tmp_path / "changes.csv")
    step = changes[(changes["measure"] == "trust_agency") & changes["by"].isna() & (changes["comparison"] == "step")]
    assert list(step["comparable"]) == [False, True]
