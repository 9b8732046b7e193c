"""The batched wave tables against the one-variable estimators, the p-value adjustments against
statsmodels, and the charts and report built from them."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis.compare import _measures, build_design, rake_by_wave
from analysis.estimate import difference, domain_estimates, mean
from analysis.io import codebook_from_dict
from analysis.report import write_report
from analysis.synthetic import synthetic_export
from analysis.tables import holm_bh, wave_tables


@pytest.fixture(scope="module")
def export():
    return synthetic_export(waves=3, per_wave=900, districts=4, seed=7)


@pytest.mark.parametrize("rake", [True, False])
def test_batched_estimates_match_domain_estimates(export, rake):
    frame, codebook = export
    tables = wave_tables(frame, codebook, breakdowns=["district", "age_band"], rake=rake)
    measures = _measures(frame, codebook)
    wave = codebook.wave_order[1]
    mask = (frame["wave"] == wave).to_numpy()
    fw = frame[mask].reset_index(drop=True)
    design = build_design(fw)
    if rake:
        design = rake_by_wave(design, fw, codebook.target_margins())
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


def test_first_last_change_matches_difference_on_one_design(export):
    """The change of an index between two waves equals analysis.difference on a joint design."""
    frame, codebook = export
    first, last = codebook.wave_order[0], codebook.wave_order[-1]
    tables = wave_tables(frame, codebook, waves=[first, last], breakdowns=[])
    two = frame[frame["wave"].isin([first, last])].reset_index(drop=True)
    design = rake_by_wave(build_design(two), two, codebook.target_margins())
    y = next(m["values"] for m in _measures(two, codebook) if m["measure"] == "trust")
    ref = difference(design, y, by=two["wave"].to_numpy(dtype=object), first=first, second=last)
    row = tables.changes[(tables.changes["measure"] == "trust") & tables.changes["by"].isna()].iloc[0]
    assert row["difference"] == pytest.approx(ref["estimate"], rel=1e-7)
    assert row["se"] == pytest.approx(ref["se"], rel=1e-6)
    assert row["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-6)
    assert row["p_value"] == pytest.approx(ref["p_value"], rel=1e-5, abs=1e-12)


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


def test_an_item_missing_from_a_wave_is_not_compared(export):
    frame, codebook = export
    frame = frame.copy()
    frame.loc[frame["wave"] == codebook.wave_order[0], "eff_prevent"] = np.nan
    tables = wave_tables(frame, codebook, breakdowns=[], exclude={"duty_back": "wording changed in version 2"})
    reasons = dict(zip(tables.not_compared["measure"], tables.not_compared["reason"], strict=True))
    assert reasons["duty_back"] == "wording changed in version 2"
    assert codebook.wave_order[0] in reasons["eff_prevent"]
    assert not tables.changes["measure"].isin(["duty_back", "eff_prevent"]).any()


def test_codebook_from_dict_checks_the_format():
    with pytest.raises(ValueError, match="format"):
        codebook_from_dict({"format": "other"})


def test_mean_of_the_tables_equals_mean(export):
    frame, codebook = export
    tables = wave_tables(frame, codebook, breakdowns=[], rake=False)
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
    # Lines are labelled at their ends as text, not only by colour.
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
