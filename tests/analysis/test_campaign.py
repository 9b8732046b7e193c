"""Campaign benchmarks (analysis.campaign) against R's survey package (issue 18, item 4).

The values in r/campaign.json come from r/campaign.R: the agencies of data/campaign.csv stacked in
one design (strata = agency x district), svyby(covmat = TRUE) per agency and svycontrast() for the
pooled and peer estimates and the differences, Welch-Satterthwaite df written out from each
agency's own df. Each agency's estimate here comes from the one engine (build_design and
batch_means, as wave_tables makes them) with ``small_sample=False`` (R's svymean variance).
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from rref import DATA, HERE

from analysis.campaign import agency_index_estimates, campaign_benchmarks, describe_benchmark
from analysis.tables import batch_means, build_design

RTOL = 1e-8
PEERS = {"a1": ["a1", "a2", "a3", "a4"], "a5": ["a5", "a6"]}
GROUP = ["group_estimate", "group_se", "group_df", "group_ci_low", "group_ci_high"]
DIFF = ["difference", "se", "df", "ci_low", "ci_high", "p_value"]


@cache
def r_values() -> dict:
    return json.loads((HERE / "r" / "campaign.json").read_text())


def r(key: str) -> np.ndarray:
    return np.asarray(r_values()[key]["value"], dtype=np.float64)


@cache
def frame() -> pd.DataFrame:
    return pd.read_csv(DATA / "campaign.csv", dtype={"agency": str, "stratum": str, "wave": str, "peer": str},
                       keep_default_na=False, na_values={"trust": [""], "trust_full": [""]})


@cache
def estimates(item: str) -> pd.DataFrame:
    """Each agency's estimate of ``item`` from its own design, by the one engine."""
    rows = []
    for agency, fa in frame().groupby("agency", sort=True):
        fa = fa.reset_index(drop=True)
        design = build_design(fa)
        res = batch_means(design, fa[[item]].to_numpy(dtype=np.float64), np.zeros(len(fa), dtype=np.int64), 1)
        rows.append({"agency": agency, "measure": item, "estimate": res["estimate"][0, 0], "var": res["var"][0, 0],
                     "df": float(res["df"][0, 0]), "n": int(res["n"][0, 0]), "population": design.weights.sum()})
    return pd.DataFrame(rows)


def bench(item: str, own: str) -> pd.DataFrame:
    return campaign_benchmarks(estimates(item), own, PEERS[own], min_agencies=1, min_n=1).set_index("comparison")


@pytest.mark.parametrize("item", ["trust", "trust_full"])
def test_agency_estimates_match_r(item):
    est = estimates(item)
    k = len(est)
    ref = r(f"{item}_agencies")
    np.testing.assert_allclose(est["estimate"], ref[:k], rtol=RTOL)
    np.testing.assert_allclose(np.sqrt(est["var"]), ref[k:2 * k], rtol=RTOL)
    np.testing.assert_allclose(est["df"], ref[2 * k:3 * k], rtol=RTOL)
    np.testing.assert_allclose(est["population"], ref[3 * k:], rtol=RTOL)


@pytest.mark.parametrize("item", ["trust", "trust_full"])
@pytest.mark.parametrize("own", ["a1", "a5"])
def test_pool_peers_and_differences_match_r(item, own):
    b = bench(item, own)
    np.testing.assert_allclose(b.loc["pool", GROUP].to_numpy(dtype=float), r(f"{item}_pool"), rtol=RTOL)
    np.testing.assert_allclose(b.loc["peers", GROUP].to_numpy(dtype=float), r(f"{item}_{own}_peers"), rtol=RTOL)
    np.testing.assert_allclose(b.loc["pool", DIFF].to_numpy(dtype=float), r(f"{item}_{own}_diff_pool"), rtol=RTOL)
    np.testing.assert_allclose(b.loc["peers", DIFF].to_numpy(dtype=float), r(f"{item}_{own}_diff_peers"), rtol=RTOL)


def test_pool_is_the_stacked_svymean_without_unanswered_rows():
    b = bench("trust_full", "a1")
    np.testing.assert_allclose(b.loc["pool", ["group_estimate", "group_se"]].to_numpy(dtype=float),
                               r("trust_full_pool_svymean"), rtol=RTOL)


def test_difference_has_the_same_t_as_against_the_others():
    # d = (1 - P_a)(y_a - y_others): the verdict does not depend on which group is shown.
    est = estimates("trust")
    b = bench("trust", "a1")
    others = campaign_benchmarks(est[est["agency"] != "a1"], "a2", None, min_agencies=1, min_n=1)
    others_est = est[est["agency"] != "a1"]
    share = others_est["population"] / others_est["population"].sum()
    y_others = float(share @ others_est["estimate"])
    v_others = float((share ** 2) @ others_est["var"])
    own = est[est["agency"] == "a1"].iloc[0]
    t_direct = (own["estimate"] - y_others) / np.sqrt(own["var"] + v_others)
    assert b.loc["pool", "difference"] / b.loc["pool", "se"] == pytest.approx(t_direct, rel=1e-10)
    assert others.loc[others["comparison"] == "pool", "group_estimate"].iloc[0] == pytest.approx(y_others)


