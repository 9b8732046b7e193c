"""Per-wave estimates of every index and item, overall and by domain, and the changes between waves.

This is what the staff comparison view, the public results page and the report show. Each wave is
its own design (strata = the wave's sampling strata, base weights, raked to the population
margins when asked), exactly as :func:`build_design` and
:func:`rake_wave` build them: waves are disjoint sets of
strata and each wave is raked on its own, so wave estimates are independent and the variance of a
difference is the sum of the two variances.

All measures and all domains of a breakdown are estimated in one batch: the influence values of
every measure form one matrix, domain estimation keeps the whole design (influence values are zero
outside the domain, never a subset), and the raking residuals of R's ``svyrecvar`` (ten passes
over the margins) are computed on the margins' category sums, so the cost does not grow with the
number of calibration cells times columns. :func:`domain_estimates` is the one-variable reference;
the tests check that both give the same numbers.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse as sp
from scipy import special

from ._progress import Progress
from .changes import adjusted_level, holm_bh, linear_trend, wave_change
from .design import Design
from .estimate import ci_korn_graubard, ci_wilson
from .io import Codebook
from .scales import score_indexes
from .weights import effective_sample_size, kish_deff

__all__ = ["WaveTables", "wave_tables", "combine_wave_tables", "batch_means", "build_design", "measures", "rake_wave",
           "holm_bh", "describe_change", "GROUP_VARIABLES", "GROUP_NAMES"]

#: Breakdowns the tables offer, in this order, when the export has the column.
GROUP_VARIABLES = ("district", "age_band", "sex", "race_eth", "tenure", "education", "home_language")
#: Short English names of the breakdowns (the codebook's labels are the questions' wording).
GROUP_NAMES = {"district": "District", "age_band": "Age band", "sex": "Sex", "race_eth": "Race and ethnicity",
               "tenure": "Housing tenure", "education": "Education", "home_language": "Language spoken at home"}

ESTIMATE_COLUMNS = ["mi", "measure", "kind", "scale", "category", "by", "domain", "wave", "estimate", "se",
                    "ci_low", "ci_high", "interval", "df", "deff", "n"]
CHANGE_COLUMNS = ["mi", "measure", "kind", "scale", "category", "by", "domain", "comparison", "wave_from",
                  "wave_to", "estimate_from", "estimate_to", "difference", "se", "ci_low", "ci_high", "df",
                  "p_value", "p_holm", "ci_low_holm", "ci_high_holm", "level_holm", "p_bh", "ci_low_bh",
                  "ci_high_bh", "level_bh", "n_from", "n_to", "waves", "comparable", "too_few", "detectable",
                  "note", "family"]


@dataclass
class WaveTables:
    """Everything the comparison pages and the report show, as plain data frames.

    ``measures``: one row per measured column (``mi``), its key, kind (index, item, option), scale
    (score 0-100, mean, proportion) and category code for choice items.

    ``estimates``: one row per measure x breakdown (``by`` None for everyone) x domain x wave,
    also where nobody in the domain answered (``n`` 0, estimate NaN, ``interval`` "no
    answers"). ``interval`` names the method of ``ci_low``/``ci_high`` (keys of
    :data:`INTERVALS`): "t" for means and scores; "wilson" for proportions strictly between 0
    and 1; "korn-graubard" where a proportion is exactly 0 or 1 (the Wilson interval on the
    effective sample size does not exist there: the variance is 0). ``df`` is the domain's own: respondents who answered minus their strata.

    ``changes``: last wave against the first (``comparison == "first_last"``), each wave
    against the one before (``"step"``, three or more waves) and the linear trend per wave
    (``"trend"``, three or more waves with answers). ``difference``, ``se``, ``df``
    (Satterthwaite), ``ci_low``/``ci_high`` at ``level`` and ``p_value``; ``p_holm`` and
    ``p_bh`` adjusted within ``family``; ``ci_low_holm``/``ci_high_holm`` (and ``_bh``) the
    interval at ``level_holm`` (``level_bh``), the confidence level that agrees with the
    adjusted verdict: it excludes 0 exactly when the adjusted p is below ``alpha``, so a page
    that calls a change detectable by Holm (BH) can show that interval beside it.
    ``comparable`` is False, with the reason in ``note``, where a wave has no answers (only the
    changes that involve it) or the measure is excluded; ``too_few`` where a wave has fewer than
    ``min_n`` respondents (no p-value). ``detectable``: Holm-adjusted p below ``alpha``.

    ``not_compared``: measures excluded or not asked in some waves, with the reason.
    ``weights``: per wave n, Kish deff, effective n and the design df.
    """

    waves: list[str]
    weighting: str
    measures: pd.DataFrame
    estimates: pd.DataFrame
    changes: pd.DataFrame
    not_compared: pd.DataFrame
    weights: pd.DataFrame
    breakdowns: list[str]
    domains: dict[str, list[str]]
    level: float
    min_n: int
    alpha: float


SEP = "\x1f"  # joins wave and stratum labels; never appears in exported values


def build_design(
    frame: pd.DataFrame,
    *,
    weights: str = "base_weight",
    stratum: str = "stratum",
    wave: str = "wave",
    cluster: str | None = None,
) -> Design:
    """A design for an export: strata = wave x stratum, weights = base weights.

    Open-link responses have no base weight and get weight 1 (they are not a probability
    sample; their results describe respondents, not the population).
    """
    w = frame[weights].to_numpy(dtype=np.float64) if weights in frame.columns else np.ones(len(frame))
    w = np.where(np.isnan(w), 1.0, w)
    waves = frame[wave].astype(str).to_numpy(dtype=object)
    if stratum in frame.columns:
        st = frame[stratum].fillna("").astype(str).to_numpy(dtype=object)
        strata = waves + SEP + st
    else:
        strata = waves
    return Design.from_data(frame, weights=w, strata=strata, clusters=cluster, lonely_psu="adjust")


def measures(frame: pd.DataFrame, codebook: Codebook) -> list[dict[str, Any]]:
    """Every index (0-100 score), scale item (mean), choice category and option (proportion).

    One dict per measured column: ``measure`` (key), ``kind`` (index, item, option), ``scale``
    (score, mean, proportion), ``label``, ``values`` (one float per row, NaN = not answered; 0/1
    for a choice category), ``category`` and ``category_label`` (choice items only).
    """
    out: list[dict[str, Any]] = []
    scores = score_indexes(frame, codebook.indexes) if codebook.indexes else pd.DataFrame(index=frame.index)
    for ix in codebook.indexes:
        out.append({"measure": ix["key"], "kind": "index", "scale": "score", "label": codebook.label(ix["key"]),
                    "values": scores[ix["key"]].to_numpy(), "category": None, "category_label": None})
    for name, var in codebook.variables.items():
        if name not in frame.columns or var.get("kind") not in ("item", "multi_option"):
            continue
        x = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        if var.get("kind") == "multi_option" or var.get("type") == "multi":
            out.append({"measure": name, "kind": "option", "scale": "proportion", "label": codebook.label(name),
                        "values": x, "category": None, "category_label": None})
        elif var.get("type") == "scale":
            out.append({"measure": name, "kind": "item", "scale": "mean", "label": codebook.label(name),
                        "values": x, "category": None, "category_label": None})
        elif var.get("type") == "choice":
            missing = set(codebook.missing_codes(name))
            for val in var.get("values", []):
                code = float(val["code"])
                if code in missing:
                    continue
                lab = (val.get("label") or {}).get("en", str(val["code"]))
                ind = np.where(np.isnan(x), np.nan, (x == code).astype(np.float64))
                out.append({"measure": name, "kind": "item", "scale": "proportion", "label": codebook.label(name),
                            "values": ind, "category": str(val["code"]), "category_label": lab})
    return out


def _domain_labels(values: pd.Series, codebook: Codebook, name: str) -> tuple[list[str], np.ndarray]:
    """Domain labels (codebook order, then the rest sorted) and every row's domain code (-1 missing)."""
    text = np.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values], dtype=object)
    present = {v for v in text if v is not None}
    order = [str(v["code"]) for v in codebook.variables.get(name, {}).get("values", []) if str(v["code"]) in present]
    rest = sorted(present - set(order), key=lambda v: (0, float(v), v) if v.replace(".", "", 1).lstrip("-").isdigit() else (1, 0.0, v))
    labels = order + rest
    index = {lab: k for k, lab in enumerate(labels)}
    codes = np.fromiter((index.get(v, -1) if v is not None else -1 for v in text), dtype=np.int64, count=len(text))
    return labels, codes


