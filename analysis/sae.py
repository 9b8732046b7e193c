"""Small-area estimation: the Fay-Herriot area-level model, its EBLUPs, their MSE, benchmarking and checks.

A neighborhood with a dozen respondents has a direct (design-based) estimate too
noisy to publish. The Fay-Herriot model borrows strength from the other areas through
area covariates (population shares, the previous wave's estimate, the district's
estimate...) and gives every area, with or without respondents, an estimate with an
honest mean squared error. The model, in the notation of Rao and Molina (2015, ch. 6):

.. math::

    y_i = \\theta_i + e_i, \\quad e_i \\sim N(0, \\psi_i) \\text{ (sampling error, } \\psi_i \\text{ known)}

    \\theta_i = x_i^\\top \\beta + v_i, \\quad v_i \\sim N(0, \\sigma_v^2) \\text{ (area effect)}

for areas :math:`i = 1..m` with a direct estimate :math:`y_i` and its sampling variance
:math:`\\psi_i`. Everything here works on that area-level table alone (one row per
area); getting :math:`y_i` and :math:`\\psi_i` from respondents is the job of
:func:`analysis.mean` with ``by=area`` (and :func:`smooth_variances` for tiny areas).

References
----------
Fay, R. E. and Herriot, R. A. (1979). Estimates of income for small places: an
application of James-Stein procedures to census data. *JASA* 74, 269-277.

Prasad, N. G. N. and Rao, J. N. K. (1990). The estimation of the mean squared error of
small-area estimators. *JASA* 85, 163-171.

Datta, G. S. and Lahiri, P. (2000). A unified measure of uncertainty of estimated best
linear unbiased predictors in small area estimation problems. *Statistica Sinica* 10,
613-627.

Steorts, R. C. and Ghosh, M. (2013). On estimation of mean squared errors of
benchmarked empirical Bayes estimators. *Statistica Sinica* 23, 749-767.

Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed. Wiley. Ch. 6.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "FayHerriot",
    "FHDiagnostics",
    "AreaEstimates",
    "area_estimates",
    "fay_herriot",
    "benchmark",
    "fh_diagnostics",
    "smooth_variances",
]

METHODS = ("REML", "ML")
BENCHMARKS = ("difference", "ratio")


@dataclass(frozen=True)
class FayHerriot:
    """A fitted Fay-Herriot model and its predictions for every area.

    Per-area arrays (length ``m``, in the order of ``areas``): ``direct`` and
    ``variance`` (:math:`y_i`, :math:`\\psi_i`; NaN where the area has no sample),
    ``sampled``, ``estimate`` (EBLUP for sampled areas, the synthetic
    :math:`x_i^\\top\\hat\\beta` otherwise), ``mse`` and its parts ``g1``, ``g2``,
    ``g3`` (zero where they do not apply), ``shrinkage`` (:math:`\\gamma_i`, the weight on
    the direct estimate; 0 for areas without sample) and ``synthetic``.

    Model quantities: ``sigma2`` (:math:`\\hat\\sigma_v^2`), ``sigma2_se`` (from the
    inverse Fisher information), ``beta`` and ``beta_cov``
    (:math:`(X^\\top \\hat V^{-1} X)^{-1}`), ``loglik`` (of the fitted method: the REML
    log-likelihood for REML), ``iterations``, ``converged``, ``bias_ml`` (the
    first-order bias of the ML estimator of :math:`\\sigma_v^2`; 0 for REML).
    """

    method: str
    areas: list[Any]
    covariates: list[str]
    direct: np.ndarray
    variance: np.ndarray
    sampled: np.ndarray
    x: np.ndarray
    sigma2: float
    sigma2_se: float
    beta: np.ndarray
    beta_cov: np.ndarray
    loglik: float
    iterations: int
    converged: bool
    bias_ml: float
    synthetic: np.ndarray
    estimate: np.ndarray
    shrinkage: np.ndarray
    g1: np.ndarray
    g2: np.ndarray
    g3: np.ndarray
    mse: np.ndarray
    benchmarked: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def m(self) -> int:
        """Number of areas with a sample (the areas the model is fitted on)."""
        return int(self.sampled.sum())

    @property
    def rmse(self) -> np.ndarray:
        """Root mean squared error of each area's estimate."""
        return np.sqrt(np.clip(self.mse, 0.0, None))

    def intervals(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Normal intervals :math:`\\hat\\theta_i \\pm z_{1-\\alpha/2}\\sqrt{\\mathrm{mse}_i}`.

        The usual interval for EBLUPs (Rao and Molina 2015, sec. 6.2.7); its coverage
        is near nominal on average over areas under the model, not for each area.
        """
        z = stats.norm.ppf(0.5 + level / 2.0)
        half = z * self.rmse
        return self.estimate - half, self.estimate + half

    def frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per area: direct estimate and SE, model estimate, RMSE, interval, shrinkage, kind.

        ``kind`` is ``"eblup"`` for areas with a sample and ``"synthetic"`` for areas without;
        both are model-based and must be presented as such.
        """
        lo, hi = self.intervals(level)
        direct_se = np.sqrt(self.variance)
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = self.rmse / np.abs(self.estimate)
        return pd.DataFrame(
            {
                "area": self.areas,
                "direct": self.direct,
                "direct_se": direct_se,
                "estimate": self.estimate,
                "rmse": self.rmse,
                "ci_low": lo,
                "ci_high": hi,
                "cv": cv,
                "shrinkage": self.shrinkage,
                "synthetic": self.synthetic,
                "kind": np.where(self.sampled, "eblup", "synthetic"),
            }
        )


def _as_matrix(covariates: Any, m: int, intercept: bool) -> tuple[np.ndarray, list[str]]:
    if covariates is None:
        x, names = np.empty((m, 0)), []
    elif isinstance(covariates, pd.DataFrame):
        x, names = covariates.to_numpy(dtype=np.float64), [str(c) for c in covariates.columns]
    else:
        x = np.asarray(covariates, dtype=np.float64)
        x = x.reshape(m, -1) if x.ndim == 1 else x
        names = [f"x{j + 1}" for j in range(x.shape[1])]
    if x.shape[0] != m:
        raise ValueError(f"covariates have {x.shape[0]} rows but there are {m} areas: give one row per area")
    if not np.isfinite(x).all():
        bad = sorted({int(i) for i in np.nonzero(~np.isfinite(x))[0]})[:5]
        raise ValueError(f"covariates are missing or infinite for area rows {bad}: every area needs its covariates")
    if intercept:
        x, names = np.column_stack([np.ones(m), x]), ["intercept", *names]
    if x.shape[1] == 0:
        raise ValueError("the model needs at least one covariate: keep intercept=True or give covariates")
    return x, names


def _validate(direct: Any, variance: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(direct, dtype=np.float64).ravel()
    psi = np.asarray(variance, dtype=np.float64).ravel()
    if y.shape != psi.shape:
        raise ValueError(f"direct ({y.size}) and variance ({psi.size}) must have one value per area")
    sampled = np.isfinite(y)
    if (np.isfinite(psi) != sampled).any():
        raise ValueError("an area has a direct estimate without a variance or the reverse: set both to NaN for areas without sample")
    if (psi[sampled] <= 0).any():
        bad = np.nonzero(sampled & (psi <= 0))[0][:5].tolist()
        raise ValueError(
            f"sampling variances must be positive (area rows {bad}): an area with one respondent or no "
            "spread has no usable variance; use smooth_variances() or leave the area out as unsampled"
        )
    return y, psi, sampled


def _gls(y: np.ndarray, psi: np.ndarray, x: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights :math:`w_i=1/(\\sigma^2+\\psi_i)`, :math:`A^{-1}=(X^\\top V^{-1}X)^{-1}` and :math:`\\hat\\beta`."""
    w = 1.0 / (s2 + psi)
    a_inv = np.linalg.inv(x.T @ (x * w[:, None]))
    return w, a_inv, a_inv @ (x.T @ (w * y))


def _score_info(y: np.ndarray, psi: np.ndarray, x: np.ndarray, s2: float, method: str) -> tuple[float, float]:
    """Score and expected (Fisher) information for :math:`\\sigma_v^2` (Rao and Molina 2015, sec. 6.1.2).

    ML: :math:`s = -\\tfrac12\\sum w_i + \\tfrac12\\sum w_i^2 (y_i-x_i^\\top\\hat\\beta)^2`,
    :math:`\\mathcal I = \\tfrac12\\sum w_i^2`. REML: :math:`s = -\\tfrac12\\operatorname{tr}P
    + \\tfrac12 y^\\top P^2 y`, :math:`\\mathcal I = \\tfrac12\\operatorname{tr}P^2` with
    :math:`P = V^{-1} - V^{-1}X(X^\\top V^{-1}X)^{-1}X^\\top V^{-1}`.
    """
    w, a_inv, beta = _gls(y, psi, x, s2)
    r = y - x @ beta
    if method == "ML":
        return 0.5 * float(np.sum(w**2 * r**2) - np.sum(w)), 0.5 * float(np.sum(w**2))
    xw = x * w[:, None]
    p = np.diag(w) - xw @ a_inv @ xw.T
    py = w * r  # P y = V^{-1}(y - X beta_hat)
    return 0.5 * float(py @ py - np.trace(p)), 0.5 * float(np.sum(p * p))


def _loglik(y: np.ndarray, psi: np.ndarray, x: np.ndarray, s2: float, method: str) -> float:
    w, a_inv, beta = _gls(y, psi, x, s2)
    r = y - x @ beta
    m, p = x.shape
    ll = -0.5 * (np.sum(np.log(s2 + psi)) + np.sum(w * r**2))
    if method == "ML":
        return float(ll - 0.5 * m * np.log(2 * np.pi))
    _, logdet_a_inv = np.linalg.slogdet(a_inv)
    return float(ll + 0.5 * logdet_a_inv - 0.5 * (m - p) * np.log(2 * np.pi))


def _fisher_scoring(y, psi, x, method: str, tol: float, max_iter: int) -> tuple[float, int, bool]:
    """:math:`\\sigma^{2(a+1)} = \\max\\{0, \\sigma^{2(a)} + \\mathcal I^{-1} s\\}` from the median of :math:`\\psi_i`.

    Stops when a step changes :math:`\\sigma^2` by less than ``tol`` times
    :math:`\\max(1, \\sigma^2)`, or when it sits at the boundary 0 with a negative score.
    """
    s2 = float(np.median(psi))
    for it in range(1, max_iter + 1):
        score, info = _score_info(y, psi, x, s2, method)
        new = max(0.0, s2 + score / info)
        if abs(new - s2) <= tol * max(1.0, s2) or (new == 0.0 and s2 == 0.0):
            return new, it, True
        s2 = new
    return s2, max_iter, False


def fay_herriot(
    direct: Any,
    variance: Any,
    covariates: Any = None,
    *,
    areas: Sequence[Any] | None = None,
    method: str = "REML",
    intercept: bool = True,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> FayHerriot:
    """Fit the Fay-Herriot model and predict every area (EBLUP, or synthetic without sample).

    Parameters
    ----------
    direct, variance : array-like, length m_total
        Direct estimate :math:`y_i` and its sampling variance :math:`\\psi_i` per area,
        both NaN for an area without respondents (it then gets a synthetic estimate).
        :math:`\\psi_i` is treated as known; smooth noisy variances first
        (:func:`smooth_variances`).
    covariates : array-like or DataFrame (m_total x p), optional
        Area-level covariates, for every area including those without sample.
    areas : sequence, optional
        Area labels (default ``0..m_total-1``).
    method : {"REML", "ML"}
        Estimator of :math:`\\sigma_v^2`, both by Fisher scoring, truncated at 0.
    intercept : bool
        Add a column of ones to the covariates.

    Returns
    -------
    FayHerriot

    Notes
    -----
    With :math:`w_i = 1/(\\hat\\sigma_v^2+\\psi_i)`, :math:`\\hat\\beta = (X^\\top W X)^{-1}X^\\top W y`
    and the shrinkage factor :math:`\\gamma_i = \\hat\\sigma_v^2/(\\hat\\sigma_v^2+\\psi_i)`,
    the EBLUP is (Fay and Herriot 1979)

    .. math:: \\hat\\theta_i = \\gamma_i y_i + (1-\\gamma_i) x_i^\\top\\hat\\beta .

    Its MSE estimate (Prasad and Rao 1990; Datta and Lahiri 2000) is
    :math:`g_{1i} + g_{2i} + 2 g_{3i}` for REML and
    :math:`g_{1i} + g_{2i} + 2 g_{3i} - b_{ML}(1-\\gamma_i)^2` for ML, where

    .. math::

        g_{1i} = \\gamma_i\\psi_i, \\qquad
        g_{2i} = (1-\\gamma_i)^2 x_i^\\top (X^\\top W X)^{-1} x_i, \\qquad
        g_{3i} = \\frac{\\psi_i^2}{(\\hat\\sigma_v^2+\\psi_i)^3}\\,\\bar V(\\hat\\sigma_v^2),

        \\bar V(\\hat\\sigma_v^2) = 2\\Big/\\sum_j (\\hat\\sigma_v^2+\\psi_j)^{-2}, \\qquad
        b_{ML} = -\\frac{\\operatorname{tr}\\{(X^\\top W X)^{-1} X^\\top W^2 X\\}}{\\sum_j w_j^2},

    and the ML correction term is :math:`-b_{ML}\\,\\partial g_{1i}/\\partial\\sigma_v^2 =
    -b_{ML}(1-\\gamma_i)^2` (Datta and Lahiri 2000; Rao and Molina 2015, eqs. 6.2.14-6.2.16).
    Datta and Lahiri showed that the Prasad-Rao form (with :math:`2g_{3i}`) stays
    second-order unbiased for REML because REML's bias is of lower order.

    An area :math:`l` without sample gets the synthetic estimate
    :math:`x_l^\\top\\hat\\beta` with MSE :math:`\\hat\\sigma_v^2 + x_l^\\top(X^\\top W X)^{-1}x_l`
    (REML) plus :math:`-b_{ML}` for ML (Rao and Molina 2015, sec. 6.2.3). If
    :math:`\\hat\\sigma_v^2 = 0` that MSE only reflects the uncertainty of
    :math:`\\hat\\beta`; :func:`fh_diagnostics` warns about it.

    Examples
    --------
    >>> fit = fay_herriot([60.0, 55.0, 70.0, 48.0, np.nan], [20.0, 50.0, 30.0, 80.0, np.nan])
    >>> fit.estimate.round(2).tolist()[-1] == round(float(fit.beta[0]), 2)
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    y_all, psi_all, sampled = _validate(direct, variance)
    m_total = y_all.size
    labels = list(range(m_total)) if areas is None else list(areas)
    if len(labels) != m_total:
        raise ValueError(f"areas has {len(labels)} labels for {m_total} areas")
    x_all, names = _as_matrix(covariates, m_total, intercept)
    y, psi, x = y_all[sampled], psi_all[sampled], x_all[sampled]
    m, p = x.shape
    if m <= p + 1:
        raise ValueError(f"{m} areas with a sample cannot fit {p} coefficients and a variance: use fewer covariates")
    if np.linalg.matrix_rank(x) < p:
        raise ValueError(f"the covariates {names} are collinear over the sampled areas: drop one")

    s2, iterations, converged = _fisher_scoring(y, psi, x, method, tol, max_iter)
    w, a_inv, beta = _gls(y, psi, x, s2)
    sum_w2 = float(np.sum(w**2))
    vbar = 2.0 / sum_w2
    bias_ml = -float(np.trace(a_inv @ (x.T @ (x * (w**2)[:, None])))) / sum_w2 if method == "ML" else 0.0
    _, info = _score_info(y, psi, x, s2, method)

    synthetic = x_all @ beta
    gamma = np.where(sampled, s2 / (s2 + psi_all), 0.0)
    lev = np.einsum("ij,jk,ik->i", x_all, a_inv, x_all)
    with np.errstate(invalid="ignore"):
        g1 = np.where(sampled, gamma * psi_all, 0.0)
        g2 = np.where(sampled, (1.0 - gamma) ** 2 * lev, lev)
        g3 = np.where(sampled, psi_all**2 / (s2 + psi_all) ** 3 * vbar, 0.0)
        bias_term = np.where(sampled, -bias_ml * (1.0 - gamma) ** 2, -bias_ml)
    mse = np.where(sampled, g1 + g2 + 2.0 * g3, s2 + g2) + bias_term
    estimate = np.where(sampled, gamma * np.nan_to_num(y_all) + (1.0 - gamma) * synthetic, synthetic)
    return FayHerriot(
        method=method,
        areas=labels,
        covariates=names,
        direct=y_all,
        variance=psi_all,
        sampled=sampled,
        x=x_all,
        sigma2=s2,
        sigma2_se=float(np.sqrt(1.0 / info)),
        beta=beta,
        beta_cov=a_inv,
        loglik=_loglik(y, psi, x, s2, method),
        iterations=iterations,
        converged=converged,
        bias_ml=bias_ml,
        synthetic=synthetic,
        estimate=estimate,
        shrinkage=gamma,
        g1=g1,
        g2=g2,
        g3=g3,
        mse=mse,
    )


def benchmark(fit: FayHerriot, shares: Any, total: float, *, method: str = "difference") -> FayHerriot:
    """Adjust the area estimates so their population-weighted sum equals the direct estimate of the whole.

    Parameters
    ----------
    fit : FayHerriot
    shares : array-like, length m_total
        Population share :math:`W_i` of every area (sampled or not); must sum to 1.
    total : float
        The direct (design-based) estimate :math:`t` for the whole population, e.g. the
        city-wide weighted mean from :func:`analysis.mean`.
    method : {"difference", "ratio"}
        ``difference`` (default): :math:`\\hat\\theta_i^b = \\hat\\theta_i + (t - \\sum_j W_j\\hat\\theta_j)`,
        the same shift for every area (the Wang, Fuller and Qu (2008) estimator with
        weights :math:`\\propto W_i`; Rao and Molina 2015, sec. 6.3.1). ``ratio``:
        :math:`\\hat\\theta_i^b = \\hat\\theta_i\\, t / \\sum_j W_j\\hat\\theta_j`, for positive
        quantities such as means on a 0-100 scale.

    Returns
    -------
    FayHerriot
        A copy with ``estimate`` replaced and ``mse`` increased by the squared
        adjustment, :math:`\\mathrm{mse}_i^b = \\mathrm{mse}_i + (\\hat\\theta_i^b-\\hat\\theta_i)^2`,
        the second-order approximation of Steorts and Ghosh (2013) for difference
        benchmarking (used as an approximation for ratio benchmarking too).
        ``synthetic``, ``direct`` and the model parameters are unchanged.
    """
    if method not in BENCHMARKS:
        raise ValueError(f"method must be one of {BENCHMARKS}, not {method!r}")
    w = np.asarray(shares, dtype=np.float64).ravel()
    if w.size != len(fit.areas):
        raise ValueError(f"shares has {w.size} values for {len(fit.areas)} areas: give one share per area")
    if (w < 0).any() or not np.isfinite(w).all() or abs(w.sum() - 1.0) > 1e-6:
        raise ValueError(f"shares must be non-negative population shares summing to 1 (they sum to {w.sum():.6g})")
    weighted = float(w @ fit.estimate)
    if method == "difference":
        new = fit.estimate + (float(total) - weighted)
    else:
        if weighted <= 0 or total <= 0:
            raise ValueError("ratio benchmarking needs positive estimates and total: use method='difference'")
        new = fit.estimate * (float(total) / weighted)
    mse = fit.mse + (new - fit.estimate) ** 2
    return replace(fit, estimate=new, mse=mse, benchmarked=method)


@dataclass(frozen=True)
class FHDiagnostics:
    """Checks of a fitted Fay-Herriot model.

    ``table``: one row per sampled area with ``residual`` (standardized),
    ``shrinkage`` (:math:`\\gamma_i`), ``large`` (used in the large-area comparison),
    ``difference`` (direct minus model estimate) and ``z`` (that difference over its
    standard deviation). ``shapiro_p``: Shapiro-Wilk p-value of the standardized
    residuals. ``large_bias`` and ``large_bias_z``: mean difference direct minus model
    over the large areas and its z statistic. ``warnings``: ``(code, message)`` pairs,
    empty when nothing looks wrong; codes are ``not_converged``, ``zero_variance``,
    ``outlier``, ``non_normal``, ``large_area_bias``.
    """

    table: pd.DataFrame
    shapiro_p: float
    large_bias: float
    large_bias_z: float
    warnings: tuple[tuple[str, str], ...]

    @property
    def fits_badly(self) -> bool:
        """True when a warning says the model's assumptions or fit are in doubt."""
        return any(code in ("outlier", "non_normal", "large_area_bias", "not_converged") for code, _ in self.warnings)


def fh_diagnostics(fit: FayHerriot, *, large: Any = None, alpha: float = 0.05) -> FHDiagnostics:
    """Standardized residuals, shrinkage, model against direct for large areas, and warnings.

    Parameters
    ----------
    fit : FayHerriot
    large : boolean array-like, length m_total, optional
        Areas whose direct estimates are precise enough to check the model against (for
        example 100 respondents or more). Default: the quarter of sampled areas with the
        smallest sampling variance (at least 3).
    alpha : float
        Level of the checks.

    Notes
    -----
    The standardized residual divides :math:`y_i - x_i^\\top\\hat\\beta` by the square root
    of its variance under the model, :math:`\\hat\\sigma_v^2+\\psi_i-x_i^\\top(X^\\top W X)^{-1}x_i`
    (Rao and Molina 2015, sec. 6.2.6); under the model these are close to N(0, 1).
    Warnings: an area with :math:`|r_i|` above the Bonferroni bound
    :math:`z_{1-\\alpha/(2m)}` (``outlier``); Shapiro-Wilk p below ``alpha``
    (``non_normal``); for the large areas, where the direct estimate is trustworthy,
    the mean of :math:`y_i-\\hat\\theta_i` differing from 0 at level ``alpha``
    (``large_area_bias``: the model pulls the well-measured areas systematically one
    way, a sign of a missing covariate; compare Brown et al. 2001). :math:`\\hat\\sigma_v^2=0`
    (``zero_variance``) is not a misfit but means the model explains all between-area
    variation by the covariates, and the MSE of areas without sample then ignores
    any area effect.
    """
    s = fit.sampled
    y, psi, x = fit.direct[s], fit.variance[s], fit.x[s]
    m = y.size
    lev = np.einsum("ij,jk,ik->i", x, fit.beta_cov, x)
    resid_var = np.clip(fit.sigma2 + psi - lev, 1e-300, None)
    resid = (y - fit.synthetic[s]) / np.sqrt(resid_var)
    gamma = fit.shrinkage[s]
    diff = y - fit.estimate[s]
    # y - EBLUP = (1 - gamma)(y - x'beta) before benchmarking: same z as the residual.
    diff_sd = np.sqrt((1.0 - gamma) ** 2 * resid_var + (fit.estimate[s] - (gamma * y + (1 - gamma) * fit.synthetic[s])) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(diff_sd > 0, diff / diff_sd, 0.0)
    if large is None:
        k = max(3, m // 4)
        big = np.zeros(m, dtype=bool)
        big[np.argsort(psi, kind="stable")[:k]] = True
    else:
        big = np.asarray(large, dtype=bool).ravel()
        if big.size != len(fit.areas):
            raise ValueError(f"large has {big.size} values for {len(fit.areas)} areas")
        big = big[s]
    table = pd.DataFrame(
        {
            "area": [a for a, keep in zip(fit.areas, s, strict=True) if keep],
            "direct": y,
            "estimate": fit.estimate[s],
            "residual": resid,
            "shrinkage": gamma,
            "large": big,
            "difference": diff,
            "z": z,
        }
    )
    shapiro_p = float(stats.shapiro(resid).pvalue) if m >= 3 else float("nan")
    if big.any():
        large_bias = float(diff[big].mean())
        sd = float(np.sqrt(np.sum(diff_sd[big] ** 2)) / big.sum())
        large_bias_z = large_bias / sd if sd > 0 else 0.0
    else:
        large_bias, large_bias_z = float("nan"), float("nan")
    warnings: list[tuple[str, str]] = []
    if not fit.converged:
        warnings.append(("not_converged", "Fisher scoring did not converge: the variance estimate is unreliable."))
    if fit.sigma2 == 0.0:
        warnings.append(
            (
                "zero_variance",
                "The estimated area variance is 0: the model attributes all differences between areas to the "
                "covariates; estimates for areas without a sample may understate their uncertainty.",
            )
        )
    bound = stats.norm.ppf(1.0 - alpha / (2.0 * m))
    outliers = [str(a) for a, r in zip(table["area"], resid, strict=True) if abs(r) > bound]
    if outliers:
        warnings.append(("outlier", f"Areas far from the model (|standardized residual| > {bound:.2f}): {', '.join(outliers)}."))
    if shapiro_p < alpha:
        warnings.append(("non_normal", f"Standardized residuals are not normal (Shapiro-Wilk p = {shapiro_p:.3g})."))
    if np.isfinite(large_bias_z) and abs(large_bias_z) > stats.norm.ppf(1.0 - alpha / 2.0):
        warnings.append(
            (
                "large_area_bias",
                f"For the best-measured areas the model differs from the direct estimates by {large_bias:.3g} on "
                f"average (z = {large_bias_z:.2f}): a covariate may be missing.",
            )
        )
    return FHDiagnostics(table, shapiro_p, large_bias, large_bias_z, tuple(warnings))


def smooth_variances(variance: Any, n: Any) -> np.ndarray:
    """Generalized variance function :math:`\\tilde\\psi_i = \\hat c / n_i` for noisy direct variances.

    With few respondents the estimated :math:`\\hat\\psi_i` is itself very noisy (and 0
    with one respondent), while the Fay-Herriot model treats it as known. Assuming a
    common unit variance times design effect :math:`c` across areas,
    :math:`\\hat c = \\sum_i (n_i-1)\\, n_i\\hat\\psi_i / \\sum_i (n_i-1)` pools
    :math:`n_i\\hat\\psi_i` with weights equal to the degrees of freedom (a GVF in the
    sense of Wolter 2007, ch. 7; Rao and Molina 2015, sec. 6.4.1). Areas with
    ``n == 0`` get NaN.
    """
    psi = np.asarray(variance, dtype=np.float64).ravel()
    nn = np.asarray(n, dtype=np.float64).ravel()
    if psi.shape != nn.shape:
        raise ValueError("variance and n must have one value per area")
    if (nn < 0).any():
        raise ValueError("respondent counts n must be non-negative")
    ok = (nn >= 2) & np.isfinite(psi)
    if not ok.any():
        raise ValueError("no area has 2 or more respondents: the variance function cannot be estimated")
    c = float(np.sum((nn[ok] - 1) * nn[ok] * psi[ok]) / np.sum(nn[ok] - 1))
    with np.errstate(divide="ignore"):
        return np.where(nn > 0, c / np.where(nn > 0, nn, 1.0), np.nan)


@dataclass(frozen=True)
class AreaEstimates:
    """Model-based estimates for every small area of every wave and measure, from an export.

    ``estimates``: one row per wave x measure x area with ``n`` (respondents who answered),
    ``direct`` and ``direct_se`` (NaN below ``min_n`` respondents: never shown, and not used by
    the model), ``estimate``, ``rmse``, ``ci_low``, ``ci_high``, ``kind`` (``eblup`` or
    ``synthetic``) and ``shrinkage``. ``models``: one row per wave x measure with the model
    variance, covariates, whether it was benchmarked and the diagnostics' warning codes.
    """

    estimates: pd.DataFrame
    models: pd.DataFrame


def _area_inputs(wave: Mapping[str, Any]) -> tuple[list[str], np.ndarray | None, np.ndarray | None, list[str]]:
    areas = list(wave.get("areas") or [])
    names = [str(a["name"]) for a in areas]
    pops = [a.get("population") for a in areas]
    population = np.array(pops, dtype=np.float64) if pops and all(p for p in pops) else None
    keys = sorted(set.intersection(*(set(a.get("covariates") or {}) for a in areas))) if areas else []
    x = np.array([[float(a["covariates"][k]) for k in keys] for a in areas]) if keys else None
    return names, population, x, keys


def area_estimates(
    frame: pd.DataFrame,
    codebook: Any,
    *,
    measures: Sequence[str] | None = None,
    area: str = "area",
    min_n: int = 10,
    method: str = "REML",
    level: float = 0.95,
    bench: bool = True,
) -> AreaEstimates:
    """Fay-Herriot estimates of the codebook's indexes for every small area of every wave.

    Each wave is its own design (strata, base weights, raked to the codebook's population
    targets when it has them), as :func:`analysis.tables.wave_tables` builds it. Per area:
    the direct weighted mean and its linearized variance; variances smoothed by
    :func:`smooth_variances`; areas with fewer than ``min_n`` respondents are treated as
    unsampled (their own answers are neither shown nor used, so a published figure cannot
    reveal a few residents' answers) and get the synthetic estimate. Covariates: those every
    area of the wave has in the codebook (``waves[].areas[].covariates``), else the
    intercept alone. With populations for every area and ``bench``, the estimates are
    difference-benchmarked (:func:`benchmark`) to the wave's direct estimate for everyone.
    """
    from .scales import score_indexes
    from .tables import batch_means, build_design, rake_wave

    if area not in frame.columns:
        raise ValueError(f"the export has no {area!r} column: the waves declare no small areas")
    indexes = [ix for ix in codebook.indexes if measures is None or ix["key"] in measures]
    if not indexes:
        raise ValueError(f"none of the measures {list(measures or [])} is an index of the codebook")
    scores = score_indexes(frame, indexes)
    keys = [ix["key"] for ix in indexes]
    margins = codebook.target_margins()
    rake = bool(margins) and all(v in frame.columns for v in margins)
    rows, models = [], []
    for wave in codebook.waves:
        names, population, x, cov_names = _area_inputs(wave)
        mask = (frame["wave"].astype(str) == wave["slug"]).to_numpy()
        if not names or not mask.any():
            continue
        fw = frame[mask].reset_index(drop=True)
        design = build_design(fw)
        if rake:
            design = rake_wave(design, fw, margins, wave["slug"])
        y = scores[keys].to_numpy(dtype=np.float64)[mask]
        index = {name: k for k, name in enumerate(names)}
        dom = np.array([index.get(str(v), -1) if isinstance(v, str) else -1 for v in fw[area]], dtype=np.int64)
        by_area = batch_means(design, y, dom, len(names))
        whole = batch_means(design, y, np.zeros(len(fw), dtype=np.int64), 1)
        for j, key in enumerate(keys):
            n = by_area["n"][:, j].astype(np.float64)
            var = by_area["var"][:, j]
            used = n >= max(min_n, 2)
            if used.sum() < 3:
                continue
            psi = np.where(used, smooth_variances(np.where(used, var, np.nan), np.where(used, n, 0)), np.nan)
            direct = np.where(used, by_area["estimate"][:, j], np.nan)
            cov = x if x is not None and used.sum() > x.shape[1] + 2 else None
            fit = fay_herriot(direct, psi, cov, areas=names, method=method)
            if cov is not None and cov_names:
                fit = replace(fit, covariates=["intercept", *cov_names])
            benchmarked = bench and population is not None
            if benchmarked:
                fit = benchmark(fit, population / population.sum(), float(whole["estimate"][0, j]))
            diag = fh_diagnostics(fit)
            out = fit.frame(level)
            out["direct_se"] = np.where(used, np.sqrt(var), np.nan)
            out.insert(0, "n", n.astype(np.int64))
            out.insert(0, "measure", key)
            out.insert(0, "wave", wave["slug"])
            rows.append(out)
            models.append({"wave": wave["slug"], "measure": key, "method": method, "sigma2": fit.sigma2,
                           "covariates": list(fit.covariates), "areas": len(names), "sampled": int(used.sum()),
                           "benchmarked": benchmarked, "warnings": [code for code, _ in diag.warnings]})
    estimates = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return AreaEstimates(estimates, pd.DataFrame(models))


def area_report(
    frame: pd.DataFrame, codebook: Any, *, min_n: int = 10, level: float = 0.95, measures: Sequence[str] = ("trust", "safety")
) -> tuple[str, pd.DataFrame]:
    """The report's small-area section (HTML, latest wave, ``measures``) and every estimate as a table.

    Every model-based number is labeled as such, with its interval; the direct estimate
    stands beside it only where at least ``min_n`` residents of the area answered.
    """
    import html

    result = area_estimates(frame, codebook, min_n=min_n, level=level)
    est = result.estimates
    if est.empty:
        return "", est
    latest = [w["slug"] for w in codebook.waves if w["slug"] in set(est["wave"])][-1]
    pct = round(level * 100)
    parts = [
        "<h2>Small areas: model-based estimates</h2>",
        f"<p>Wave {html.escape(latest)}. Each area's index is estimated with a Fay-Herriot model (REML; "
        "Fay and Herriot 1979, Rao and Molina 2015): the area's own weighted mean is combined with a regression on "
        "the area covariates, weighted by how precise each is. These are <strong>model-based estimates</strong>, not "
        f"direct survey estimates; intervals are ±1.96 root mean squared errors (Prasad and Rao 1990). Areas with fewer "
        f"than {min_n} respondents get the regression prediction alone and no direct estimate. Every estimate is in "
        "areas.csv.</p>",
    ]
    models = result.models.set_index(["wave", "measure"])
    for key in measures:
        rows = est[(est["wave"] == latest) & (est["measure"] == key)]
        if rows.empty:
            continue
        info = models.loc[(latest, key)]
        label = html.escape(codebook.label(key))
        warn = ", ".join(info["warnings"]) or "none"
        parts.append(
            f"<p>{label}: area variance {info['sigma2']:.1f}; covariates {html.escape(', '.join(info['covariates']))}; "
            f"{'benchmarked to the direct estimate for everyone; ' if info['benchmarked'] else ''}"
            f"diagnostic warnings: {html.escape(warn)}.</p>"
        )
        body = []
        for r in rows.itertuples(index=False):
            direct = (f"{r.direct:.1f} ({r.direct - 1.96 * r.direct_se:.1f}-{r.direct + 1.96 * r.direct_se:.1f})"
                      if np.isfinite(r.direct) else f"fewer than {min_n}")
            kind = "model only" if r.kind == "synthetic" else "model-based"
            body.append(f"<tr><th scope=\"row\">{html.escape(str(r.area))}</th><td>{r.n}</td><td>{direct}</td>"
                        f"<td>{r.estimate:.1f} ({r.ci_low:.1f}-{r.ci_high:.1f}) {kind}</td></tr>")
        parts.append(
            f"<table><caption>{label} by area: direct and model-based estimates ({pct}% intervals)</caption>"
            "<thead><tr><th scope=\"col\">Area</th><th scope=\"col\">n</th><th scope=\"col\">Direct estimate</th>"
            "<th scope=\"col\">Model-based estimate</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>"
        )
    return "".join(parts), est
