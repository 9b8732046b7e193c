"""The batched wave tables against the one-variable estimators, the p-value adjustments against
statsmodels, and the charts and report built from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.compare import _measures, build_design, rake_by_wave
from analysis.estimate import difference, domain_estimates, mean
from analysis.io import codebook_from_dict
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