def _onehot(keys: np.ndarray, size: int) -> sp.csr_matrix:
    """Sparse (size x n) indicator of each row's key; rows with a negative key are left out."""
    ok = keys >= 0
    # One entry per column: built as CSC directly, with no sorting.
    indptr = np.concatenate(([0], np.cumsum(ok)))
    return sp.csc_matrix((np.ones(int(ok.sum())), keys[ok], indptr), shape=(size, keys.shape[0]))


_PLANS: weakref.WeakKeyDictionary[Any, tuple] = weakref.WeakKeyDictionary()


def _rake_plan(cal: Any) -> tuple:
    """Per calibration, once: margin indicators, the cross-tables of cell counts, category counts."""
    plan = _PLANS.get(cal)
    if plan is None:
        f = cal.f_steps
        g = [_onehot(mc, k) for mc, k in zip(cal.cell_margin, cal.sizes, strict=True)]
        starts = np.cumsum([0, *cal.sizes])
        mc, sizes = cal.cell_margin, cal.sizes
        cross = np.vstack([np.hstack([
            np.bincount(mc[k] * sizes[j] + mc[j], weights=cal.count * f[j] / f[k],
                        minlength=sizes[k] * sizes[j]).reshape(sizes[k], sizes[j])
            for j in range(len(g))]) for k in range(len(g))])
        gcnt = [np.asarray(g[k] @ cal.count)[:, None] for k in range(len(g))]
        g_over_f = [g[k].multiply(1.0 / f[k]).tocsr() for k in range(len(g))]
        spread = sp.hstack([g[k].T.multiply(f[k][:, None]) for k in range(len(g))]).tocsr()
        plan = (g_over_f, starts, cross, gcnt, spread)
        _PLANS[cal] = plan
    return plan


def _rake_correction(cal: Any, sums: np.ndarray) -> np.ndarray:
    r"""The raking correction ``a`` (cells x columns) of :meth:`CalibrationCells.correction_from_sums`.

    The same ten passes over the margins, carried on each margin's category coefficients: the
    running correction is :math:`a_c = \sum_k F_k[c]\,B_k[m_k(c)]`, so a pass needs only the
    small cross-tables :math:`C_{kk'}` of cell counts between two margins, never cells x columns.
    """
    g_over_f, starts, cross, gcnt, spread = _rake_plan(cal)
    p = [np.asarray(gk @ sums) for gk in g_over_f]
    coef = np.zeros((int(starts[-1]), sums.shape[1]))
    for _ in range(10):
        for k in range(len(p)):
            rows = slice(int(starts[k]), int(starts[k + 1]))
            gsum = p[k] - cross[rows] @ coef
            coef[rows] += np.divide(gsum, gcnt[k], out=np.zeros_like(gsum), where=gcnt[k] > 0)
    return np.asarray(spread @ coef)