def test_naive_variance_would_be_wrong():
    """The covariance matters: v_a + v_pool is not the variance of the difference."""
    b = bench("trust", "a1")
    naive = np.sqrt(b.loc["pool", "own_se"] ** 2 + b.loc["pool", "group_se"] ** 2)
    assert abs(naive - b.loc["pool", "se"]) > 0.01 * b.loc["pool", "se"]


def test_withheld_below_the_number_of_other_agencies():
    est = estimates("trust")
    b = campaign_benchmarks(est, "a1", PEERS["a1"], min_agencies=5, min_n=10).set_index("comparison")
    assert not b.loc["pool", "withheld"] and b.loc["pool", "others"] == 6
    # Peers: three other agencies, fewer than five.
    assert b.loc["peers", "withheld"] and b.loc["peers", "reason"] == "few_agencies"
    assert np.isnan(b.loc["peers", ["group_estimate", "difference", "ci_low"]].to_numpy(dtype=float)).all()
    assert b.loc["peers", "verdict"] == ""
    b6 = campaign_benchmarks(est, "a1", None, min_agencies=7).set_index("comparison")
    assert b6.loc["pool", "withheld"] and b6.loc["pool", "reason"] == "few_agencies"
    assert b6.loc["peers", "reason"] == "no_peer_group"


def test_peer_figure_withheld_when_the_agencies_outside_it_are_too_few():
    est = estimates("trust")
    # Peers a1-a6: only a7 outside, so the pool and the peer figure together would reveal a7.
    b = campaign_benchmarks(est, "a1", ["a2", "a3", "a4", "a5", "a6"], min_agencies=3).set_index("comparison")
    assert not b.loc["pool", "withheld"]
    assert b.loc["peers", "withheld"] and b.loc["peers", "reason"] == "complement"
    # Every agency a peer: the peer figure is the pool, nothing is revealed.
    b = campaign_benchmarks(est, "a1", ["a" + str(i) for i in range(1, 8)], min_agencies=3).set_index("comparison")
    assert not b.loc["peers", "withheld"]


def test_small_agencies_left_out_and_own_withheld():
    est = estimates("trust").copy()
    est.loc[est["agency"] == "a7", "n"] = 3
    b = campaign_benchmarks(est, "a1", None, min_agencies=1, min_n=10).set_index("comparison")
    assert "a7" not in b.loc["pool", "members"] and b.loc["pool", "agencies"] == 6
    est.loc[est["agency"] == "a1", "n"] = 3
    b = campaign_benchmarks(est, "a1", None, min_agencies=1, min_n=10).set_index("comparison")
    assert b.loc["pool", "reason"] == "own_few" and np.isnan(b.loc["pool", "own_estimate"])
    assert np.isnan(b.loc["pool", "difference"]) and not np.isnan(b.loc["pool", "group_estimate"])
    assert "a1" not in b.loc["pool", "members"]


def test_verdicts_and_sentences():
    b = bench("trust_full", "a1")
    assert b.loc["pool", "verdict"] == "higher"
    text = describe_benchmark(b.loc["pool"].to_dict() | {"comparison": "pool"}, "Trust")
    assert text.startswith("Trust: ") and "higher than the campaign's pooled estimate" in text
    b5 = bench("trust_full", "a5")
    assert b5.loc["pool", "verdict"] in ("lower", "no clear difference")


def test_agency_index_estimates_from_wave_tables():
    from analysis.io import read_export
    from analysis.tables import wave_tables

    export, codebook = read_export(DATA / "export.csv", DATA / "codebook.json")
    tables = wave_tables(export, codebook, waves=["2025-q1"], breakdowns=())
    rows = agency_index_estimates(tables, "x")
    assert set(rows["measure"]) == {ix["key"] for ix in codebook.indexes}
    assert rows["population"].iloc[0] == pytest.approx(tables.weights["weights_sum"].iloc[0])
    with pytest.raises(ValueError, match="one wave"):
        agency_index_estimates(wave_tables(export, codebook, breakdowns=()), "x")


def test_bad_input_raises_with_a_message():
    est = estimates("trust")
    with pytest.raises(ValueError, match="has no estimates"):
        campaign_benchmarks(est, "zz")
    with pytest.raises(ValueError, match="lack columns"):
        campaign_benchmarks(est.drop(columns="population"), "a1")
