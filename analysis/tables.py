"""Per-wave estimates of every index and item, overall and by domain, and the changes between waves.

This is what the staff comparison view, the public results page and the report show. Each wave is
its own design (strata = the wave's sampling strata, base weights, raked to the population
margins when asked), exactly as :func:`analysis.compare.build_design` and
:func:`analysis.compare.rake_by_wave` build them for all waves at once: waves are disjoint sets of
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
from .compare import _measures, build_design
from .design import Design
from .estimate import ci_korn_graubard
from .io import Codebook
from .weights import effective_sample_size, kish_deff

__all__ = ["WaveTables", "wave_tables", "combine_wave_tables", "batch_means", "rake_wave", "holm_bh", "describe_change", "GROUP_VARIABLES", "GROUP_NAMES"]

#: Breakdowns the tables offer, in this order, when the export has the column.
GROUP_VARIABLES = ("district", "age_band", "sex", "race_eth", "tenure", "education", "home_language")
#: Short English names of the breakdowns (the codebook's labels are the questions' wording).
GROUP_NAMES = {"district": "District", "age_band": "Age band", "sex": "Sex", "race_eth": "Race and ethnicity",
               "tenure": "Housing tenure", "education": "Education", "home_language": "Language spoken at home"}

ESTIMATE_COLUMNS = ["mi", "measure", "kind", "scale", "category", "by", "domain", "wave", "estimate", "se",
                    "ci_low", "ci_high", "df", "deff", "n"]
CHANGE_COLUMNS = ["mi", "measure", "kind", "scale", "category", "by", "domain", "comparison", "wave_from",
                  "wave_to", "estimate_from", "estimate_to", "difference", "se", "ci_low", "ci_high", "df",
                  "p_value", "p_holm", "p_bh", "n_from", "n_to", "too_few", "detectable", "family"]


@dataclass
class WaveTables:
    """Everything the comparison pages and the report show, as plain data frames.

    ``measures``: one row per measured column (``mi``), its key, kind (index, item, option), scale
    (score 0-100, mean, proportion) and category code for choice items. ``estimates``: one row per
    measure x breakdown (``by`` None for everyone) x domain x wave. ``changes``: last wave against
    the first (``comparison == "first_last"``), each wave against the one before (``"step"``) and
    the linear trend per wave over three or more waves (``"trend"``). ``not_compared``: measures
    left out of the changes, with the reason. ``weights``: per wave n, Kish deff and effective n.
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


def batch_means(design: Design, y: np.ndarray, domain: np.ndarray, ndomain: int) -> dict[str, np.ndarray]:
    """Weighted means of every column of ``y`` (n x M, NaN = not answered) in every domain.

    ``domain`` holds each row's domain code 0..ndomain-1 (-1: in none). Returns arrays of shape
    (ndomain, M): ``estimate``, ``var`` (Taylor linearization with the raking residuals),
    ``n`` (answered, nonzero weight), ``df`` (answered rows minus strata with one) and ``deff``
    (as R's ``svymean(deff=TRUE)``). One-stage designs with each row its own unit and at most one
    raking or post-stratification step, as :func:`analysis.compare.build_design` makes them.
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
    centred = s2 - s1 * s1 / n_h
    if design.lonely_psu == "adjust":
        centred[lonely] = s2[lonely]
    scale = np.where(info.self_rep, 0.0, info.scale_h)
    var = np.maximum(np.einsum("h,hdm->dm", scale, centred), 0.0)
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


def rake_wave(design: Design, frame: pd.DataFrame, margins: Mapping[str, Mapping[str, float]], wave: str = "") -> Design:
    """Rake one wave to the population margins, as :func:`analysis.compare.rake_by_wave` does.

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
    return design.rake({v: dict(c) for v, c in margins.items()}, data=data)


def _t(level: float, df: np.ndarray) -> np.ndarray:
    return special.stdtrit(np.maximum(df, 1), 0.5 + level / 2)


