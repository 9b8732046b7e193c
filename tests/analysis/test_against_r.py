"""Estimates and weights against R's survey package (values and calls in r/reference.json)."""

from __future__ import annotations

import numpy as np
import pytest
from rref import POP_SCHWIDE, POP_TYPES, RTOL, api, ref

import analysis as an
from analysis import Design


def close(got, key, rtol=RTOL, sl=slice(None)):
    want = np.asarray(ref(key), dtype=float)[sl]
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=rtol, atol=0)


def est_se(frame):
    return [float(frame["estimate"].iloc[0]), float(frame["se"].iloc[0])]


@pytest.fixture(scope="module")
def dclus1():
    return Design.from_data(api("apiclus1"), clusters="dnum", weights="pw", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat():
    return Design.from_data(api("apistrat"), strata="stype", weights="pw", fpc="fpc")


@pytest.fixture(scope="module")
def dclus2():
    return Design.from_data(api("apiclus2"), clusters=["dnum", "snum"], fpc=["fpc1", "fpc2"])


@pytest.fixture(scope="module")
def rclus1(dclus1):
    return dclus1.jackknife()


RAKE_TARGETS = {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}


# ---------------------------------------------------------------- published.md rows 1-7
def test_r01_mean_dclus1(dclus1):
    close(est_se(an.mean(dclus1, "api00")), "r01_mean_api00_dclus1")


def test_r02_total_dclus1(dclus1):
    close(est_se(an.total(dclus1, "enroll")), "r02_total_enroll_dclus1")


def test_r03_r04_dstrat(dstrat):
    close(est_se(an.mean(dstrat, "api00")), "r03_mean_api00_dstrat")
    close(est_se(an.total(dstrat, "enroll")), "r04_total_enroll_dstrat")


def test_r05_r06_dclus2(dclus2):
    close(est_se(an.mean(dclus2, "api00")), "r05_mean_api00_dclus2")
    close(est_se(an.total(dclus2, "enroll")), "r06_total_enroll_dclus2")


def test_r07_dclus2_without_fpc():
    d = Design.from_data(api("apiclus2"), clusters=["dnum", "snum"], weights="pw")
    close(est_se(an.mean(d, "api00")), "r07_mean_api00_dclus2_nofpc")


# ---------------------------------------------------------------- replicate weights (row 8)
def test_r08_jackknife(dclus1):
    close(est_se(an.mean(dclus1.jackknife(), "api00")), "r08_mean_api00_rclus1")
    close(est_se(an.mean(dclus1.jackknife(mse=True), "api00")), "r08_mean_api00_rclus1_mse")


def test_jkn_stratified(dstrat):
    rep = dstrat.jackknife()
    assert rep.replicates.kind == "JKn"
    close(est_se(an.mean(rep, "api00")), "jkn_mean_api00_dstrat")


# ---------------------------------------------------------------- calibration (rows 9-14)
def test_r09_r10_poststratify(dclus1):
    ps = dclus1.poststratify("stype", POP_TYPES)
    close(ps.weights, "w_ps_dclus1")
    close(est_se(an.mean(ps, "api00")), "r09_mean_api00_ps")
    close(est_se(an.total(ps, "enroll")), "r10_total_enroll_ps")


def test_r11_poststratify_replicates(dclus1):
    ps = dclus1.jackknife().poststratify("stype", POP_TYPES)
    close(est_se(an.mean(ps, "api00")), "r11_mean_api00_psrep")
    ps_mse = dclus1.jackknife(mse=True).poststratify("stype", POP_TYPES)
    close(est_se(an.mean(ps_mse, "api00")), "r11_mean_api00_psrep_mse")


def test_r12_r13_rake(dclus1):
    rk = dclus1.rake(RAKE_TARGETS)
    close(rk.weights, "w_rake_dclus1")
    close(est_se(an.mean(rk, "api00")), "r12_mean_api00_rake")
    close(est_se(an.total(rk, "enroll")), "r13_total_enroll_rake")


def test_r14_rake_replicates(dclus1):
    rk = dclus1.jackknife().rake(RAKE_TARGETS)
    close(est_se(an.mean(rk, "api00")), "r14_mean_api00_rakerep")
    close(est_se(an.total(rk, "enroll")), "r14_total_enroll_rakerep")


def test_rake_function_matches_r_weights():
    df = api("apiclus1")
    w = an.rake(df, RAKE_TARGETS, df["pw"].to_numpy())
    close(w, "w_rake_dclus1")
    assert w.dtype == np.float64


def test_rake_three_margins():
    df = api("apistrat")
    t = dict(RAKE_TARGETS, awards={"No": 2000, "Yes": 4194})
    close(an.rake(df, t, df["pw"].to_numpy()), "w_rake_apistrat_3margins")


def test_poststratify_function():
    df = api("apiclus1")
    close(an.poststratify(df, {"stype": POP_TYPES}, df["pw"]), "w_ps_dclus1")


# ---------------------------------------------------------------- rows 16, 17, 19, 20, 21
def test_r16_total_of_factor(dclus1):
    t = an.proportion(dclus1, "stype", kind="total")
    close(list(t["estimate"]) + list(t["se"]), "r16_total_stype_dclus1")


def test_r17_domain_means(dclus1):
    b = an.mean(dclus1, "ell", by="stype")
    assert list(b["domain"]) == ["E", "H", "M"]
    close(list(b["estimate"]) + list(b["se"]), "r17_svyby_ell_stype_dclus1")


@pytest.fixture(scope="module")
def fpcdata():
    return api("fpc")


def test_r19_fpc(fpcdata):
    d0 = Design.from_data(fpcdata, weights="weight", clusters="psuid", strata="stratid")
    close(est_se(an.mean(d0, "x")), "r19_mean_x_fpc_nofpc")
    d = Design.from_data(fpcdata, weights="weight", clusters="psuid", strata="stratid", fpc="Nh")
    close(est_se(an.mean(d, "x")), "r19_mean_x_fpc")


def test_r20_domains(fpcdata):
    dom = np.where(fpcdata["x"] > 4, "TRUE", "FALSE")
    d0 = Design.from_data(fpcdata, weights="weight", clusters="psuid", strata="stratid")
    b = an.mean(d0, "x", by=dom)
    close(list(b["estimate"]) + list(b["se"]), "r20_svyby_x_gt4_dfpc_nofpc")
    d = Design.from_data(fpcdata, weights="weight", clusters="psuid", strata="stratid", fpc="Nh")
    b = an.mean(d, "x", by=dom)
    close(list(b["estimate"]) + list(b["se"]), "r20_svyby_x_gt4_dfpc")


@pytest.mark.parametrize("option", ["remove", "adjust", "average", "certainty"])
def test_r21_lonely_psu(option):
    d = Design.from_data(api("apiclus1"), weights="pw", strata="dnum", lonely_psu=option)
    close(est_se(an.mean(d, "api00")), f"r21_lonely_{option}")


def test_lonely_psu_fail_names_stratum():
    d = Design.from_data(api("apiclus1"), weights="pw", strata="dnum")
    with pytest.raises(ValueError, match="only one PSU"):
        an.mean(d, "api00")


# ---------------------------------------------------------------- trimming
def test_trim_equal_shares():
    df = api("apistrat")
    close(an.trim(df["pw"], upper=40), "w_trim_dstrat_upper40")


def test_trim_both_bounds(dclus1):
    w = dclus1.rake(RAKE_TARGETS).weights
    close(an.trim(w, upper=36, lower=30), "w_trim_rake_upper")
    close(an.trim(w, upper=36, lower=30, strict=True), "w_trim_rake_upper_strict")


# ---------------------------------------------------------------- proportions and intervals
def _prop_row(frame, category):
    row = frame[frame["category"] == category].iloc[0]
    return [row["estimate"], row["se"], row["ci_low"], row["ci_high"]]


@pytest.mark.parametrize(
    ("design", "var", "method", "key", "level"),
    [
        ("dclus1", "both", "logit", "p_logit_both_dclus1", 0.95),
        ("dclus1", "both", "beta", "p_beta_both_dclus1", 0.95),
        ("dstrat", "awards", "logit", "p_logit_awards_dstrat", 0.95),
        ("dstrat", "awards", "beta", "p_beta_awards_dstrat", 0.95),
        ("dclus1", "yr.rnd", "logit", "p_logit_yrrnd_dclus1_90", 0.90),
    ],
)
def test_svyciprop(request, design, var, method, key, level):
    d = request.getfixturevalue(design)
    p = an.proportion(d, var, method=method, level=level)
    close(_prop_row(p, "Yes"), key)
    row = p[p["category"] == "Yes"].iloc[0]
    assert 0 < row["ci_low"] < row["estimate"] < row["ci_high"] < 1


def test_proportions_of_factor(dclus1):
    p = an.proportion(dclus1, "stype")
    close(list(p["estimate"]) + list(p["se"]), "p_mean_stype_dclus1")


def test_proportions_by_domain(dstrat):
    p = an.proportion(dstrat, "sch.wide", by="stype")
    # R orders coef as No.E, No.H, No.M, Yes.E, ... and SE likewise.
    close(list(p["estimate"]) + list(p["se"]), "p_svyby_schwide_stype_dstrat")


# ---------------------------------------------------------------- deff, df, CIs
def test_deff(dclus1, dstrat, dclus2):
    close(an.mean(dclus1, "api00")["deff"], "deff_mean_api00_dclus1")
    close(an.mean(dstrat, "api00")["deff"], "deff_mean_api00_dstrat")
    close(an.total(dclus1, "enroll")["deff"], "deff_total_enroll_dclus1")
    close(an.mean(dclus2, "api00")["deff"], "deff_mean_api00_dclus2")
    close(an.mean(dclus1, "api00", by="stype")["deff"], "deff_svyby_api00_stype_dclus1")


def test_degf(dclus1, dstrat, dclus2, rclus1):
    got = [dclus1.degf, dstrat.degf, dclus2.degf, rclus1.degf, dstrat.jackknife().degf]
    assert got == [int(v) for v in ref("degf")]


def test_confint_uses_design_df(dclus1):
    m = an.mean(dclus1, "api00")
    close([m["ci_low"].iloc[0], m["ci_high"].iloc[0]], "confint_mean_api00_dclus1_df")
    assert m["df"].iloc[0] == 14


# ---------------------------------------------------------------- domains and differences
def test_domains_stratified_and_two_stage(dstrat, dclus2):
    b = an.mean(dstrat, "api00", by="stype")
    close(list(b["estimate"]) + list(b["se"]), "dom_svyby_api00_stype_dstrat")
    b = an.mean(dclus2, "api00", by="stype")
    close(list(b["estimate"]) + list(b["se"]), "dom_svyby_api00_stype_dclus2")


def test_domains_calibrated_and_replicate(dclus1, rclus1):
    b = an.mean(dclus1.rake(RAKE_TARGETS), "api00", by="stype")
    close(list(b["estimate"]) + list(b["se"]), "dom_svyby_api00_stype_rake")
    b = an.total(dclus1.poststratify("stype", POP_TYPES), "enroll", by="stype")
    close(list(b["estimate"]) + list(b["se"]), "dom_svyby_enroll_stype_ps_total")
    b = an.mean(rclus1, "api00", by="stype")
    close(list(b["estimate"]) + list(b["se"]), "dom_svyby_api00_stype_rclus1")


def test_differences(dclus1, dstrat):
    d = an.difference(dclus1, "api00", by="stype", first="E", second="H")
    close([d["estimate"], d["se"]], "diff_api00_H_minus_E_dclus1")
    d = an.difference(dstrat, "api00", by="sch.wide", first="No", second="Yes")
    close([d["estimate"], d["se"]], "diff_api00_yes_minus_no_schwide_dstrat")
    d = an.difference(dclus1.rake(RAKE_TARGETS), "api00", by="stype", first="E", second="H")
    close([d["estimate"], d["se"]], "diff_api00_H_minus_E_rake_glm")


# ---------------------------------------------------------------- optional rows 15 and 18
def test_r15_linear_calibration(dclus1):
    cal = dclus1.calibrate({"(Intercept)": 6194, "api99": 3914069})
    close(cal.weights, "r15_weights_calibrate")
    close(est_se(an.mean(cal, "api00")), "r15_mean_api00_calibrate")
    # calibrating to category counts is post-stratification
    cal = dclus1.calibrate({"(Intercept)": 6194, "stype=H": 755, "stype=M": 1018})
    close(est_se(an.total(cal, "enroll")), "r15_total_enroll_calibrate_stype")


@pytest.mark.parametrize("design", ["dclus1", "dstrat"])
def test_r18_regression(request, design):
    d = request.getfixturevalue(design)
    fit = an.regression(d, "api00", ["ell", "meals"])
    close(list(fit["estimate"]) + list(fit["se"]), f"r18_svyglm_ell_meals_{design}")
    assert list(fit["term"]) == ["(Intercept)", "ell", "meals"]
