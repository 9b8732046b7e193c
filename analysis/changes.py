"""Changes between independent survey waves, linear trends over waves, and multiple-comparison control.

These are the only implementations of a wave-to-wave change, a trend and the Holm and
Benjamini-Hochberg adjustments in the package: :func:`analysis.tables.wave_tables` (behind the
report, the staff console, the public results and ``python -m analysis compare``) calls them on
arrays of wave estimates, so every view shows the same numbers.

Each wave is its own design (own strata, own raking), so wave estimates are independent: the
variance of any linear combination of them is the combination of their variances, and its
degrees of freedom come from the Welch-Satterthwaite approximation on each estimate's own df.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

__all__ = ["satterthwaite_df", "wave_change", "linear_trend", "holm_bh", "adjusted_level"]


def _t(level: float, df: Any) -> np.ndarray:
    return special.stdtrit(np.maximum(df, 1.0), 0.5 + level / 2)


def satterthwaite_df(variances: Any, dfs: Any, axis: int = 0) -> np.ndarray:
    r"""Welch-Satterthwaite degrees of freedom of a sum of independent variance estimates.

    Parameters
    ----------
    variances : array_like
        The terms :math:`v_k` of the sum (already multiplied by any squared contrast
        coefficient), along ``axis``. NaN terms are left out.
    dfs : array_like
        The degrees of freedom :math:`\nu_k` of each term, broadcastable to ``variances``.
        Values below 1 are taken as 1.
    axis : int, optional
        The axis that is summed over (default 0).

    Returns
    -------
    numpy.ndarray
        :math:`\nu` for every other position. Where every term is 0 the sum of the
        :math:`\nu_k` is returned (the interval then has width 0 whatever the df).

    Notes
    -----
    .. math:: \nu = \frac{\left(\sum_k v_k\right)^2}{\sum_k v_k^2/\nu_k}

    For one term it is :math:`\nu_1`; for two equal terms with equal :math:`\nu` it is
    :math:`2\nu`; it is never below the smallest :math:`\nu_k` nor above their sum.

    References
    ----------
    .. [1] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. Biometrics Bulletin, 2(6), 110-114.
    .. [2] Welch, B. L. (1947). The generalization of "Student's" problem when several
       different population variances are involved. Biometrika, 34(1/2), 28-35.
    """
    v = np.asarray(variances, dtype=np.float64)
    nu = np.maximum(np.broadcast_to(np.asarray(dfs, dtype=np.float64), v.shape), 1.0)
    ok = ~np.isnan(v)
    vz = np.where(ok, v, 0.0)
    num = vz.sum(axis=axis) ** 2
    den = np.where(ok, vz * vz / nu, 0.0).sum(axis=axis)
    total = np.where(ok, nu, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, total)


def _test(diff: np.ndarray, se: np.ndarray, df: np.ndarray, level: float) -> dict[str, np.ndarray]:
    q = _t(level, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = diff / se
        p = 2 * special.stdtr(np.maximum(df, 1.0), -np.abs(t))
    p = np.where(se > 0, p, np.where(diff == 0, 1.0, 0.0))
    p = np.where(np.isnan(diff) | np.isnan(se), np.nan, p)
    return {"ci_low": diff - q * se, "ci_high": diff + q * se, "t": t, "p_value": p}


def wave_change(
    est_from: Any, var_from: Any, df_from: Any, est_to: Any, var_to: Any, df_to: Any, *, level: float = 0.95
) -> dict[str, np.ndarray]:
    r"""The change of an estimate between two independent waves, with its t interval and p-value.

    Parameters
    ----------
    est_from, est_to : array_like
        The estimates :math:`\hat\theta_a` (earlier wave) and :math:`\hat\theta_b` (later wave);
        any shape, broadcast together (e.g. domains x measures).
    var_from, var_to : array_like
        Their design-based variances :math:`v_a, v_b` (Taylor linearization, raking included).
    df_from, df_to : array_like
        Their design degrees of freedom :math:`\nu_a, \nu_b` (for a domain: the respondents who
        answered in the domain minus the strata they fall in).
    level : float, optional
        Confidence level of the interval (default 0.95).

    Returns
    -------
    dict of numpy.ndarray
        ``difference`` :math:`\hat\theta_b-\hat\theta_a`, ``se``, ``df`` (Satterthwaite),
        ``ci_low``, ``ci_high``, ``t`` and two-sided ``p_value``. NaN where either estimate is
        missing. With a zero standard error p is 1 for no change and 0 otherwise.

    Notes
    -----
    The waves are independent samples (disjoint strata, each raked on its own), so

    .. math::
        \widehat{V}(\hat\theta_b-\hat\theta_a) = v_a + v_b,\qquad
        \nu = \frac{(v_a+v_b)^2}{v_a^2/\nu_a + v_b^2/\nu_b},

    the interval is :math:`\hat\theta_b-\hat\theta_a \pm t_{\nu,1-\alpha/2}\sqrt{v_a+v_b}` and
    the p-value :math:`2\,P(T_\nu > |t|)`. The df of a stacked design (all respondents of both
    waves minus all strata) would overstate the information when one wave or domain is small.

    References
    ----------
    .. [1] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. Biometrics Bulletin, 2(6), 110-114.
    .. [2] Korn, E. L., & Graubard, B. I. (1999). Analysis of Health Surveys, section 5.2.
       Wiley.
    .. [3] Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, section 2.3. Wiley.

    Examples
    --------
    >>> r = wave_change(5.0, 0.04, 20, 5.5, 0.09, 10)
    >>> round(float(r["difference"]), 2), round(float(r["df"]), 2)
    (0.5, 18.99)
    """
    a, b = np.asarray(est_from, dtype=np.float64), np.asarray(est_to, dtype=np.float64)
    va, vb = np.asarray(var_from, dtype=np.float64), np.asarray(var_to, dtype=np.float64)
    diff = b - a
    var = va + vb
    df = satterthwaite_df(np.stack(np.broadcast_arrays(va, vb)), np.stack(np.broadcast_arrays(
        np.asarray(df_from, dtype=np.float64) + 0 * va, np.asarray(df_to, dtype=np.float64) + 0 * vb)))
    se = np.sqrt(np.maximum(var, 0.0))
    return {"difference": diff, "se": se, "df": np.where(np.isnan(diff), np.nan, df), **_test(diff, se, df, level)}


def linear_trend(estimates: Any, variances: Any, dfs: Any, *, x: Any = None, level: float = 0.95,
                 min_waves: int = 3) -> dict[str, np.ndarray]:
    r"""The linear trend per wave through independent wave estimates: a design-based linear contrast.

    Parameters
    ----------
    estimates : array_like
        Wave estimates :math:`\hat\theta_k`, waves along axis 0 (any further axes, e.g. domains x
        measures, are computed at once). NaN marks a wave without answers; it is left out.
    variances : array_like
        Their design-based variances :math:`v_k` (raking included), same shape.
    dfs : array_like
        Their design degrees of freedom :math:`\nu_k`, broadcastable to ``estimates``.
    x : array_like, optional
        The wave positions :math:`x_k` (default 0, 1, 2, ...: one unit per wave).
    level : float, optional
        Confidence level (default 0.95).
    min_waves : int, optional
        Fewer waves with answers than this give NaN (default 3: two waves are a change, not a
        trend).

    Returns
    -------
    dict of numpy.ndarray
        ``slope`` (change per wave), ``se``, ``df`` (Satterthwaite), ``ci_low``, ``ci_high``,
        ``t``, ``p_value`` and ``waves`` (the number of waves used), each of the shape of
        ``estimates`` without axis 0.

    Notes
    -----
    The slope of the ordinary least-squares line through the points :math:`(x_k,\hat\theta_k)`
    is the linear contrast

    .. math::
        \hat\beta = \sum_k c_k\hat\theta_k,\qquad c_k = \frac{x_k-\bar x}{\sum_j (x_j-\bar x)^2},

    and since the waves are independent samples (each with its own strata and its own raking)

    .. math::
        \widehat{V}(\hat\beta) = \sum_k c_k^2 v_k,\qquad
        \nu = \frac{\left(\sum_k c_k^2 v_k\right)^2}{\sum_k c_k^4 v_k^2/\nu_k}.

    This is what R's ``svycontrast()`` gives on the wave estimates of a stacked design with
    strata = wave x stratum raked within wave, with the df of [1]_. The estimand is the
    straight-line summary of the population values of the waves, each wave weighted equally
    whatever its sample size (unlike the slope of a respondent-level regression, which weights
    waves by their respondents).

    References
    ----------
    .. [1] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. Biometrics Bulletin, 2(6), 110-114.
    .. [2] Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, sections 2.3 and
       5.2 (``svycontrast``). Wiley.
    .. [3] Korn, E. L., & Graubard, B. I. (1999). Analysis of Health Surveys, section 5.5
       (trends across surveys). Wiley.

    Examples
    --------
    >>> r = linear_trend([50.0, 52.0, 54.5], [1.0, 1.0, 1.0], [100, 100, 100])
    >>> float(r["slope"]), round(float(r["se"]), 4)
    (2.25, 0.7071)
    """
    est = np.asarray(estimates, dtype=np.float64)
    var = np.broadcast_to(np.asarray(variances, dtype=np.float64), est.shape)
    nu = np.broadcast_to(np.asarray(dfs, dtype=np.float64), est.shape)
    k = est.shape[0]
    xs = np.arange(k, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    xs = xs.reshape((k,) + (1,) * (est.ndim - 1))
    present = ~np.isnan(est)
    cnt = present.sum(axis=0)
    xbar = np.where(present, xs, 0.0).sum(axis=0) / np.maximum(cnt, 1)
    dx = np.where(present, xs - xbar, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = dx / (dx * dx).sum(axis=0)
    enough = cnt >= max(min_waves, 2)
    slope = np.where(enough, (c * np.nan_to_num(est)).sum(axis=0), np.nan)
    terms = np.where(present, c * c * np.nan_to_num(var), np.nan)
    sv = np.where(enough, np.nansum(terms, axis=0), np.nan)
    df = np.where(enough, satterthwaite_df(terms, nu), np.nan)
    se = np.sqrt(np.maximum(sv, 0.0))
    return {"slope": slope, "se": se, "df": df, "waves": cnt, **_test(slope, se, df, level)}


def holm_bh(p: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Holm and Benjamini-Hochberg adjusted p-values of one family of tests.

    Parameters
    ----------
    p : array_like
        Unadjusted p-values of one family. NaN entries (tests not made, e.g. too few
        respondents) are left out of the family and stay NaN.

    Returns
    -------
    holm, bh : numpy.ndarray
        Holm's step-down adjusted p-values (family-wise error rate) and Benjamini-Hochberg's
        step-up adjusted p-values (false discovery rate), in the order of ``p``.

    Notes
    -----
    With :math:`p_{(1)}\le\dots\le p_{(m)}` the sorted p-values of the :math:`m` tests,

    .. math::
        \tilde p^{\,Holm}_{(i)} = \max_{j\le i}\min\{1,(m-j+1)\,p_{(j)}\},\qquad
        \tilde p^{\,BH}_{(i)} = \min_{j\ge i}\min\{1, m\,p_{(j)}/j\}.

    The same numbers as statsmodels' ``multipletests(method="holm")`` and ``"fdr_bh"`` and
    R's ``p.adjust`` (the tests check), without importing statsmodels.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.
    .. [2] Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate.
       Journal of the Royal Statistical Society B, 57(1), 289-300.
    """
    p = np.asarray(p, dtype=np.float64)
    holm = np.full(p.shape, np.nan)
    bh = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m:
        order = ok[np.argsort(p[ok], kind="mergesort")]
        ps = p[order]
        rank = np.arange(1, m + 1)
        holm[order] = np.minimum(np.maximum.accumulate((m - rank + 1) * ps), 1.0)
        bh[order] = np.minimum(np.minimum.accumulate((m * ps / rank)[::-1])[::-1], 1.0)
    return holm, bh


