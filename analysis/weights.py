"""Survey weights: base weights, nonresponse adjustment, post-stratification, raking, trimming and diagnostics.

Raking works on the table of cells (every combination of the margins' categories)
rather than on respondents: all respondents in a cell get the same adjustment factor,
so raking the cell table and mapping the factors back is exactly raking the rows, and
a million respondents rake in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._util import as_mapping, as_weights, code_categories, column, n_rows

__all__ = [
    "RakeResult",
    "base_weights",
    "nonresponse_adjust",
    "poststratify",
    "rake",
    "rake_cells",
    "trim",
    "trim_and_rake",
    "weight_diagnostics",
    "kish_deff",
    "effective_sample_size",
    "margin_fit",
]

#: Margins whose population totals differ by more than this relative amount cannot all be met.
TOTAL_RTOL = 1e-6


@dataclass
class RakeResult:
    """Everything raking produced, kept so the variance can account for it.

    Attributes
    ----------
    weights : final weights, input order.
    margins : names of the margins in the order they were raked.
    codes : per margin, the category code of every row.
    categories : per margin, the list of categories (code order).
    sweeps : number of full sweeps over the margins that were run.
    step_weights : per margin, the weights right after that margin was adjusted in the
        last sweep (R's ``attr(margin, "weights")``), used for calibration residuals.
    converged : whether the tolerance was met.
    """

    weights: np.ndarray
    margins: list[str]
    codes: list[np.ndarray]
    categories: list[list[Any]]
    sweeps: int
    step_weights: list[np.ndarray] = field(repr=False)
    converged: bool = True
    replicate_weights: np.ndarray | None = field(default=None, repr=False)


def base_weights(probabilities: Any) -> np.ndarray:
    """Base (design) weights as inverse selection probabilities, :math:`d_i = 1/\\pi_i`.

    Parameters
    ----------
    probabilities : array of selection probabilities, each in (0, 1].

    Examples
    --------
    >>> base_weights([0.5, 0.25]).tolist()
    [2.0, 4.0]
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("probabilities must be a 1-d array")
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p > 1):
        raise ValueError(
            "selection probabilities must be in (0, 1]: a respondent with probability 0 cannot "
            "have been sampled; fix or drop those rows"
        )
    return 1.0 / p


def nonresponse_adjust(weights: Any, responded: Any, cells: Any | None = None) -> np.ndarray:
    """Weighting-class nonresponse adjustment.

    Within each cell :math:`c`, respondents' weights are multiplied by
    :math:`\\sum_{i\\in c} d_i / \\sum_{i\\in c,\\,r_i=1} d_i` and nonrespondents get weight 0,
    so each cell keeps its weighted total. Assumes responding is at random within cells.

    Parameters
    ----------
    weights : base weights of everyone sampled (respondents and nonrespondents).
    responded : boolean array, True for respondents.
    cells : adjustment cell of every sampled unit (one cell when None).

    Examples
    --------
    >>> nonresponse_adjust([1, 1, 1, 1], [True, True, False, True], ["a", "a", "a", "b"]).tolist()
    [1.5, 1.5, 0.0, 1.0]
    """
    r = np.asarray(responded, dtype=bool)
    w = as_weights(weights, r.shape[0])
    if cells is None:
        codes = np.zeros(r.shape[0], dtype=np.int64)
        labels: list[Any] = ["all"]
    else:
        codes, uniques = pd.factorize(pd.Series(np.asarray(cells, dtype=object)), sort=True)
        if (codes < 0).any():
            raise ValueError("cells has missing values: give every sampled unit an adjustment cell")
        labels = list(uniques)
    k = len(labels)
    total = np.bincount(codes, weights=w, minlength=k)
    resp = np.bincount(codes, weights=w * r, minlength=k)
    empty = (resp <= 0) & (total > 0)
    if empty.any():
        raise ValueError(
            f"nonresponse cells {[labels[i] for i in np.flatnonzero(empty)][:10]} have no respondents: "
            "collapse them with a neighboring cell"
        )
    factor = np.divide(total, resp, out=np.ones(k), where=resp > 0)
    return np.where(r, w * factor[codes], 0.0)


