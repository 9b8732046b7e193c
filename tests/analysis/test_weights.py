"""Weighting functions: results, invariants and the errors that name the margin."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analysis as an

DATA = {"sex": np.array(["f", "m", "m", "f", "f"]), "age": np.array(["y", "y", "o", "o", "y"])}
TARGETS = {"sex": {"f": 60.0, "m": 40.0}, "age": {"y": 50.0, "o": 50.0}}


def test_rake_meets_margins_and_keeps_order():
    w = an.rake(DATA, TARGETS)
    assert w.dtype == np.float64 and w.shape == (5,)
    df = pd.DataFrame(DATA).assign(w=w)
    np.testing.assert_allclose(df.groupby("sex")["w"].sum().to_dict()["f"], 60, rtol=1e-9)
    np.testing.assert_allclose(df.groupby("age")["w"].sum().to_dict()["o"], 50, rtol=1e-9)


def test_rake_accepts_dataframe_and_integer_codes():
    df = pd.DataFrame({"a": [0, 1, 1, 0, 2, 2], "b": [1, 1, 2, 2, 1, 2]})
    w = an.rake(df, {"a": {0: 10, 1: 20, 2: 30}, "b": {1: 25, 2: 35}})
    np.testing.assert_allclose(np.bincount(df["a"], weights=w), [10, 20, 30], rtol=1e-9)


def test_rake_string_categories_keep_leading_zeros():
    data = {"cds": np.array(["01", "1", "01", "1"], dtype=object)}
    w = an.rake(data, {"cds": {"01": 30, "1": 10}})
    np.testing.assert_allclose(w, [15, 5, 15, 5])


@pytest.mark.parametrize(
    ("targets", "match"),
    [
        ({"sex": {"f": 60.0}, "age": {"y": 30.0, "o": 30.0}}, "'sex'.*no target"),
        ({"sex": {"f": 60.0, "m": 40.0, "x": 5.0}, "age": {"y": 55.0, "o": 50.0}}, "'sex'.*no weighted respondents"),
        ({"sex": {"f": 60.0, "m": 40.0}, "age": {"y": 50.0, "o": 60.0}}, "'age' sums to 110"),
        ({"sex": {"f": 60.0, "m": 40.0}, "region": {"n": 100.0}}, "'region' is not in the data"),
        ({"sex": {"f": -1.0, "m": 40.0}}, "'sex'.*finite number >= 0"),
    ],
)
def test_rake_errors_name_the_margin(targets, match):
    with pytest.raises(ValueError, match=match):
        an.rake(DATA, targets)


def test_rake_no_convergence_names_margin():
    # Structural zeros: the sample has only (f, y) and (m, o): margins that need f/o cannot be met.
    data = {"sex": np.array(["f", "m"]), "age": np.array(["y", "o"])}
    with pytest.raises(ValueError, match=r"cannot meet the margins: 'sex' category 'f' has a target of 70, which its "
                       r"only respondent must carry .* but that respondent is in 'age' 'y', whose target is only 50; "
                       r"collapse"):
        an.rake(data, {"sex": {"f": 70, "m": 30}, "age": {"y": 50, "o": 50}}, max_iter=5)


def test_rake_no_convergence_names_the_lone_respondent_and_what_to_do():
    """Issue 17: one respondent alone in a district must carry the district's 18,000; he is 18-34,
    whose target is smaller once the other districts' young respondents are counted... the
    message names the category, the target, the respondent's weight and the fixes."""
    rng = np.random.default_rng(5)
    n = 300
    district = np.array(["a"] * 150 + ["b"] * 149 + ["c"])
    age = rng.choice(["18-34", "35-54", "55+"], n)
    age[-1] = "55+"
    age[:-1][age[:-1] == "55+"] = "35-54"  # nobody else is 55+: the lone respondent is the whole category
    targets = {"district": {"a": 40_000, "b": 42_000, "c": 18_000}, "age": {"18-34": 40_000, "35-54": 45_000, "55+": 15_000}}
    with pytest.raises(ValueError) as err:
        an.rake({"district": district, "age": age}, targets, max_iter=100)
    msg = str(err.value)
    assert "'district' category 'c' has a target of 18,000, which its only respondent must carry" in msg
    assert "that respondent is in 'age' '55+', whose target is only 15,000" in msg
    assert "weight now" in msg and "collapse that category" in msg and "trim" in msg