def batch_means(design: Design, y: np.ndarray, domain: np.ndarray, ndomain: int, *,
                small_sample: bool = False) -> dict[str, np.ndarray]:
    r"""Weighted means of every column of ``y`` (n x M, NaN = not answered) in every domain.

    ``domain`` holds each row's domain code 0..ndomain-1 (-1: in none). Returns arrays of shape
    (ndomain, M): ``estimate``, ``var`` (Taylor linearization with the raking residuals),
    ``n`` (answered, nonzero weight), ``df`` (answered rows minus strata with one) and ``deff``
    (as R's ``svymean(deff=TRUE)``). One-stage designs with each row its own unit and at most one
    raking or post-stratification step, as :func:`build_design` makes them.

    ``small_sample=True`` applies the bias-reduced linearization of Bell and McCaffrey (2002) to
    the domain mean: respondent i's influence value is divided by :math:`\sqrt{1-h_i}` with
    :math:`h_i = w_i/\sum_{j\in d} w_j` its leverage on the domain's mean, which removes the
    downward bias of the linearized variance in small domains (for a simple random sample it
    turns :math:`\sum e_i^2/n^2` into :math:`s^2/n`); in a domain of thousands it changes the
    standard error by a few parts in ten thousand. With ``False`` the variance is R's
    ``svymean`` exactly.

    References
    ----------
    .. [1] Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
       regression with multi-stage samples. Survey Methodology, 28(2), 169-181.
    .. [2] Lumley, T. (2004). Analysis of complex survey samples. Journal of Statistical
       Software, 9(8) (``svyrecvar``: linearization with raking residuals).
    """
    info = design.stage_info(0)
    if not info.identity or design.replicates is not None or len(design.calibrations) > 1:
        raise ValueError("batch_means needs a design without clusters or replicates and at most one calibration")
    n, m = y.shape
    d_n = ndomain
    w = design.weights
    ok = ~np.isnan(y) & (domain >= 0)[:, None]
    wok = np.where(ok, w[:, None], 0.0)
    yz = np.where(ok, y, 0.0)
    dm = _onehot(domain, d_n)
    wsum = np.asarray(dm @ wok)
    theta = np.divide(np.asarray(dm @ (wok * yz)), wsum, out=np.full_like(wsum, np.nan), where=wsum > 0)
    dz = np.where(domain >= 0, domain, 0)
    th_row = np.nan_to_num(theta[dz])
    wsafe = wsum[dz]
    resid = np.where(ok, yz - th_row, 0.0)
    z = np.divide(wok * resid, wsafe, out=np.zeros_like(resid), where=wsafe > 0)
    if small_sample:
        # Bias-reduced linearization: each respondent's influence divided by sqrt(1 - h), h its
        # share of the domain's weight (its leverage on the domain mean).
        h = np.divide(wok, wsafe, out=np.zeros_like(wok), where=wsafe > 0)
        z = z / np.sqrt(np.where(h < 1, 1 - h, 1.0))
    h = info.stratum_of_row
    nh = info.nstrat
    hd = _onehot(np.where(domain >= 0, h * d_n + domain, -1), nh * d_n)
    s1 = np.asarray(hd @ z).reshape(nh, d_n, m)
    s2 = np.asarray(hd @ (z * z)).reshape(nh, d_n, m)
    if design.calibrations:
        cal = design.calibration_cells()
        w0 = cal.w0
        w0_safe = np.where(w0 == 0, 1.0, w0)
        v = z if cal.kind == "poststratify" else z / w0_safe[:, None]
        v[w0 == 0] = 0.0
        cd = _onehot(np.where(domain >= 0, cal.cell * d_n + domain, -1), cal.ncell * d_n)
        sums = np.asarray(cd @ v).reshape(cal.ncell, d_n * m)
        if cal.kind == "poststratify":
            a = cal.correction_from_sums(sums)
        else:
            a = _rake_correction(cal, sums)
        w0h, w0sqh = (sp.csr_matrix(x) for x in design.calibration_stratum_sums())
        a3 = a.reshape(cal.ncell, d_n, m)
        cross_rows = z * w0[:, None] * a3[cal.cell, dz]
        cross = np.asarray(hd @ cross_rows).reshape(nh, d_n, m)
        s1 = s1 - np.asarray(w0h @ a).reshape(nh, d_n, m)
        s2 = s2 - 2 * cross + np.asarray(w0sqh @ (a * a)).reshape(nh, d_n, m)
    n_h = info.n_h[:, None, None]
    lonely = (info.n_h == 1) & ~info.self_rep
    if lonely.any() and design.lonely_psu == "fail":
        raise ValueError(f"{int(lonely.sum())} strata have only one respondent: use lonely_psu='adjust'")
    centered = s2 - s1 * s1 / n_h
    if design.lonely_psu == "adjust":
        centered[lonely] = s2[lonely]
    scale = np.where(info.self_rep, 0.0, info.scale_h)
    var = np.maximum(np.einsum("h,hdm->dm", scale, centered), 0.0)
    okf = ok.astype(np.float64)
    nrow = np.asarray(dm @ okf)
    nobs = nrow if design.all_weights_positive else np.asarray(dm @ (okf * (w != 0)[:, None]))
    strata_present = (np.asarray(hd @ okf).reshape(nh, d_n, m) > 0).sum(axis=0)
    ss = np.asarray(dm @ (wok * resid * resid))
    with np.errstate(invalid="ignore", divide="ignore"):
        s2w = ss / wsum * nobs / (nobs - 1)
        fpc = np.where(wsum > nobs * (1 + 1e-6), (wsum - nobs) / wsum, 1.0)
        vsrs = s2w * fpc / nobs
        deff = np.where((nobs > 1) & (vsrs > 0), var / vsrs, np.nan)
    return {"estimate": theta, "var": var, "n": nobs.astype(np.int64), "df": (nrow - strata_present).astype(np.int64),
            "deff": deff}