def _margin_codes(data: Any, targets: dict[str, dict[Any, float]]):
    names, codes, cats, tots = [], [], [], []
    for name, cat_totals in targets.items():
        values = column(data, name)
        cats_k = list(cat_totals.keys())
        codes.append(code_categories(values, cats_k, name))
        names.append(name)
        cats.append(cats_k)
        tots.append(np.array([cat_totals[c] for c in cats_k], dtype=np.float64))
    return names, codes, cats, tots


def _check_totals(names: list[str], tots: list[np.ndarray]) -> None:
    sums = [float(t.sum()) for t in tots]
    ref = sums[0]
    for name, s in zip(names, sums, strict=True):
        if ref <= 0 or s <= 0:
            raise ValueError(f"margin {name!r} has a population total of 0: give positive targets")
        if abs(s - ref) > TOTAL_RTOL * max(abs(ref), abs(s)):
            raise ValueError(
                f"margin {name!r} sums to {s:.10g} but margin {names[0]!r} sums to {ref:.10g}: "
                "raking needs every margin to describe the same population total; rescale the "
                "targets (e.g. to proportions of one total) or fix the census table"
            )


def _cell_index(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, tuple[int, ...], np.ndarray | None]:
    """Combine margin codes into one cell code. Returns (cell, shape, cell_to_full)."""
    n = codes[0].shape[0] if codes else 0
    full = int(np.prod(sizes, dtype=np.float64))
    if full <= max(4 * n, 1 << 16) and full < 50_000_000:
        cell = codes[0].astype(np.int64, copy=True) if codes else np.zeros(n, dtype=np.int64)
        for c, k in zip(codes[1:], sizes[1:], strict=True):
            np.multiply(cell, k, out=cell)
            np.add(cell, c, out=cell)
        return cell, tuple(sizes), None
    # Too many possible cells: keep only the ones that occur.
    combined = np.zeros(n, dtype=np.int64)
    for c, k in zip(codes, sizes, strict=True):
        combined = combined * k + c
    uniq, cell = np.unique(combined, return_inverse=True)
    return cell.astype(np.int64), (len(uniq),), uniq


def _cell_margin_index(shape, sizes, cell_to_full):
    """For the occupied-cells layout, per margin the category code of every cell."""
    full_codes = cell_to_full
    out = []
    for k in reversed(sizes):
        out.append(full_codes % k)
        full_codes = full_codes // k
    return list(reversed(out))


