"""The Fay-Herriot module's formulas, edge cases, benchmarking, diagnostics and input checks."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import analysis
from analysis import sae
from analysis.sae import _score_info, benchmark, fay_herriot, fh_diagnostics, smooth_variances


def city(seed=3, m=40, sigma_v=4.0, shift_large=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=m)
    n = rng.integers(5, 250, m)
    psi = 400.0 / n
    theta = 50 + 5 * x + rng.normal(0, sigma_v, m) + shift_large * (n >= np.quantile(n, 0.75))
    y = theta + rng.normal(0, np.sqrt(psi))
    return y, psi, x, n


def test_docstring_examples_run():
    assert doctest.testmod(sae, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_public_api_exports_the_module():
    for name in sae.__all__:
        assert getattr(analysis, name) is getattr(sae, name)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_score_is_zero_at_the_estimate(method):
    y, psi, x, _ = city()
    fit = fay_herriot(y, psi, x, method=method)
    assert fit.converged and fit.sigma2 > 0
    score, _ = _score_info(y, psi, np.column_stack([np.ones(y.size), x]), fit.sigma2, method)
    assert abs(score) < 1e-8


def test_eblup_and_mse_parts_follow_the_formulas():
    y, psi, x, _ = city()
    fit = fay_herriot(y, psi, x)
    s2 = fit.sigma2
    gamma = s2 / (s2 + psi)
    xx = np.column_stack([np.ones(y.size), x])
    w = 1 / (s2 + psi)
    a_inv = np.linalg.inv(xx.T @ (xx * w[:, None]))
    beta = a_inv @ xx.T @ (w * y)
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-12)
    np.testing.assert_allclose(fit.estimate, gamma * y + (1 - gamma) * (xx @ beta), rtol=1e-12)
    g1 = gamma * psi
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", xx, a_inv, xx)
    g3 = psi**2 / (s2 + psi) ** 3 * 2 / np.sum(w**2)
    np.testing.assert_allclose(fit.mse, g1 + g2 + 2 * g3, rtol=1e-12)
    # The EBLUP is more precise than the direct estimate, most of all where the sample is small.
    assert (fit.mse < psi).all()
    gain = psi / fit.mse
    assert gain[np.argmax(psi)] > gain[np.argmin(psi)]


def test_ml_mse_adds_the_bias_correction():
    y, psi, x, _ = city()
    fit = fay_herriot(y, psi, x, method="ML")
    assert fit.bias_ml < 0  # ML underestimates sigma_v^2
    np.testing.assert_allclose(fit.mse - (fit.g1 + fit.g2 + 2 * fit.g3), -fit.bias_ml * (1 - fit.shrinkage) ** 2)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_areas_without_sample_get_synthetic_estimates(method):
    y, psi, x, _ = city()
    y[[4, 9]] = psi[[4, 9]] = np.nan
    fit = fay_herriot(y, psi, x, method=method, areas=[f"N{i}" for i in range(y.size)])
    assert list(fit.sampled[[4, 9]]) == [False, False] and fit.m == y.size - 2
    xx = np.column_stack([np.ones(y.size), x])
    np.testing.assert_allclose(fit.estimate[[4, 9]], xx[[4, 9]] @ fit.beta)
    lev = np.einsum("ij,jk,ik->i", xx[[4, 9]], fit.beta_cov, xx[[4, 9]])
    np.testing.assert_allclose(fit.mse[[4, 9]], fit.sigma2 + lev - fit.bias_ml)
    frame = fit.frame()
    assert list(frame.loc[[4, 9], "kind"]) == ["synthetic", "synthetic"]
    assert frame.loc[4, "area"] == "N4" and np.isnan(frame.loc[4, "direct"])
    # Fitting on the sampled areas alone gives the same model.
    keep = fit.sampled
    alone = fay_herriot(y[keep], psi[keep], x[keep], method=method)
    assert alone.sigma2 == pytest.approx(fit.sigma2, rel=1e-12)
    np.testing.assert_allclose(alone.estimate, fit.estimate[keep], rtol=1e-12)


def test_zero_variance_gives_the_synthetic_estimate_and_a_note():
    rng = np.random.default_rng(1)
    x = rng.normal(size=20)
    psi = np.full(20, 9.0)
    y = 10 + 2 * x + rng.normal(0, 1.0, 20)  # far less spread than psi says
    fit = fay_herriot(y, psi, x)
    assert fit.sigma2 == 0.0
    np.testing.assert_allclose(fit.estimate, fit.synthetic)
    codes = [c for c, _ in fh_diagnostics(fit).warnings]
    assert "zero_variance" in codes


def test_intervals_are_symmetric_normal():
    y, psi, x, _ = city()
    fit = fay_herriot(y, psi, x)
    lo, hi = fit.intervals(0.95)
    np.testing.assert_allclose((hi - lo) / 2, 1.959963984540054 * np.sqrt(fit.mse))


@pytest.mark.parametrize("method", ["difference", "ratio"])
def test_benchmarked_areas_add_up_to_the_whole(method):
    y, psi, x, n = city()
    fit = fay_herriot(y, psi, x)
    shares = n / n.sum()
    total = float(shares @ fit.estimate) + 1.5
    b = benchmark(fit, shares, total, method=method)
    assert float(shares @ b.estimate) == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(b.mse, fit.mse + (b.estimate - fit.estimate) ** 2)
    assert b.benchmarked == method
    if method == "difference":
        np.testing.assert_allclose(b.estimate - fit.estimate, 1.5)


def test_benchmark_checks_its_shares():
    y, psi, x, _ = city()
    fit = fay_herriot(y, psi, x)
    with pytest.raises(ValueError, match="summing to 1"):
        benchmark(fit, np.full(y.size, 0.5), 50.0)
    with pytest.raises(ValueError, match="one share per area"):
        benchmark(fit, [1.0], 50.0)
    with pytest.raises(ValueError, match="method"):
        benchmark(fit, np.full(y.size, 1 / y.size), 50.0, method="raking")


def test_diagnostics_are_quiet_on_a_model_that_holds():
    y, psi, x, _ = city()
    d = fh_diagnostics(fay_herriot(y, psi, x))
    assert d.warnings == () and not d.fits_badly
    assert set(d.table.columns) >= {"residual", "shrinkage", "large", "difference", "z"}
    assert d.table["large"].sum() == 10
    assert abs(d.table["residual"]).max() < 3.5


def test_diagnostics_flag_an_outlier():
    y, psi, x, _ = city()
    y[0] += 60
    d = fh_diagnostics(fay_herriot(y, psi, x))
    assert d.fits_badly
    codes = dict(d.warnings)
    assert "outlier" in codes and "0" in codes["outlier"]


def test_diagnostics_flag_large_areas_the_model_pulls_one_way():
    y, psi, x, n = city(shift_large=8.0, sigma_v=2.0)
    d = fh_diagnostics(fay_herriot(y, psi, x), large=n >= np.quantile(n, 0.75))
    assert "large_area_bias" in dict(d.warnings)
    assert d.large_bias > 0


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([1.0, 2.0], [1.0]), {}, "one value per area"),
        (([1.0, 2.0, 3.0], [1.0, np.nan, 1.0]), {}, "without a variance"),
        (([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, 1.0, 1.0]), {}, "positive"),
        (([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]), {"method": "MOM"}, "method"),
        (([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], [[1.0], [2.0]]), {}, "one row per area"),
        (([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], [1.0, np.nan, 1.0, 2.0]), {}, "missing"),
        (([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [1.0, 2.0, 3.0]), {}, "cannot fit"),
        (([1.0, 2.0, 3.0, 4.0, 5.0], [1.0] * 5, [1.0] * 5), {}, "collinear"),
    ],
)
def test_bad_inputs_raise_with_the_fix(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fay_herriot(*args, **kwargs)


def test_smooth_variances_pools_unit_variance():
    n = np.array([2, 10, 40, 0, 1])
    psi = np.array([8.0, 1.0, 0.3, np.nan, 0.0])
    c = (1 * 2 * 8.0 + 9 * 10 * 1.0 + 39 * 40 * 0.3) / (1 + 9 + 39)
    out = smooth_variances(psi, n)
    np.testing.assert_allclose(out[[0, 1, 2, 4]], c / n[[0, 1, 2, 4]])
    assert np.isnan(out[3])
    with pytest.raises(ValueError, match="2 or more"):
        smooth_variances([1.0], [1])