def rake_wave(design: Design, frame: pd.DataFrame, margins: Mapping[str, Mapping[str, float]], wave: str = "",
              *, max_iter: int = 100) -> Design:
    """Rake one wave to the population margins.

    A missing weighting variable is given the wave's most common (weighted) category.
    """
    data: dict[str, np.ndarray] = {}
    for var in margins:
        if var not in frame.columns:
            raise ValueError(f"target variable {var!r} is not a column of the export")
        s = frame[var]
        miss = s.isna().to_numpy()
        vals = s.astype(object).where(~miss, None).map(str, na_action="ignore").to_numpy(dtype=object)
        if miss.any():
            present = pd.Series(design.weights[~miss]).groupby(vals[~miss]).sum()
            if present.empty:
                raise ValueError(f"wave {wave!r}: nobody answered {var!r}; cannot rake to it")
            vals[miss] = present.idxmax()
        data[var] = vals
    try:
        return design.rake({v: dict(c) for v, c in margins.items()}, data=data, max_iter=max_iter)
    except ValueError as exc:
        raise ValueError(f"wave {wave!r}: {exc}" if wave else str(exc)) from None


def _t(level: float, df: np.ndarray) -> np.ndarray:
    return special.stdtrit(np.maximum(df, 1), 0.5 + level / 2)


#: The values of the ``interval`` column of the estimates, and what each means.
INTERVALS = {
    "t": "estimate ± t(df) × SE",
    "wilson": "Wilson score interval of a proportion strictly between 0 and 1, on its effective sample size "
              "(Korn-Graubard's df adjustment)",
    "korn-graubard": "Korn-Graubard (Clopper-Pearson with the effective sample size): the proportion is exactly "
                     "0 or 1, where the variance is 0 and the Wilson interval on the effective sample size does "
                     "not exist",
    "no answers": "nobody in this domain answered in this wave: no estimate",
}