def rake_cells(
    table: np.ndarray,
    margin_codes: list[np.ndarray] | None,
    targets: list[np.ndarray],
    names: list[str],
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    sweeps: int | None = None,
) -> tuple[np.ndarray, int, bool, list[np.ndarray]]:
    """Iterative proportional fitting of a cell table (the engine behind :func:`rake`).

    ``table`` holds weighted counts; either it is an n-dimensional array with one axis per
    margin (``margin_codes`` None) or a 2-d array ``(replicates, cells)`` with
    ``margin_codes[k]`` giving the category of each cell for margin k. Leading extra axis
    (replicates) is allowed in both layouts: every replicate is raked separately, all
    with the same number of sweeps.

    Convergence (as R's ``rake``): stop after the first sweep in which no cell total
    changed by more than ``tol`` times the total weight. With ``sweeps`` given, run exactly
    that many sweeps. Returns ``(factors, sweeps, converged, step_factors)`` where
    ``factors`` multiply the initial cell weights and ``step_factors[k]`` is the factor
    right after margin k in the last sweep.
    """
    t0 = np.asarray(table, dtype=np.float64)
    t = t0.copy()
    nm = len(targets)
    step = [t for _ in range(nm)]
    has_reps = t0.ndim > nm if margin_codes is None else t0.ndim == 2
    main_total = float(t0[0].sum() if has_reps else t0.sum())
    eps = tol * main_total
    it = 0
    converged = False
    limit = sweeps if sweeps is not None else max_iter
    while it < limit:
        prev = t.copy()
        for k in range(nm):
            if margin_codes is None:
                lead = 1 if has_reps else 0
                axes = tuple(a for a in range(lead, t.ndim) if a != t.ndim - nm + k)
                cur = t.sum(axis=axes, keepdims=True)
                tgt_shape = [1] * t.ndim
                tgt_shape[t.ndim - nm + k] = -1
                tgt = targets[k].reshape(tgt_shape)
                ratio = np.divide(tgt, cur, out=np.zeros_like(cur), where=cur > 0)
                t = t * ratio
            else:
                mc = margin_codes[k]
                kcat = targets[k].shape[0]
                if t.ndim == 1:
                    cur = np.bincount(mc, weights=t, minlength=kcat)
                    ratio = np.divide(targets[k], cur, out=np.zeros_like(cur), where=cur > 0)
                    t = t * ratio[mc]
                else:
                    cur = np.stack([np.bincount(mc, weights=row, minlength=kcat) for row in t])
                    ratio = np.divide(targets[k][None, :], cur, out=np.zeros_like(cur), where=cur > 0)
                    t = t * ratio[:, mc]
            step[k] = t
        it += 1
        if sweeps is None:
            delta = np.abs(t[0] - prev[0]) if has_reps else np.abs(t - prev)
            if float(delta.max(initial=0.0)) < eps:
                converged = True
                break
    if sweeps is not None:
        converged = True
    factors = np.divide(t, t0, out=np.ones_like(t), where=t0 > 0)
    step_factors = [np.divide(s, t0, out=np.ones_like(s), where=t0 > 0) for s in step]
    return factors, it, converged, step_factors


def _no_convergence(names: list[str], codes: list[np.ndarray], cats: list[list[Any]], tots: list[np.ndarray],
                    w_now: np.ndarray, max_iter: int) -> str:
    """Why raking could not meet the margins, in words, and what to do.

    First the margins that cannot both be met: a category A of one margin all of whose
    respondents fall in categories of another margin whose targets add up to less than A's
    target (typically one respondent alone in a district, who must carry the district's whole
    target, in an age or group category with a smaller one). Otherwise the thinnest category:
    the one whose respondents must carry the most target each.
    """
    counts = [np.bincount(c, minlength=len(cat)) for c, cat in zip(codes, cats, strict=True)]
    advice = ("collapse that category with a neighboring one (in the data and the targets), drop that margin, "
              "or trim the weights")
    worst: tuple[float, str] | None = None
    for k, name in enumerate(names):
        for a in np.flatnonzero(counts[k] > 0):
            rows = codes[k] == a
            for j, other in enumerate(names):
                if j == k:
                    continue
                inside = np.unique(codes[j][rows])
                room = float(tots[j][inside].sum())
                need = float(tots[k][a])
                if need > room * (1 + 1e-9) + 1e-9:
                    excess = need - room
                    who = ("its only respondent" if counts[k][a] == 1 else f"its {counts[k][a]} respondents")
                    place = ", ".join(repr(str(cats[j][b])) for b in inside[:5])
                    text = (f"raking cannot meet the margins: {name!r} category {str(cats[k][a])!r} has a target of "
                            f"{need:,.0f}, which {who} must carry (weight now {w_now[rows].max():,.0f}"
                            f"{'' if counts[k][a] == 1 else ' at most'}), but {'that respondent is' if counts[k][a] == 1 else 'they are all'} "
                            f"in {other!r} {place}, whose target{'s add up to' if inside.size > 1 else ' is'} only "
                            f"{room:,.0f}; {advice}")
                    if worst is None or excess > worst[0]:
                        worst = (excess, text)
    if worst is not None:
        return worst[1]
    per = [(float(tots[k][a]) / counts[k][a], k, int(a)) for k in range(len(names))
           for a in np.flatnonzero(counts[k] > 0)]
    _load, k, a = max(per)
    rows = codes[k] == a
    who = "1 respondent" if counts[k][a] == 1 else f"{counts[k][a]} respondents"
    return (f"raking did not converge in {max_iter} sweeps: {names[k]!r} category {str(cats[k][a])!r} has {who} "
            f"to carry a target of {float(tots[k][a]):,.0f} (largest weight now {w_now[rows].max():,.0f}), "
            f"and the other margins pull those weights elsewhere; {advice}, or allow more sweeps "
            "(--max-iter on the command line, max_iter in Python) if the margins are nearly met")


