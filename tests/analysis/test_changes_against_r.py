"""Changes between waves and trends of the one engine against R's survey package (issue 17).

The values in r/changes.json come from r/changes.R: a stacked design (strata = wave x stratum)
raked to wave x category margins, cell-means svyglm and svycontrast, with the Welch-Satterthwaite
df written out from each wave estimate's own df. Tolerance 1e-6 relative. The engine runs with
``small_sample=False`` here (R's svymean variance); the correction is checked on its own below.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest
from rref import DATA, HERE

from analysis.changes import linear_trend, wave_change
from analysis.io import read_export
from analysis.tables import wave_tables

RTOL = 1e-6
COLUMNS = ["difference", "se", "df", "ci_low", "ci_high", "p_value"]


@cache
def r_values() -> dict:
    return json.loads((HERE / "r" / "changes.json").read_text())


def r(key: str) -> np.ndarray:
    return np.asarray(r_values()[key]["value"], dtype=np.float64)


@pytest.fixture(scope="module")
def tables():
    frame, codebook = read_export(DATA / "export.csv", DATA / "codebook.json")
    return wave_tables(frame, codebook, breakdowns=["district"], min_n=1, small_sample=False)


def pick(tables, measure: str, category: str | None, comparison: str, domain: str | None = None,
         wave_from: str | None = None):
    ch = tables.changes
    sel = (ch["measure"] == measure) & (ch["comparison"] == comparison)
    sel &= ch["category"].isna() if category is None else ch["category"] == category
    sel &= ch["by"].isna() if domain is None else (ch["by"] == "district") & (ch["domain"] == domain)
    if wave_from is not None:
        sel &= ch["wave_from"] == wave_from
    rows = ch[sel]
    assert len(rows) == 1
    return rows.iloc[0]


ITEMS = [("trust_agency", "trust_agency", None), ("job1", "job_rating", "1")]
CASES = [("first_last", "first_last", None), ("step_1", "step", "2025-q1"), ("step_2", "step", "2025-q2"),
         ("trend", "trend", None)]


@pytest.mark.parametrize(("key", "measure", "category"), ITEMS)
def test_wave_estimates_and_own_df_match_r(tables, key, measure, category):
    est = tables.estimates
    sel = (est["measure"] == measure) & est["by"].isna()
    sel &= est["category"].isna() if category is None else est["category"] == category
    got = est[sel].sort_values("wave")
    want = r(f"{key}_wave_estimates")
    np.testing.assert_allclose(got["estimate"], want[0:3], rtol=RTOL)
    np.testing.assert_allclose(got["se"], want[3:6], rtol=RTOL)
    np.testing.assert_array_equal(got["df"], want[6:9])


@pytest.mark.parametrize(("key", "measure", "category"), ITEMS)
@pytest.mark.parametrize(("suffix", "comparison", "wave_from"), CASES)
def test_overall_changes_and_trend_match_r(tables, key, measure, category, suffix, comparison, wave_from):
    row = pick(tables, measure, category, comparison, wave_from=wave_from)
    np.testing.assert_allclose(row[COLUMNS].to_numpy(dtype=float), r(f"{key}_{suffix}"), rtol=RTOL, atol=1e-300)


@pytest.mark.parametrize(("key", "measure", "category"), ITEMS)
@pytest.mark.parametrize("district", ["east", "north", "south"])
@pytest.mark.parametrize("suffix", ["first_last", "trend"])
def test_district_changes_and_trend_match_r(tables, key, measure, category, district, suffix):
    row = pick(tables, measure, category, suffix, domain=district)
    np.testing.assert_allclose(row[COLUMNS].to_numpy(dtype=float), r(f"{key}_{district}_{suffix}"), rtol=RTOL,
                               atol=1e-300)
    own = r(f"{key}_{district}_wave_estimates")[6:9]
    assert row["df"] < own.sum() and row["df"] >= own.min()  # Satterthwaite, not the stacked design's df


def test_the_trend_is_the_contrast_of_svyby_estimates():
    """The same trend from R's svyby estimates and SEs, through linear_trend."""
    est = r("trust_agency_wave_estimates")
    got = linear_trend(est[0:3], est[3:6] ** 2, est[6:9])
    np.testing.assert_allclose([got["slope"], got["se"]], r("trust_agency_trend_svyby"), rtol=RTOL)
    np.testing.assert_allclose([got["slope"], got["se"], got["df"]], r("trust_agency_trend")[:3], rtol=RTOL)


def test_wave_change_on_r_estimates():
    est = r("trust_agency_north_wave_estimates")
    got = wave_change(est[0], est[3] ** 2, est[6], est[2], est[5] ** 2, est[8])
    np.testing.assert_allclose([got[c] for c in COLUMNS], r("trust_agency_north_first_last"), rtol=RTOL)


def test_the_small_sample_correction_is_the_leverage_factor(tables):
    """With the default bias-reduced linearization the wave SEs differ from R's by the leverage
    factor: for a domain mean on an unraked stratified design, each influence value over
    sqrt(1 - w_i / sum w)."""
    frame, codebook = read_export(DATA / "export.csv", DATA / "codebook.json")
    corrected = wave_tables(frame, codebook, breakdowns=["district"], min_n=1)
    est = corrected.estimates
    row = est[(est["measure"] == "trust_agency") & (est["by"] == "district") & (est["domain"] == "east")
              & (est["wave"] == "2025-q1")].iloc[0]
    want = r("trust_agency_east_wave_estimates")
    assert row["estimate"] == pytest.approx(want[0], rel=1e-10)
    assert 1.0 < row["se"] / want[3] < 1.0 + 3 / row["n"]  # about 1 + 1/(2 n_eff): a small domain's SE grows
    whole = est[(est["measure"] == "trust_agency") & est["by"].isna() & (est["wave"] == "2025-q1")].iloc[0]
    assert 0 < whole["se"] / r("trust_agency_wave_estimates")[3] - 1 < 2 / whole["n"]


def test_leverage_correction_by_hand():
    """Unraked, unstratified: the corrected variance is sum z_i^2/(1-h_i) * n/(n-1)."""
    import pandas as pd

    from analysis.design import Design
    from analysis.tables import batch_means

    rng = np.random.default_rng(4)
    n = 40
    w = rng.uniform(1, 5, n)
    y = rng.normal(5, 2, n)[:, None]
    design = Design.from_data(pd.DataFrame({"w": w}), weights="w")
    got = batch_means(design, y, np.zeros(n, dtype=np.int64), 1, small_sample=True)
    mu = np.sum(w * y[:, 0]) / w.sum()
    z = w * (y[:, 0] - mu) / w.sum()
    h = w / w.sum()
    zc = z / np.sqrt(1 - h)
    want = n / (n - 1) * np.sum((zc - zc.mean()) ** 2)
    assert got["var"][0, 0] == pytest.approx(want, rel=1e-12)
    plain = batch_means(design, y, np.zeros(n, dtype=np.int64), 1)
    assert plain["var"][0, 0] == pytest.approx(n / (n - 1) * np.sum((z - z.mean()) ** 2), rel=1e-12)