def _intervals(est: np.ndarray, se: np.ndarray, df: np.ndarray, n: np.ndarray, proportion: np.ndarray,
               level: float) -> tuple[np.ndarray, np.ndarray]:
    """t intervals for means; logit intervals for proportions (Korn-Graubard at 0 and 1), as ``proportion()``."""
    q = _t(level, df)
    lo, hi = est - q * se, est + q * se
    inside = proportion & (est > 0) & (est < 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lg = np.log(est / (1 - est))
        half = q * se / (est * (1 - est))
        lo = np.where(inside, 1 / (1 + np.exp(-(lg - half))), lo)
        hi = np.where(inside, 1 / (1 + np.exp(-(lg + half))), hi)
    for i in np.flatnonzero(proportion & ~inside & ~np.isnan(est)):
        lo[i], hi[i] = ci_korn_graubard(float(est[i]), float(se[i]), level, float(df[i]), int(n[i]))
    return lo, hi


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
) -> WaveTables:
    """Estimates per wave of every index and item (overall and per domain) and their changes.

    ``rake=None`` rakes each wave to the codebook's population targets when it has any (else
    base weights); ``exclude`` maps item or index keys to the reason they may not be compared
    (e.g. wording changed between the waves' questionnaire versions). A measure nobody answered
    in one of the waves is not compared either. Changes are t tests on the design degrees of
    freedom; Holm and Benjamini-Hochberg adjustments run within each family: one comparison
    type, one breakdown, indexes or items.
    """
    order = [w for w in codebook.wave_order if (waves is None or w in waves) and (frame["wave"] == w).any()]
    if not order:
        raise ValueError("none of the chosen waves has responses")
    frame = frame[frame["wave"].isin(order)].reset_index(drop=True)
    margins = codebook.target_margins()
    if rake is None:
        rake = bool(margins) and all(v in frame.columns for v in margins)
    breakdowns = [b for b in (breakdowns or []) if b in frame.columns]
    measures = _measures(frame, codebook)
    wave_col = frame["wave"].astype(str).to_numpy(dtype=object)
    exclude = dict(exclude or {})
    reasons: dict[str, str] = {}
    masks = {w: wave_col == w for w in order}
    for ms in measures:
        key = ms["measure"]
        if key in exclude:
            reasons[key] = exclude[key]
        elif key not in reasons:
            missing = _asked(ms["values"], masks)
            if missing and len(order) > 1:
                reasons[key] = "not asked (no answers) in " + ", ".join(missing)
    keep = [ms for ms in measures if ms["measure"] not in reasons]
    not_compared = pd.DataFrame(
        [{"measure": k, "kind": next(ms["kind"] for ms in measures if ms["measure"] == k), "reason": r}
         for k, r in reasons.items()], columns=["measure", "kind", "reason"])
    mtable = pd.DataFrame([{k: ms[k] for k in ("measure", "kind", "scale", "category")} for ms in keep])
    if mtable.empty:
        raise ValueError("no index or item can be compared across these waves")
    mtable["mi"] = np.arange(len(mtable))
    y_all = np.column_stack([ms["values"] for ms in keep]) if keep else np.empty((len(frame), 0))
    proportion = (mtable["scale"] == "proportion").to_numpy()
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
        {k: np.full((len(order), len(labels), nm), np.nan) for k in ("estimate", "se", "df", "deff", "n")}
        for _b, labels in groups]
    weight_rows = []
    for wi, w in enumerate(order):
        mask = wave_col == w
        fw = frame[mask].reset_index(drop=True)
        design = build_design(fw)
        if rake:
            design = rake_wave(design, fw, margins, w)
        weight_rows.append({"wave": w, "n": int(mask.sum()), "weights_sum": float(design.weights.sum()),
                            "kish_deff": kish_deff(design.weights), "effective_n": effective_sample_size(design.weights),
                            "degf": int(design.degf)})
        yw = y_all[mask]
        for gi, (b, labels) in enumerate(groups):
            dom = np.zeros(len(fw), dtype=np.int64) if b is None else codes_by[b][mask]
            r = batch_means(design, yw, dom, len(labels))
            out = results[gi]
            out["estimate"][wi] = r["estimate"]
            out["se"][wi] = np.sqrt(r["var"])
            out["df"][wi] = r["df"]
            out["deff"][wi] = r["deff"]
            out["n"][wi] = r["n"]
        bar.step()
    if not isinstance(progress, Progress):
        bar.close()
    weights = pd.DataFrame(weight_rows)
    degf = weights["degf"].to_numpy(dtype=np.float64)
    est_parts, change_parts = [], []
    for (b, labels), r in zip(groups, results, strict=True):
        nw, nd = len(order), len(labels)
        shape = (nw, nd, nm)
        n = np.nan_to_num(r["n"]).astype(np.int64)
        has = n > 0
        prop = np.broadcast_to(proportion, shape)
        lo, hi = _intervals(r["estimate"].ravel(), r["se"].ravel(), np.nan_to_num(r["df"]).ravel(), n.ravel(),
                            prop.ravel(), level)
        frame_e = pd.DataFrame({
            "mi": np.broadcast_to(np.arange(nm), shape).ravel(), "by": b,
            "domain": np.broadcast_to(np.array(labels, dtype=object)[None, :, None], shape).ravel(),
            "wave": np.broadcast_to(np.array(order, dtype=object)[:, None, None], shape).ravel(),
            "estimate": r["estimate"].ravel(), "se": r["se"].ravel(), "ci_low": lo, "ci_high": hi,
            "df": np.nan_to_num(r["df"]).ravel().astype(np.int64), "deff": r["deff"].ravel(), "n": n.ravel()})
        est_parts.append(frame_e[has.ravel()])
        if nw >= 2:
            change_parts.append(_changes(r, n, degf, order, b, labels, nm, level))
    estimates = pd.concat(est_parts, ignore_index=True).merge(mtable, on="mi", how="left")[ESTIMATE_COLUMNS]
    if change_parts:
        changes = pd.concat(change_parts, ignore_index=True).merge(mtable, on="mi", how="left")
        changes = _adjust(changes, min_n, alpha)[CHANGE_COLUMNS]
    else:
        changes = pd.DataFrame(columns=CHANGE_COLUMNS)
    return WaveTables(order, "raked" if rake else "base", mtable, estimates, changes, not_compared, weights,
                      list(breakdowns), domains, level, min_n, alpha)


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
    the waves at once (the tests check): the changes, trends and Holm/BH adjustments are made here
    from the waves' estimates, exactly as there. ``parts`` hold one wave each (any order);
    ``codebook`` is the codebook of all of them (its wave order is kept); ``breakdowns`` keeps
    a subset of the parts' breakdowns (default: all of them).

    Example::

        parts = [wave_tables(frame[frame.wave == w], codebook, waves=[w]) for w in codebook.wave_order]
        tables = combine_wave_tables(parts, codebook)
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
    # Measures: the union in order of appearance, keyed by (measure, category).
    mrows: dict[tuple[str, Any], dict[str, Any]] = {}
    for w in order:
        for r in by_wave[w].measures.itertuples(index=False):
            cat = r.category if isinstance(r.category, str) else None
            mrows.setdefault((r.measure, cat), {"measure": r.measure, "kind": r.kind, "scale": r.scale, "category": r.category})
    exclude = dict(exclude or {})
    reasons: dict[str, str] = {}
    answered = {w: set(by_wave[w].estimates.loc[by_wave[w].estimates["by"].isna(), "measure"]) for w in order}
    for measure, _cat in mrows:
        if measure in reasons:
            continue
        if measure in exclude:
            reasons[measure] = exclude[measure]
        elif len(order) > 1:
            missing = [w for w in order if measure not in answered[w]]
            if missing:
                reasons[measure] = "not asked (no answers) in " + ", ".join(missing)
    kinds = {m: row["kind"] for (m, _c), row in mrows.items()}
    not_compared = pd.DataFrame([{"measure": k, "kind": kinds[k], "reason": r} for k, r in reasons.items()],
                                columns=["measure", "kind", "reason"])
    keep = [(key, row) for key, row in mrows.items() if key[0] not in reasons]
    if not keep:
        raise ValueError("no index or item can be compared across these waves")
    mtable = pd.DataFrame([row for _key, row in keep])
    mtable["mi"] = np.arange(len(mtable))
    mi_of = {key: i for i, (key, _row) in enumerate(keep)}
    nm = len(mtable)
    wave_index = {w: i for i, w in enumerate(order)}
    pieces = []
    for w in order:
        e = by_wave[w].estimates
        e = e[e["by"].isna() | e["by"].isin(chosen)]
        measure, category = e["measure"].to_numpy(dtype=object), e["category"].to_numpy(dtype=object)
        mi = np.fromiter((mi_of.get((m, c if isinstance(c, str) else None), -1) for m, c in zip(measure, category, strict=True)),
                         dtype=np.int64, count=len(e))
        pieces.append(e.assign(mi=mi)[mi >= 0])
    allest = pd.concat(pieces, ignore_index=True)
    domains: dict[str, list[str]] = {}
    for b in chosen:
        present = allest.loc[allest["by"] == b, "domain"].drop_duplicates()
        domains[b] = _domain_labels(present.reset_index(drop=True), codebook, b)[0]
    chosen = [b for b in chosen if domains[b]]
    domains = {b: domains[b] for b in chosen}
    weights = pd.concat([by_wave[w].weights for w in order], ignore_index=True)
    degf = weights["degf"].to_numpy(dtype=np.float64)
    groups: list[tuple[str | None, list[Any]]] = [(None, [None]), *[(b, domains[b]) for b in chosen]]
    est_parts, change_parts = [], []
    for gi, (b, labels) in enumerate(groups):
        sel = allest[allest["by"].isna()] if b is None else allest[allest["by"] == b]
        dindex = {d: k for k, d in enumerate(labels)}
        di = np.zeros(len(sel), dtype=np.int64) if b is None else sel["domain"].map(dindex).to_numpy(dtype=np.int64)
        wi = sel["wave"].map(wave_index).to_numpy(dtype=np.int64)
        mi = sel["mi"].to_numpy(dtype=np.int64)
        est_parts.append(sel.assign(_g=gi, _w=wi, _d=di))
        if len(order) >= 2:
            shape = (len(order), len(labels), nm)
            r = {k: np.full(shape, np.nan) for k in ("estimate", "se")}
            n = np.zeros(shape, dtype=np.int64)
            r["estimate"][wi, di, mi] = sel["estimate"].to_numpy(dtype=np.float64)
            r["se"][wi, di, mi] = sel["se"].to_numpy(dtype=np.float64)
            n[wi, di, mi] = sel["n"].to_numpy(dtype=np.int64)
            change_parts.append(_changes(r, n, degf, order, b, labels, nm, level))
    estimates = (pd.concat(est_parts, ignore_index=True).sort_values(["_g", "_w", "_d", "mi"], kind="stable")
                 .drop(columns=["measure", "kind", "scale", "category", "_g", "_w", "_d"])
                 .merge(mtable, on="mi", how="left")[ESTIMATE_COLUMNS].reset_index(drop=True))
    if change_parts:
        changes = pd.concat(change_parts, ignore_index=True).merge(mtable, on="mi", how="left")
        changes = _adjust(changes, min_n, alpha)[CHANGE_COLUMNS]
    else:
        changes = pd.DataFrame(columns=CHANGE_COLUMNS)
    return WaveTables(order, weighting, mtable, estimates, changes, not_compared, weights, chosen, domains,
                      level, min_n, alpha)