def intervals(est: np.ndarray, se: np.ndarray, df: np.ndarray, n: np.ndarray, proportion: np.ndarray,
              level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The interval of every estimate and the name of its method (a key of :data:`INTERVALS`).

    Means and scores: :math:`\hat\theta \pm t_{df}\,SE` on the estimate's own df.
    Proportions strictly between 0 and 1: :func:`analysis.estimate.ci_wilson` on the effective
    sample size; exactly 0 or 1: :func:`analysis.estimate.ci_korn_graubard`. NaN estimates (no
    answers) get NaN bounds and "no answers".
    """
    q = _t(level, df)
    lo, hi = est - q * se, est + q * se
    inside = proportion & (est > 0) & (est < 1)
    wlo, whi = ci_wilson(np.where(inside, est, 0.5), np.where(inside, se, 0.1), level, df, n)
    lo, hi = np.where(inside, wlo, lo), np.where(inside, whi, hi)
    edge = proportion & ~inside & ~np.isnan(est)
    for i in np.flatnonzero(edge):
        lo[i], hi[i] = ci_korn_graubard(float(est[i]), float(se[i]), level, float(df[i]), int(n[i]))
    method = np.where(np.isnan(est), "no answers", np.where(inside, "wilson", np.where(edge, "korn-graubard", "t")))
    return lo, hi, method.astype(object)


def _asked(values: np.ndarray, masks: Mapping[str, np.ndarray]) -> list[str]:
    """Waves in which nobody answered this column."""
    return [w for w, m in masks.items() if np.isnan(values[m]).all()]


def wave_tables(
    frame: pd.DataFrame,
    codebook: Codebook,
    *,
    waves: Sequence[str] | None = None,
    breakdowns: Sequence[str] | None = ("district",),
    rake: bool | None = None,
    level: float = 0.95,
    min_n: int = 10,
    alpha: float = 0.05,
    exclude: Mapping[str, str] | None = None,
    progress: bool | Progress = False,
    max_iter: int = 100,
    small_sample: bool = True,
) -> WaveTables:
    r"""Estimates per wave of every index and item (overall and per domain) and their changes.

    The one engine behind the report, the staff console, the public results and ``python -m
    analysis compare``.

    Parameters
    ----------
    frame, codebook
        An export as :func:`analysis.io.read_export` (or :func:`analysis.io.export_frame`) gives it.
    waves : sequence of str, optional
        Only these waves (default: every wave of the codebook that has responses), in the
        codebook's order.
    breakdowns : sequence of str, optional
        Columns to estimate domains of (default ``("district",)``); columns not in the export are
        skipped.
    rake : bool, optional
        Rake each wave to the codebook's population targets; None (default) rakes when it has any.
    level : float
        Confidence level of every interval (default 0.95).
    min_n : int
        A change whose smaller wave has fewer respondents than this gets no p-value (``too_few``).
    alpha : float
        An adjusted p below this is "detectable"; also the level the adjusted intervals agree with.
    exclude : mapping of str to str, optional
        Item or index keys that may not be compared, with the reason (e.g. wording changed between
        the waves' questionnaire versions): their estimates stay, their changes are marked not
        comparable with that reason -- only the changes involving a wave without answers when the
        measure has answers in some waves and not others (an item not asked in one version).
    progress : bool or Progress
        Show progress on standard error.
    max_iter : int
        Raking sweeps per wave before giving up; the error then names the category, its target
        and the weight of the respondent that cannot be reconciled.
    small_sample : bool
        Bias-reduced linearization (default True, see :func:`batch_means`) so that small domains'
        intervals cover as they say (``bench/bench_coverage.py``); False gives R's ``svymean``
        standard errors exactly.

    Returns
    -------
    WaveTables
        ``estimates`` (one row per measure x breakdown x domain x wave, with the ``interval``
        method), ``changes`` (first to last, steps, trend; Holm and BH with the intervals that
        agree with them), ``not_compared`` and ``weights``; see :class:`WaveTables`.

    Notes
    -----
    Each wave is its own design (strata = its districts, base weights, raked on its own), so
    wave estimates are independent. A change is :func:`analysis.changes.wave_change`:
    :math:`\hat\theta_b-\hat\theta_a` with variance :math:`v_a+v_b` and Welch-Satterthwaite df
    :math:`(v_a+v_b)^2/(v_a^2/\nu_a+v_b^2/\nu_b)` from each estimate's own df :math:`\nu` (the
    respondents who answered in the domain minus their strata). The trend is
    :func:`analysis.changes.linear_trend`, the least-squares slope through the wave estimates
    :math:`\sum_k c_k\hat\theta_k`, :math:`c_k=(k-\bar k)/\sum_j(j-\bar k)^2`, variance
    :math:`\sum_k c_k^2 v_k` (raking included through each :math:`v_k`). Holm and
    Benjamini-Hochberg adjustments (:func:`analysis.changes.holm_bh`) run within each family:
    one comparison type, one breakdown, indexes or items; :func:`analysis.changes.adjusted_level`
    gives the intervals beside them. A measure nobody answered in a wave keeps its estimates in
    the other waves; only the changes involving that wave are marked not comparable. A domain
    nobody in it answered keeps its rows, marked "no answers".

    References
    ----------
    .. [1] Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley (domains 2.3,
       raking 7.4, contrasts 5.2).
    .. [2] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. Biometrics Bulletin, 2(6), 110-114.
    .. [3] Bell, R. M., & McCaffrey, D. F. (2002). Bias reduction in standard errors for linear
       regression with multi-stage samples. Survey Methodology, 28(2), 169-181.
    .. [4] Holm, S. (1979); Benjamini, Y., & Hochberg, Y. (1995): see :func:`analysis.changes.holm_bh`.
    """
    order = [w for w in codebook.wave_order if (waves is None or w in waves) and (frame["wave"] == w).any()]
    if not order:
        raise ValueError("none of the chosen waves has responses")
    frame = frame[frame["wave"].isin(order)].reset_index(drop=True)
    margins = codebook.target_margins()
    if rake is None:
        rake = bool(margins) and all(v in frame.columns for v in margins)
    elif rake and not margins:
        raise ValueError("the codebook has no population targets to rake to: add targets or do not ask for raking")
    breakdowns = [b for b in (breakdowns or []) if b in frame.columns]
    wave_col = frame["wave"].astype(str).to_numpy(dtype=object)
    exclude = dict(exclude or {})
    masks = {w: wave_col == w for w in order}
    reasons: dict[str, str] = {}
    gaps: dict[str, list[str]] = {}
    keep = []
    for ms in measures(frame, codebook):
        key = ms["measure"]
        missing = _asked(ms["values"], masks)
        if len(missing) == len(order):
            continue  # nobody answered it in any of these waves: nothing to show
        keep.append(ms)
        _note_gaps(key, missing, len(order), exclude, gaps, reasons)
    not_compared = _not_compared(reasons, {ms["measure"]: ms["kind"] for ms in keep})
    mtable = pd.DataFrame([{k: ms[k] for k in ("measure", "kind", "scale", "category")} for ms in keep])
    if mtable.empty:
        raise ValueError("nobody answered any index or item in these waves")
    mtable["mi"] = np.arange(len(mtable))
    y_all = np.column_stack([ms["values"] for ms in keep])
    domains: dict[str, list[str]] = {}
    codes_by: dict[str, np.ndarray] = {}
    for b in breakdowns:
        domains[b], codes_by[b] = _domain_labels(frame[b], codebook, b)
    breakdowns = [b for b in breakdowns if domains[b]]  # a breakdown nobody answered has no domains
    domains = {b: domains[b] for b in breakdowns}
    bar = progress if isinstance(progress, Progress) else Progress(len(order), "estimates", enabled=bool(progress))
    nm = len(mtable)
    groups: list[tuple[str | None, list[Any]]] = [(None, [None]), *[(b, domains[b]) for b in breakdowns]]
    # results[g][stat] has shape (waves, domains, measures); NaN where a wave has no answers.
    results: list[dict[str, np.ndarray]] = [
        {k: np.full((len(order), len(labels), nm), np.nan) for k in ("estimate", "var", "df", "deff", "n")}
        for _b, labels in groups]
    weight_rows = []
    for wi, w in enumerate(order):
        mask = masks[w]
        fw = frame[mask].reset_index(drop=True)
        design = build_design(fw)
        if rake:
            design = rake_wave(design, fw, margins, w, max_iter=max_iter)
        weight_rows.append({"wave": w, "n": int(mask.sum()), "weights_sum": float(design.weights.sum()),
                            "kish_deff": kish_deff(design.weights), "effective_n": effective_sample_size(design.weights),
                            "degf": int(design.degf)})
        yw = y_all[mask]
        for gi, (b, labels) in enumerate(groups):
            dom = np.zeros(len(fw), dtype=np.int64) if b is None else codes_by[b][mask]
            r = batch_means(design, yw, dom, len(labels), small_sample=small_sample)
            out = results[gi]
            none = r["n"] == 0
            out["estimate"][wi] = np.where(none, np.nan, r["estimate"])
            out["var"][wi] = np.where(none, np.nan, r["var"])
            out["df"][wi] = r["df"]
            out["deff"][wi] = r["deff"]
            out["n"][wi] = r["n"]
        bar.step()
    if not isinstance(progress, Progress):
        bar.close()
    weights = pd.DataFrame(weight_rows)
    return _assemble(order, "raked" if rake else "base", mtable, groups, results, weights, not_compared,
                     list(breakdowns), domains, level=level, min_n=min_n, alpha=alpha, exclude=exclude, gaps=gaps)


def _note_gaps(measure: str, missing: list[str], n_waves: int, exclude: Mapping[str, str],
               gaps: dict[str, list[str]], reasons: dict[str, str]) -> None:
    """Record the waves in which nobody answered ``measure`` and why its changes are (partly) not made."""
    if missing and n_waves > 1:
        gaps[measure] = missing
    if measure in exclude:
        reasons.setdefault(measure, exclude[measure])
    elif missing and n_waves > 1:
        reasons.setdefault(measure, "no answers in " + ", ".join(missing) + ": changes involving "
                           + ("that wave" if len(missing) == 1 else "those waves") + " are not made")


def _not_compared(reasons: Mapping[str, str], kinds: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"measure": k, "kind": kinds[k], "reason": r} for k, r in reasons.items()],
                        columns=["measure", "kind", "reason"])


def _assemble(order: list[str], weighting: str, mtable: pd.DataFrame, groups: list[tuple[str | None, list[Any]]],
              results: list[dict[str, np.ndarray]], weights: pd.DataFrame, not_compared: pd.DataFrame,
              breakdowns: list[str], domains: dict[str, list[str]], *, level: float, min_n: int, alpha: float,
              exclude: Mapping[str, str], gaps: Mapping[str, list[str]]) -> WaveTables:
    """Estimates, intervals, changes and adjustments from the per-wave arrays (waves x domains x
    measures of estimate, var, df, deff, n): the one place both :func:`wave_tables` and
    :func:`combine_wave_tables` make them."""
    proportion = (mtable["scale"] == "proportion").to_numpy()
    nm = len(mtable)
    est_parts, change_parts = [], []
    for (b, labels), r in zip(groups, results, strict=True):
        nw, nd = len(order), len(labels)
        shape = (nw, nd, nm)
        n = np.nan_to_num(r["n"]).astype(np.int64)
        se = np.sqrt(r["var"])
        prop = np.broadcast_to(proportion, shape)
        lo, hi, method = intervals(r["estimate"].ravel(), se.ravel(), np.nan_to_num(r["df"]).ravel(), n.ravel(),
                                    prop.ravel(), level)
        est_parts.append(pd.DataFrame({
            "mi": np.broadcast_to(np.arange(nm), shape).ravel(), "by": b,
            "domain": np.broadcast_to(np.array(labels, dtype=object)[None, :, None], shape).ravel(),
            "wave": np.broadcast_to(np.array(order, dtype=object)[:, None, None], shape).ravel(),
            "estimate": r["estimate"].ravel(), "se": se.ravel(), "ci_low": lo, "ci_high": hi, "interval": method,
            "df": np.nan_to_num(r["df"]).ravel().astype(np.int64), "deff": r["deff"].ravel(), "n": n.ravel()}))
        if nw >= 2:
            change_parts.append(_changes(r, n, order, b, labels, nm, level))
    estimates = pd.concat(est_parts, ignore_index=True).merge(mtable, on="mi", how="left")[ESTIMATE_COLUMNS]
    if change_parts:
        changes = pd.concat(change_parts, ignore_index=True).merge(mtable, on="mi", how="left")
        changes = _adjust(changes, min_n, alpha, level, exclude, gaps)[CHANGE_COLUMNS]
    else:
        changes = pd.DataFrame(columns=CHANGE_COLUMNS)
    return WaveTables(order, weighting, mtable, estimates, changes, not_compared, weights,
                      breakdowns, domains, level, min_n, alpha)


def _merged_order(sequences: Sequence[Sequence[Any]]) -> list[Any]:
    """One order holding every key of ``sequences``, each of which it keeps (a key new to the
    order goes right after the key before it in its own sequence)."""
    merged: list[Any] = []
    for seq in sequences:
        for k, key in enumerate(seq):
            if key in merged:
                continue
            before = next((seq[j] for j in range(k - 1, -1, -1) if seq[j] in merged), None)
            merged.insert(0 if before is None else merged.index(before) + 1, key)
    return merged


def combine_wave_tables(
    parts: Sequence[WaveTables],
    codebook: Codebook,
    *,
    breakdowns: Sequence[str] | None = None,
    exclude: Mapping[str, str] | None = None,
    min_n: int = 10,
    alpha: float = 0.05,
) -> WaveTables:
    """The tables of several waves put together from each wave's own :func:`wave_tables`.

    Waves are independent designs, so a wave's estimates do not depend on the other waves: an
    application can compute each wave once (a closed wave never changes), keep it, and recompute
    only a wave still collecting answers. This gives the same tables as :func:`wave_tables` on all
    the waves at once (the tests check): the per-wave estimates go into the same arrays, and the
    changes, trends and Holm/BH adjustments are made from them by the same code.

    Parameters
    ----------
    parts : sequence of WaveTables
        One wave each (any order), made by :func:`wave_tables` with ``waves=[w]`` and the same
        level and weighting.
    codebook : Codebook
        The codebook of all of them (its wave order is kept).
    breakdowns : sequence of str, optional
        A subset of the parts' breakdowns (default: all of them).
    exclude, min_n, alpha
        As for :func:`wave_tables`.

    Returns
    -------
    WaveTables

    Examples
    --------
    >>> parts = [wave_tables(frame[frame.wave == w], codebook, waves=[w]) for w in codebook.wave_order]  # doctest: +SKIP
    >>> tables = combine_wave_tables(parts, codebook)  # doctest: +SKIP
    """
    by_wave: dict[str, WaveTables] = {}
    for part in parts:
        if len(part.waves) != 1:
            raise ValueError(f"each part must hold one wave, not {len(part.waves)}: call wave_tables(..., waves=[w])")
        by_wave[part.waves[0]] = part
    order = [w for w in codebook.wave_order if w in by_wave]
    order += [w for w in by_wave if w not in order]
    if not order:
        raise ValueError("none of the chosen waves has responses")
    if len({p.level for p in by_wave.values()}) > 1 or len({p.weighting for p in by_wave.values()}) > 1:
        raise ValueError("the parts were made with different confidence levels or weighting: make them alike")
    first = by_wave[order[0]]
    level, weighting = first.level, first.weighting
    available = [b for b in GROUP_VARIABLES + tuple(b for p in by_wave.values() for b in p.breakdowns)
                 if any(b in p.breakdowns for p in by_wave.values())]
    available = list(dict.fromkeys(available))
    chosen = [b for b in (available if breakdowns is None else breakdowns) if b in available]
    # Measures, keyed by (measure, category), in the order the export gives them.
    rows: dict[tuple[str, Any], dict[str, Any]] = {}
    sequences = []
    for w in order:
        seq = []
        for r in by_wave[w].measures.itertuples(index=False):
            key = (r.measure, r.category if isinstance(r.category, str) else None)
            rows.setdefault(key, {"measure": r.measure, "kind": r.kind, "scale": r.scale, "category": r.category})
            seq.append(key)
        sequences.append(seq)
    keys = _merged_order(sequences)
    exclude = dict(exclude or {})
    answered = {w: set(by_wave[w].estimates.loc[by_wave[w].estimates["by"].isna()
                                                & by_wave[w].estimates["n"].gt(0), "measure"]) for w in order}
    reasons: dict[str, str] = {}
    gaps: dict[str, list[str]] = {}
    for measure, _cat in keys:
        _note_gaps(measure, [w for w in order if measure not in answered[w]], len(order), exclude, gaps, reasons)
    not_compared = _not_compared(reasons, {m: row["kind"] for (m, _c), row in rows.items()})
    mtable = pd.DataFrame([rows[key] for key in keys])
    mtable["mi"] = np.arange(len(mtable))
    mi_of = {key: i for i, key in enumerate(keys)}
    nm = len(mtable)
    wave_index = {w: i for i, w in enumerate(order)}
    pieces = []
    for w in order:
        e = by_wave[w].estimates
        e = e[e["by"].isna() | e["by"].isin(chosen)]
        mi = np.fromiter((mi_of[(m, c if isinstance(c, str) else None)]
                          for m, c in zip(e["measure"].to_numpy(dtype=object), e["category"].to_numpy(dtype=object),
                                          strict=True)), dtype=np.int64, count=len(e))
        pieces.append(e.assign(mi=mi))
    allest = pd.concat(pieces, ignore_index=True)
    domains: dict[str, list[str]] = {}
    for b in chosen:
        present = allest.loc[allest["by"] == b, "domain"].drop_duplicates()
        domains[b] = _domain_labels(present.reset_index(drop=True), codebook, b)[0]
    chosen = [b for b in chosen if domains[b]]
    domains = {b: domains[b] for b in chosen}
    weights = pd.concat([by_wave[w].weights for w in order], ignore_index=True)
    groups: list[tuple[str | None, list[Any]]] = [(None, [None]), *[(b, domains[b]) for b in chosen]]
    results = []
    for b, labels in groups:
        sel = allest[allest["by"].isna()] if b is None else allest[allest["by"] == b]
        dindex = {d: k for k, d in enumerate(labels)}
        di = np.zeros(len(sel), dtype=np.int64) if b is None else sel["domain"].map(dindex).to_numpy(dtype=np.int64)
        wi = sel["wave"].map(wave_index).to_numpy(dtype=np.int64)
        mi = sel["mi"].to_numpy(dtype=np.int64)
        shape = (len(order), len(labels), nm)
        r = {k: np.full(shape, np.nan) for k in ("estimate", "var", "df", "deff", "n")}
        r["estimate"][wi, di, mi] = sel["estimate"].to_numpy(dtype=np.float64)
        r["var"][wi, di, mi] = sel["se"].to_numpy(dtype=np.float64) ** 2
        r["df"][wi, di, mi] = sel["df"].to_numpy(dtype=np.float64)
        r["deff"][wi, di, mi] = sel["deff"].to_numpy(dtype=np.float64)
        r["n"][wi, di, mi] = sel["n"].to_numpy(dtype=np.float64)
        results.append(r)
    return _assemble(order, weighting, mtable, groups, results, weights, not_compared, chosen, domains,
                     level=level, min_n=min_n, alpha=alpha, exclude=exclude, gaps=gaps)

def _changes(r: dict[str, np.ndarray], n: np.ndarray, order: list[str], by: str | None,
             labels: list[Any], nm: int, level: float) -> pd.DataFrame:
    """Last wave minus first, each wave minus the one before, and the linear trend per wave."""
    est, var, df = r["estimate"], r["var"], np.nan_to_num(r["df"])
    nw, nd = est.shape[0], est.shape[1]
    pieces = []
    pairs = [("first_last", 0, nw - 1)] + ([("step", i, i + 1) for i in range(nw - 1)] if nw > 2 else [])
    for kind, i, j in pairs:
        c = wave_change(est[i], var[i], df[i], est[j], var[j], df[j], level=level)
        pieces.append({"comparison": kind, "wave_from": order[i], "wave_to": order[j], "estimate_from": est[i],
                       "estimate_to": est[j], "difference": c["difference"], "se": c["se"], "df": c["df"],
                       "ci_low": c["ci_low"], "ci_high": c["ci_high"], "p_value": c["p_value"],
                       "n_from": n[i], "n_to": n[j], "waves": np.full((nd, nm), 2)})
    if nw > 2:
        tr = linear_trend(est, var, df, level=level)
        present = ~np.isnan(est)
        first = np.argmax(present, axis=0)
        last = nw - 1 - np.argmax(present[::-1], axis=0)
        take = np.take_along_axis
        pieces.append({"comparison": "trend", "wave_from": order[0], "wave_to": order[-1],
                       "estimate_from": take(est, first[None], 0)[0], "estimate_to": take(est, last[None], 0)[0],
                       "difference": tr["slope"], "se": tr["se"], "df": tr["df"], "ci_low": tr["ci_low"],
                       "ci_high": tr["ci_high"], "p_value": tr["p_value"],
                       "n_from": take(n, first[None], 0)[0], "n_to": take(n, last[None], 0)[0], "waves": tr["waves"]})
    frames = []
    dom = np.broadcast_to(np.array(labels, dtype=object)[:, None], (nd, nm)).ravel()
    mi = np.broadcast_to(np.arange(nm), (nd, nm)).ravel()
    for pc in pieces:
        cols = {k: (v.ravel() if isinstance(v, np.ndarray) else v) for k, v in pc.items()}
        frames.append(pd.DataFrame({"mi": mi, "by": by, "domain": dom, **cols}))
    return pd.concat(frames, ignore_index=True)


def _notes(ch: pd.DataFrame, exclude: Mapping[str, str], gaps: Mapping[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Whether each change can be made, and if not (or only in part) why, in words."""
    comparable = np.ones(len(ch), dtype=bool)
    notes = np.full(len(ch), "", dtype=object)
    measure = ch["measure"].to_numpy(dtype=object)
    trend = (ch["comparison"] == "trend").to_numpy()
    ef, et = ch["estimate_from"].to_numpy(dtype=np.float64), ch["estimate_to"].to_numpy(dtype=np.float64)
    whole = ch["measure"].isin([k for k in exclude if k not in gaps]).to_numpy()
    comparable[whole] = False
    notes[whole] = ["not comparable: " + exclude[m] for m in measure[whole]]
    short = trend & ~whole & (ch["waves"].to_numpy() < 3)
    comparable[short] = False
    notes[short] = "not comparable: fewer than three waves with answers"
    partial = trend & ~whole & ~short & ch["measure"].isin(list(gaps)).to_numpy()
    notes[partial] = ["trend over the waves with answers (none in " + ", ".join(gaps[m]) + ")" for m in measure[partial]]
    wf, wt = ch["wave_from"].to_numpy(dtype=object), ch["wave_to"].to_numpy(dtype=object)
    for i in np.flatnonzero(~trend & ~whole & (np.isnan(ef) | np.isnan(et))):
        missing = [w for w, v in ((wf[i], ef[i]), (wt[i], et[i])) if np.isnan(v)]
        asked = not set(missing) & set(gaps.get(measure[i], ()))
        comparable[i] = False
        if asked:
            notes[i] = "not comparable: no answers in this domain in " + " and ".join(missing)
        elif measure[i] in exclude:
            notes[i] = f"not comparable: {exclude[measure[i]]}"
        else:
            notes[i] = "not comparable: not asked in " + " and ".join(missing)
    return comparable, notes


def _adjust(ch: pd.DataFrame, min_n: int, alpha: float, level: float, exclude: Mapping[str, str],
            gaps: Mapping[str, list[str]]) -> pd.DataFrame:
    """Notes, p-values, and Holm and BH within each family: one comparison type, breakdown, indexes or items;
    beside each adjusted p-value the interval at the level that agrees with it."""
    comparable, notes = _notes(ch, exclude, gaps)
    ch["comparable"], ch["note"] = comparable, notes
    ch["too_few"] = comparable & (np.minimum(ch["n_from"], ch["n_to"]) < min_n).to_numpy()
    ch.loc[ch["too_few"], "note"] = f"too few responses to compare (fewer than {min_n})"
    ch["p_value"] = np.where(ch["too_few"] | ~ch["comparable"], np.nan, ch["p_value"].to_numpy(dtype=np.float64))
    for col in ("difference", "se", "df", "ci_low", "ci_high"):
        ch[col] = np.where(ch["comparable"], ch[col].to_numpy(dtype=np.float64), np.nan)
    ch["family"] = (ch["comparison"] + "|" + ch["by"].fillna("") + "|"
                    + np.where(ch["kind"] == "index", "index", "item"))
    pv = ch["p_value"].to_numpy(dtype=np.float64)
    out = {k: np.full(len(ch), np.nan) for k in ("p_holm", "p_bh", "level_holm", "level_bh")}
    for idx in ch.groupby("family").indices.values():
        out["p_holm"][idx], out["p_bh"][idx] = holm_bh(pv[idx])
        out["level_holm"][idx] = adjusted_level(pv[idx], out["p_holm"][idx], alpha)
        out["level_bh"][idx] = adjusted_level(pv[idx], out["p_bh"][idx], alpha)
    diff, se, df = (ch[c].to_numpy(dtype=np.float64) for c in ("difference", "se", "df"))
    for k in ("holm", "bh"):
        ch[f"p_{k}"], ch[f"level_{k}"] = out[f"p_{k}"], out[f"level_{k}"]
        q = special.stdtrit(np.maximum(np.nan_to_num(df, nan=1.0), 1), 0.5 + out[f"level_{k}"] / 2)
        ch[f"ci_low_{k}"], ch[f"ci_high_{k}"] = diff - q * se, diff + q * se
    ch["detectable"] = (ch["p_holm"] < alpha) & ~ch["too_few"] & ch["comparable"]
    return ch


def points(scale: str) -> float:
    """The factor that shows an estimate in points: proportions as percentages, others as they are."""
    return 100.0 if scale == "proportion" else 1.0


def describe_change(row: Mapping[str, Any], label: str, *, level: float = 0.95, alpha: float = 0.05) -> str:
    """One plain English sentence about a change, e.g. "Trust score rose 4.1 points (95% CI 1.2 to
    7.0) from 2025-q4 to 2026-q3; this change is larger than chance would explain."
    """
    k = points(str(row["scale"]))
    unit = "percentage points" if row["scale"] == "proportion" else "points"
    pct = int(round(level * 100))
    span = f"from {row['wave_from']} to {row['wave_to']}"
    if not row.get("comparable", True):
        return f"{label}, {span}: {row['note']}."
    if row["too_few"]:
        return f"{label}: too few responses to compare {span} (n = {row['n_from']} and {row['n_to']})."
    diff, lo, hi = row["difference"] * k, row["ci_low"] * k, row["ci_high"] * k
    per = " per wave" if row["comparison"] == "trend" else ""
    ci = f"{pct}% CI {lo:.1f} to {hi:.1f}"
    if row["detectable"]:
        verb = "rose" if diff > 0 else "fell"
        return (f"{label} {verb} {abs(diff):.1f} {unit}{per} {span} ({ci}); "
                "this change is larger than chance would explain.")
    adjusted = ""
    if lo * hi > 0 and not np.isnan(row.get("ci_low_holm", np.nan)):
        # The plain interval excludes 0 but the Holm-adjusted test does not call it: show the
        # interval that agrees with the verdict too.
        adjusted = (f"; Holm-adjusted {100 * row['level_holm']:.1f}% CI {row['ci_low_holm'] * k:.1f} to "
                    f"{row['ci_high_holm'] * k:.1f}")
    return f"{label}: no detectable change {span} ({diff:+.1f} {unit}{per}, {ci}{adjusted})."