def adjusted_level(p: Any, p_adjusted: Any, alpha: float = 0.05) -> np.ndarray:
    r"""The confidence level of an interval that agrees with a multiplicity-adjusted verdict.

    Parameters
    ----------
    p : array_like
        Unadjusted p-values.
    p_adjusted : array_like
        The same tests' adjusted p-values (Holm or Benjamini-Hochberg, from :func:`holm_bh`).
    alpha : float, optional
        The level at which an adjusted p-value is called detectable (default 0.05).

    Returns
    -------
    numpy.ndarray
        :math:`1-\alpha^*` per test; NaN where either p-value is NaN.

    Notes
    -----
    The per-test significance level implied by the adjustment is

    .. math:: \alpha^* = \alpha\,p/\tilde p \quad (\tilde p > 0), \qquad \alpha^* = \alpha/m\ (\tilde p = 0),

    so :math:`p<\alpha^*` exactly when :math:`\tilde p<\alpha`: the :math:`1-\alpha^*` interval
    of the same t statistic excludes zero exactly when the adjusted verdict says "detectable".
    For a Holm step without the monotone correction it is Holm's own level
    :math:`\alpha/(m-j+1)`; for BH it is the step-up level :math:`j\alpha/m`, which for the
    selected tests gives the false-coverage-rate intervals of [2]_ when no monotone correction
    applies.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.
    .. [2] Benjamini, Y., & Yekutieli, D. (2005). False discovery rate-adjusted multiple
       confidence intervals for selected parameters. Journal of the American Statistical
       Association, 100(469), 71-81.
    """
    p = np.asarray(p, dtype=np.float64)
    pa = np.asarray(p_adjusted, dtype=np.float64)
    m = max(int((~np.isnan(pa)).sum()), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(pa > 0, alpha * p / pa, alpha / m)
    return np.where(np.isnan(p) | np.isnan(pa), np.nan, 1 - a)