def _rake_full(
    data: Any,
    targets: Mapping[str, Mapping[Any, float]],
    weights: Any = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    replicate_weights: np.ndarray | None = None,
    keep_steps: bool = True,
) -> RakeResult:
    tg = as_mapping(targets)
    n = n_rows(data)
    w = as_weights(weights, n)
    names, codes, cats, tots = _margin_codes(data, tg)
    _check_totals(names, tots)
    sizes = [len(c) for c in cats]
    cell, shape, cell_to_full = _cell_index(codes, sizes)
    ncell = int(np.prod(shape))
    table = np.bincount(cell, weights=w, minlength=ncell)
    if cell_to_full is None:
        table = table.reshape(shape)
        mcodes = None
    else:
        mcodes = _cell_margin_index(shape, sizes, cell_to_full)
    for k, (name, tot, cat) in enumerate(zip(names, tots, cats, strict=True)):
        if mcodes is None:
            sample = table.sum(axis=tuple(a for a in range(len(sizes)) if a != k))
        else:
            sample = np.bincount(mcodes[k], weights=table, minlength=sizes[k])
        absent = (sample <= 0) & (tot > 0)
        if absent.any():
            raise ValueError(
                f"margin {name!r}: categories {[cat[i] for i in np.flatnonzero(absent)][:10]} have a "
                "population target but no weighted respondents; collapse them with a neighboring "
                "category in both the data and the targets"
            )
        stray = (sample > 0) & (tot <= 0)
        if stray.any():
            raise ValueError(
                f"margin {name!r}: categories {[cat[i] for i in np.flatnonzero(stray)][:10]} have "
                "respondents but a population target of 0; fix the target or recode those rows"
            )
    factors, it, converged, step = rake_cells(table, mcodes, tots, names, tol=tol, max_iter=max_iter)
    if converged and np.isfinite(tol):
        # A stalled cycle (structural zeros) stops changing without meeting the margins.
        for k in range(len(names)):
            if mcodes is None:
                axes = tuple(a for a in range(len(sizes)) if a != k)
                got = (table * factors).sum(axis=axes)
            else:
                got = np.bincount(mcodes[k], weights=table * factors, minlength=sizes[k])
            if np.max(np.abs(got - tots[k])) > max(1e-6, 100 * tol) * tots[k].sum():
                converged = False
                break
    if not converged:
        final = (table * factors).reshape(-1) if mcodes is None else table * factors
        w_now = w * final.reshape(-1)[cell] / np.maximum(table.reshape(-1)[cell], 1e-300)
        raise ValueError(_no_convergence(names, codes, cats, tots, w_now, max_iter))
    flat = factors.reshape(-1)
    out = np.take(flat, cell)
    out *= w
    step_w = [w * s.reshape(-1)[cell] for s in step] if keep_steps else []
    rep = None
    if replicate_weights is not None:
        rw = np.asarray(replicate_weights, dtype=np.float64)
        reps = rw.shape[1]
        rtab = np.stack([np.bincount(cell, weights=rw[:, r], minlength=ncell) for r in range(reps)])
        if mcodes is None:
            rtab = rtab.reshape((reps, *shape))
        rf, _, _, _ = rake_cells(rtab, mcodes, tots, names, sweeps=it)
        rf = rf.reshape(reps, -1)
        rep = rw * rf[:, cell].T
    return RakeResult(out, names, codes, cats, it, step_w, converged, rep)