def _changes(r: dict[str, np.ndarray], n: np.ndarray, degf: np.ndarray, order: list[str], by: str | None,
             labels: list[Any], nm: int, level: float) -> pd.DataFrame:
    """Last wave minus first, each wave minus the one before, and the linear trend per wave."""
    est, se = r["estimate"], r["se"]
    nw, nd = est.shape[0], est.shape[1]
    pieces = []
    pairs = [("first_last", 0, nw - 1)] + ([("step", i, i + 1) for i in range(nw - 1)] if nw > 2 else [])
    for kind, i, j in pairs:
        pieces.append({"comparison": kind, "wave_from": order[i], "wave_to": order[j], "estimate_from": est[i],
                       "estimate_to": est[j], "difference": est[j] - est[i], "se": np.sqrt(se[i] ** 2 + se[j] ** 2),
                       "df": np.full((nd, nm), degf[i] + degf[j]), "n_from": n[i], "n_to": n[j]})
    if nw > 2:
        # The least-squares slope through the wave estimates: a linear contrast of independent
        # estimates, so its variance is sum(c_k^2 V_k). Waves without answers are left out.
        present = ~np.isnan(est)
        x = np.arange(nw, dtype=np.float64)[:, None, None]
        cnt = present.sum(axis=0)
        xbar = np.where(present, x, 0.0).sum(axis=0) / np.maximum(cnt, 1)
        dx = np.where(present, x - xbar, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = dx / (dx * dx).sum(axis=0)
            slope = np.where(cnt >= 3, (c * np.nan_to_num(est)).sum(axis=0), np.nan)
            sse = np.where(cnt >= 3, np.sqrt((c * c * np.nan_to_num(se) ** 2).sum(axis=0)), np.nan)
        first = np.argmax(present, axis=0)
        last = nw - 1 - np.argmax(present[::-1], axis=0)
        take = np.take_along_axis
        pieces.append({"comparison": "trend", "wave_from": order[0], "wave_to": order[-1],
                       "estimate_from": take(est, first[None], 0)[0], "estimate_to": take(est, last[None], 0)[0],
                       "difference": slope, "se": sse, "df": np.full((nd, nm), float(degf.sum())),
                       "n_from": take(n, first[None], 0)[0], "n_to": take(n, last[None], 0)[0]})
    dom = np.broadcast_to(np.array(labels, dtype=object)[:, None], (nd, nm)).ravel()
    mi = np.broadcast_to(np.arange(nm), (nd, nm)).ravel()
    # One frame from the pieces' columns laid end to end (a frame per piece costs more than the numbers).
    columns: dict[str, list[np.ndarray]] = {}
    for pc in pieces:
        for k, v in pc.items():
            columns.setdefault(k, []).append(v.ravel() if isinstance(v, np.ndarray) else np.full(nd * nm, v, dtype=object))
    ch = pd.DataFrame({"mi": np.tile(mi, len(pieces)), "by": by, "domain": np.tile(dom, len(pieces)),
                       **{k: np.concatenate(v) for k, v in columns.items()}})
    ch = ch[~np.isnan(ch["difference"].to_numpy(dtype=np.float64))].reset_index(drop=True)
    q = _t(level, ch["df"].to_numpy(dtype=np.float64))
    ch["ci_low"] = ch["difference"] - q * ch["se"]
    ch["ci_high"] = ch["difference"] + q * ch["se"]
    return ch


def holm_bh(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Holm and Benjamini-Hochberg adjusted p-values (NaN entries are left out and stay NaN).

    The same numbers as statsmodels' ``multipletests(method="holm" / "fdr_bh")`` (the tests check),
    without importing statsmodels: Holm :math:`\max_{j\le i}\min(1,(m-j+1)p_{(j)})`,
    BH :math:`\min_{j\ge i}\min(1, m\,p_{(j)}/j)`.
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


def _adjust(ch: pd.DataFrame, min_n: int, alpha: float) -> pd.DataFrame:
    """p-values, and Holm and BH within each family: one comparison type, breakdown, indexes or items."""
    ch["too_few"] = (np.minimum(ch["n_from"], ch["n_to"]) < min_n).to_numpy()
    diff, se = ch["difference"].to_numpy(dtype=np.float64), ch["se"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = diff / se
    p = 2 * special.stdtr(np.maximum(ch["df"].to_numpy(dtype=np.float64), 1), -np.abs(t))
    p = np.where(se > 0, p, np.where(diff == 0, 1.0, 0.0))
    ch["p_value"] = np.where(ch["too_few"], np.nan, p)
    ch["family"] = (ch["comparison"] + "|" + ch["by"].fillna("") + "|"
                    + np.where(ch["kind"] == "index", "index", "item"))
    holm = np.full(len(ch), np.nan)
    bh = np.full(len(ch), np.nan)
    pv = ch["p_value"].to_numpy()
    for idx in ch.groupby("family").indices.values():
        holm[idx], bh[idx] = holm_bh(pv[idx])
    ch["p_holm"], ch["p_bh"] = holm, bh
    ch["detectable"] = (ch["p_holm"] < alpha) & ~ch["too_few"]
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
    if row["too_few"]:
        return f"{label}: too few responses to compare {span} (n = {row['n_from']} and {row['n_to']})."
    diff, lo, hi = row["difference"] * k, row["ci_low"] * k, row["ci_high"] * k
    per = " per wave" if row["comparison"] == "trend" else ""
    ci = f"{pct}% CI {lo:.1f} to {hi:.1f}"
    if row["detectable"]:
        verb = "rose" if diff > 0 else "fell"
        return (f"{label} {verb} {abs(diff):.1f} {unit}{per} {span} ({ci}); "
                "this change is larger than chance would explain.")
    return f"{label}: no detectable change {span} ({diff:+.1f} {unit}{per}, {ci})."