def test_rake_slow_convergence_says_how_to_allow_more_sweeps():
    rng = np.random.default_rng(2)
    data = {"sex": rng.choice(["f", "m"], 200), "age": rng.choice(["y", "o"], 200)}
    with pytest.raises(ValueError, match=r"did not converge in 1 sweeps: .* category .*--max-iter"):
        an.rake(data, {"sex": {"f": 30, "m": 70}, "age": {"y": 80, "o": 20}}, max_iter=1)


def test_rake_rejects_bad_weights_and_missing():
    with pytest.raises(ValueError, match="negative"):
        an.rake(DATA, TARGETS, weights=[1, 1, -1, 1, 1])
    with pytest.raises(ValueError, match="missing values"):
        an.rake({"sex": np.array(["f", None, "m"], dtype=object)}, {"sex": {"f": 1, "m": 1}})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.floats(0.5, 5)), min_size=12, max_size=60))
def test_rake_property_margins_met(rows):
    a = np.array([r[0] for r in rows])
    b = np.array([r[1] for r in rows])
    w0 = np.array([r[2] for r in rows])
    # every category must occur, and every combination, so the margins are attainable
    if len({(x, y) for x, y in zip(a, b, strict=True)}) < 6:
        return
    w = an.rake({"a": a, "b": b}, {"a": {0: 30, 1: 30, 2: 40}, "b": {0: 45, 1: 55}}, w0)
    np.testing.assert_allclose(np.bincount(a, weights=w), [30, 30, 40], rtol=1e-7)
    np.testing.assert_allclose(np.bincount(b, weights=w), [45, 55], rtol=1e-7)
    assert np.all(w > 0)


def test_poststratify_and_errors():
    w = an.poststratify(DATA, {"sex": {"f": 60, "m": 40}}, [1, 1, 1, 1, 2])
    np.testing.assert_allclose(w, [15, 20, 20, 15, 30])
    with pytest.raises(ValueError, match="exactly one column"):
        an.poststratify(DATA, TARGETS)


def test_trim_keeps_total_and_shares_equally():
    w = an.trim([1.0, 2.0, 3.0, 14.0], upper=8)
    np.testing.assert_allclose(w, [3.0, 4.0, 5.0, 8.0])
    assert w.sum() == pytest.approx(20)


def test_trim_and_rake_caps_ratio_and_meets_margins():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 3, 400)
    b = rng.integers(0, 2, 400)
    w0 = np.exp(rng.normal(0, 1, 400))
    t = {"a": {0: 100, 1: 100, 2: 200}, "b": {0: 150, 1: 250}}
    w = an.trim_and_rake({"a": a, "b": b}, t, w0, max_ratio=3)
    np.testing.assert_allclose(np.bincount(a, weights=w), [100, 100, 200], rtol=1e-7)
    assert w.max() / w.mean() < 3.2


def test_nonresponse_and_base_weights():
    np.testing.assert_allclose(an.base_weights([0.5, 0.1]), [2, 10])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        an.base_weights([0.0, 0.5])
    w = an.nonresponse_adjust([2, 2, 2, 4], [True, False, True, True], ["a", "a", "a", "b"])
    np.testing.assert_allclose(w, [3, 0, 3, 4])
    with pytest.raises(ValueError, match="no respondents"):
        an.nonresponse_adjust([1, 1], [False, True], ["a", "b"])


def test_diagnostics():
    w = np.array([1.0, 1.0, 2.0, 4.0])
    d = an.weight_diagnostics(w, {"g": np.array(["a", "a", "b", "b"])}, {"g": {"a": 2, "b": 6}})
    assert d["kish_deff"] == pytest.approx(4 * 22 / 64)
    assert d["effective_n"] == pytest.approx(64 / 22)
    assert d["largest"][0] == {"row": 3, "weight": 4.0}
    assert d["max_abs_margin_error"] == pytest.approx(0)