def rake(
    data: Any,
    targets: Mapping[str, Mapping[Any, float]],
    weights: Any = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Rake (iterative proportional fitting) weights to population margins.

    Repeatedly post-stratifies to each margin in turn,
    :math:`w_i \\leftarrow w_i\\, T_{kc} / \\sum_{j: x_{jk}=c} w_j`, until a full sweep over
    the margins changes no cell total (combination of the margins' categories) by more
    than ``tol`` times the total weight -- the stopping rule of R's
    ``survey::rake(control=list(epsilon=tol))`` with ``tol < 1``.

    Parameters
    ----------
    data : DataFrame or mapping of column name to a 1-d array of categories.
    targets : ``{column: {category: population total}}``, one entry per margin. Every
        margin must sum to the same population total (relative tolerance 1e-6).
    weights : base weights (ones when omitted); zero or positive.
    tol : relative convergence tolerance.
    max_iter : maximum number of sweeps over all margins.

    Returns
    -------
    numpy.ndarray
        Raked weights (float64) in the input order.

    Raises
    ------
    ValueError
        Naming the margin: a sample category with no target, a target category with no
        sample, totals that disagree across margins, missing values, or no convergence.

    Notes
    -----
    Respondents are collapsed to cells first (all respondents in a cell share one
    factor), so the cost is a few passes over the data plus IPF on a small table.
    Reference: Deming and Stephan (1940); Lumley, *Complex Surveys* (2010), sec. 7.4.

    Examples
    --------
    >>> data = {"sex": ["f", "m", "m", "f"], "age": ["y", "y", "o", "o"]}
    >>> w = rake(data, {"sex": {"f": 60, "m": 40}, "age": {"y": 50, "o": 50}})
    >>> w.round(6).tolist()
    [30.0, 20.0, 20.0, 30.0]
    """
    return _rake_full(data, targets, weights, tol=tol, max_iter=max_iter, keep_steps=False).weights


def poststratify(data: Any, targets: Mapping[str, Mapping[Any, float]], weights: Any = None) -> np.ndarray:
    """Post-stratify weights so each cell's weighted count equals its population count.

    :math:`w_i^* = w_i N_g / \\hat N_g` where :math:`\\hat N_g = \\sum_{i\\in g} w_i`.
    ``targets`` has exactly one entry ``{column: {category: N_g}}``; to post-stratify on a
    cross-classification, make a combined column first (e.g. ``"F|18-24"``).

    Examples
    --------
    >>> poststratify({"g": ["a", "a", "b"]}, {"g": {"a": 10, "b": 5}}).tolist()
    [5.0, 5.0, 5.0]
    """
    tg = as_mapping(targets)
    if len(tg) != 1:
        raise ValueError(
            "poststratify takes exactly one column of cells; for several margins use rake(), "
            "for crossed cells combine the columns into one"
        )
    return _rake_full(data, tg, weights, max_iter=1, tol=np.inf, keep_steps=False).weights


def trim(weights: Any, upper: float = np.inf, lower: float = -np.inf, *, strict: bool = False) -> np.ndarray:
    """Trim weights to ``[lower, upper]`` and hand the excess back in equal shares.

    As R's ``trimWeights``: weights outside the bounds are set to the bound and the total
    trimmed amount is divided equally among the weights that were inside, so the total is
    kept. With ``strict=True`` this repeats until no weight is outside (the shares can push
    a weight over a bound).

    Examples
    --------
    >>> trim([1.0, 1.0, 10.0], upper=4).tolist()
    [4.0, 4.0, 4.0]
    """
    w = as_weights(weights, len(np.asarray(weights)))
    if upper < lower:
        raise ValueError(f"upper bound {upper} is below lower bound {lower}")
    for _ in range(1000):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            return w
        new = np.clip(w, lower, upper)
        if outside.all():
            # Nothing is left to take the excess: R's trimWeights clips and stops here too.
            return new
        excess = float((w - new).sum())
        new[~outside] += excess / int((~outside).sum())
        w = new
        if not strict:
            return w
    raise ValueError("trimming did not settle in 1000 rounds: widen the bounds")


def trim_and_rake(
    data: Any,
    targets: Mapping[str, Mapping[Any, float]],
    weights: Any = None,
    *,
    max_ratio: float = 5.0,
    min_ratio: float | None = None,
    rounds: int = 20,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Rake, cap the weights at ``max_ratio`` times the mean weight, re-rake; repeat.

    Stops when the raked weights are within the caps (relative slack 1e-6) or after
    ``rounds`` rounds; the result always meets the margins exactly, the caps approximately
    when they conflict with the margins (check :func:`weight_diagnostics`).
    """
    if max_ratio <= 1:
        raise ValueError("max_ratio must be above 1 (it caps weights at max_ratio x the mean weight)")
    w = rake(data, targets, weights, tol=tol, max_iter=max_iter)
    for _ in range(rounds):
        mean = w.mean()
        upper = max_ratio * mean
        lower = -np.inf if min_ratio is None else min_ratio * mean
        if w.max() <= upper * (1 + 1e-6) and w.min() >= lower * (1 - 1e-6):
            break
        w = trim(w, upper=upper, lower=lower, strict=True)
        w = rake(data, targets, w, tol=tol, max_iter=max_iter)
    return w


def kish_deff(weights: Any) -> float:
    """Kish's design effect from unequal weighting, :math:`n\\sum w^2/(\\sum w)^2`."""
    w = as_weights(weights, len(np.asarray(weights)))
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: there is nothing to weight")
    return float(w.size * np.sum(w * w) / w.sum() ** 2)


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size, :math:`(\\sum w)^2/\\sum w^2`."""
    w = as_weights(weights, len(np.asarray(weights)))
    if w.sum() <= 0:
        raise ValueError("weights sum to zero: there is nothing to weight")
    return float(w.sum() ** 2 / np.sum(w * w))


def margin_fit(data: Any, targets: Mapping[str, Mapping[Any, float]], weights: Any) -> pd.DataFrame:
    """Weighted totals against targets: one row per margin and category."""
    tg = as_mapping(targets)
    w = as_weights(weights, n_rows(data))
    rows = []
    for name, cats in tg.items():
        values = np.asarray(column(data, name), dtype=object)
        keys = list(cats)
        str_keys = [str(k) for k in keys]
        svals = pd.Series(values).astype(str).to_numpy()
        for k, sk in zip(keys, str_keys, strict=True):
            got = float(w[svals == sk].sum())
            rows.append(
                {"margin": name, "category": sk, "target": cats[k], "weighted": got, "difference": got - cats[k]}
            )
    return pd.DataFrame(rows)


def weight_diagnostics(weights: Any, data: Any = None, targets: Any = None, *, top: int = 5) -> dict[str, Any]:
    """Summary of a set of weights: Kish deff, effective n, extremes, margin fit.

    Returns a dict with ``n``, ``sum``, ``min``, ``max``, ``max_over_mean``, ``kish_deff``,
    ``effective_n``, ``largest`` (positions and values of the ``top`` largest weights) and,
    when ``data`` and ``targets`` are given, ``margin_fit`` (list of dicts) and
    ``max_abs_margin_error``.
    """
    w = as_weights(weights, len(np.asarray(weights)))
    order = np.argsort(-w, kind="stable")[:top]
    out: dict[str, Any] = {
        "n": int(w.size),
        "sum": float(w.sum()),
        "min": float(w.min()),
        "max": float(w.max()),
        "max_over_mean": float(w.max() / w.mean()),
        "kish_deff": kish_deff(w),
        "effective_n": effective_sample_size(w),
        "largest": [{"row": int(i), "weight": float(w[i])} for i in order],
    }
    if data is not None and targets is not None:
        fit = margin_fit(data, targets, w)
        out["margin_fit"] = fit.to_dict(orient="records")
        out["max_abs_margin_error"] = float(fit["difference"].abs().max())
    return out