def test_large_rake_is_cell_based_and_exact():
    rng = np.random.default_rng(7)
    n = 200_000
    cols = {k: rng.integers(0, m, n) for k, m in (("a", 6), ("b", 2), ("c", 5), ("d", 10))}
    targets = {k: {c: float(1000 + 17 * c) for c in range(m)} for k, m in (("a", 6), ("b", 2), ("c", 5), ("d", 10))}
    tot = {k: sum(v.values()) for k, v in targets.items()}
    targets = {k: {c: p / tot[k] * 1e6 for c, p in v.items()} for k, v in targets.items()}
    w = an.rake(cols, targets)
    for k, v in targets.items():
        np.testing.assert_allclose(np.bincount(cols[k], weights=w), list(v.values()), rtol=1e-8)


@pytest.mark.parametrize("calibration", [None, "poststratify", "rake"])
@pytest.mark.parametrize("clusters", [False, True])
@pytest.mark.parametrize("lonely", ["remove", "adjust", "average"])
def test_fast_domain_path_equals_dense_path(clusters, lonely, calibration):
    from analysis.estimate import domain_estimates

    rng = np.random.default_rng(3)
    n = 600
    strata = rng.integers(0, 8, n)
    psu = rng.integers(0, 6, n) if clusters else None
    y = rng.normal(10, 3, n)
    y[rng.random(n) < 0.1] = np.nan
    dom = rng.choice(["a", "b", "c"], n)
    w = rng.uniform(1, 5, n)
    strata[0] = 99  # a stratum with one PSU
    d = an.Design.from_data(weights=w, strata=strata, clusters=psu, lonely_psu=lonely, n=n)
    g = {"g": rng.integers(0, 3, n), "k": rng.integers(0, 2, n)}
    if calibration == "poststratify":
        d = d.poststratify("g", {0: 500.0, 1: 700.0, 2: 900.0}, data=g)
    elif calibration == "rake":
        d = d.rake({"g": {0: 500.0, 1: 700.0, 2: 900.0}, "k": {0: 1000.0, 1: 1100.0}}, data=g)
    for kind in ("mean", "total"):
        fast = domain_estimates(d, y, kind=kind, by=dom, full_cov=False)
        dense = domain_estimates(d, y, kind=kind, by=dom, full_cov=True)
        np.testing.assert_allclose(fast.estimate, dense.estimate, rtol=1e-12)
        np.testing.assert_allclose(np.diag(fast.cov), np.diag(dense.cov), rtol=1e-9)
        np.testing.assert_allclose(fast.deff, dense.deff, rtol=1e-9)
        np.testing.assert_array_equal(fast.df, dense.df)


def test_rake_matches_numbers_and_text_categories():
    w_num = an.rake({"a": np.array([1, 2, 2])}, {"a": {"1": 10, "2": 10}})
    w_txt = an.rake({"a": np.array(["1", "2", "2"], dtype=object)}, {"a": {1: 10, 2: 10}})
    np.testing.assert_allclose(w_num, [10, 5, 5])
    np.testing.assert_allclose(w_txt, [10, 5, 5])


def test_deff_with_weights_scaled_to_sample_size():
    rng = np.random.default_rng(5)
    y = rng.normal(size=300)
    w = rng.uniform(0.5, 1.5, 300)
    w = w / w.mean()  # sums to n: no finite population to correct for
    d = an.Design.from_data(weights=w, n=300)
    row = an.mean(d, y).iloc[0]
    # with-replacement SRS variance: weighted variance * n/(n-1) / n
    s2 = np.average((y - row["estimate"]) ** 2, weights=w) * 300 / 299
    assert row["deff"] == pytest.approx(row["se"] ** 2 / (s2 / 300))
    assert 1 < row["deff"] < 1.2


def test_fast_path_is_stable_for_large_values():
    from analysis.estimate import domain_estimates

    rng = np.random.default_rng(11)
    n = 2000
    y = 1e7 + rng.normal(0, 1, n)
    d = an.Design.from_data(weights=rng.uniform(1, 3, n), strata=rng.integers(0, 4, n), n=n)
    dom = rng.integers(0, 3, n)
    fast = domain_estimates(d, y, by=dom, full_cov=False)
    dense = domain_estimates(d, y, by=dom, full_cov=True)
    np.testing.assert_allclose(np.diag(fast.cov), np.diag(dense.cov), rtol=1e-7)
