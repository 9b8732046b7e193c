"""Wave-over-wave comparisons and trends of every index and item, with multiple-comparison control.

All waves are analysed as one design with strata = wave x stratum, so each wave's
estimates keep their own design and the difference between two waves gets its
design-based standard error from one covariance matrix (independent samples give zero
covariance; raking within wave is handled by the calibration residuals).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ._progress import Progress
from .design import Design
from .estimate import _t_quantile, domain_estimates
from .io import Codebook
from .scales import score_indexes

__all__ = ["build_design", "compare_waves", "trend", "verdict", "adjust_pvalues"]

SEP = "\x1f"  # joins wave and group labels; never appears in exported values


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


def rake_by_wave(design: Design, frame: pd.DataFrame, margins: dict[str, dict[str, float]], *, wave: str = "wave") -> Design:
    """Rake every wave separately to the same population margins.

    A respondent with a missing weighting variable is given the wave's most common
    (weighted) category of that variable -- simple modal imputation so that nobody is
    dropped; report how many were imputed.
    """
    if not margins:
        raise ValueError("the codebook has no population targets: remove --rake-from-codebook or add targets")
    waves = frame[wave].astype(str).to_numpy(dtype=object)
    data: dict[str, np.ndarray] = {}
    targets: dict[str, dict[str, float]] = {}
    for var, cats in margins.items():
        if var not in frame.columns:
            raise ValueError(f"target variable {var!r} is not a column of the export")
        vals = frame[var].astype(object).to_numpy()
        vals = np.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in vals], dtype=object)
        for wv in np.unique(waves):
            m = waves == wv
            miss = m & pd.isna(vals)
            if miss.any():
                present = pd.Series(design.weights[m & ~pd.isna(vals)]).groupby(vals[m & ~pd.isna(vals)]).sum()
                if present.empty:
                    raise ValueError(f"wave {wv!r}: nobody answered {var!r}; cannot rake to it")
                vals[miss] = present.idxmax()
        data[var] = waves + SEP + vals.astype(str)
        targets[var] = {f"{wv}{SEP}{c}": p for wv in np.unique(waves) for c, p in cats.items()}
    return design.rake(targets, data=data)


def adjust_pvalues(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Holm and Benjamini-Hochberg adjusted p-values (NaN entries are left out and stay NaN)."""
    from statsmodels.stats.multitest import multipletests  # heavy import, only when used

    p = np.asarray(p, dtype=np.float64)
    holm = np.full(p.shape, np.nan)
    bh = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        holm[ok] = multipletests(p[ok], method="holm")[1]
        bh[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return holm, bh


def _fmt(x: float, pct: bool) -> str:
    return f"{x * 100:.1f}%" if pct else f"{x:.1f}"


def _fmt_diff(x: float, pct: bool) -> str:
    return f"{x * 100:+.1f} points" if pct else f"{x:+.1f}"


def verdict(row: dict[str, Any], *, alpha: float = 0.05, level: float = 0.95) -> str:
    """One plain sentence saying whether a change is detectable (Holm-adjusted p < alpha)."""
    pct = row.get("scale") == "proportion"
    what = row["label"]
    if isinstance(row.get("category"), str) and row["category"] != "":
        what = f"{what}: share answering {row['category_label']!r}"
    where = f"In {row['by']} {row['domain']}, " if isinstance(row.get("domain"), str) and row["domain"] != "" else ""
    if row.get("too_few"):
        return (
            f"{where}{what}: too few responses to compare {row['wave_from']} with {row['wave_to']} "
            f"(n = {row['n_from']} and {row['n_to']})."
        )
    ci = f"{int(round(level * 100))}% CI {_fmt_diff(row['ci_low'], pct)} to {_fmt_diff(row['ci_high'], pct)}"
    if row["comparison"] == "trend":
        change = f"trend {_fmt_diff(row['difference'], pct)} per wave over {row['wave_from']} to {row['wave_to']}"
    else:
        change = (
            f"{_fmt(row['estimate_from'], pct)} in {row['wave_from']} to {_fmt(row['estimate_to'], pct)} in "
            f"{row['wave_to']} ({_fmt_diff(row['difference'], pct)}, {ci})"
        )
    p = row["p_holm"]
    if p < alpha:
        direction = "rose" if row["difference"] > 0 else "fell"
        return f"{where}{what} {direction}: {change}; the change is detectable (Holm-adjusted p = {p:.3f})."
    note = " It was only nominally significant before adjusting for the number of comparisons." if row["p_value"] < alpha else ""
    return f"{where}{what}: no detectable change, {change}; Holm-adjusted p = {p:.3f}.{note}"


def trend(
    y: np.ndarray, wave_index: np.ndarray, weights: np.ndarray, groups: np.ndarray | None = None
) -> dict[str, float]:
    """Linear trend of ``y`` on the wave number by weighted least squares (statsmodels WLS).

    Standard errors are cluster-robust by PSU when ``groups`` is given (sandwich, as
    ``cov_type="cluster"``), otherwise heteroskedasticity-robust (HC1). Returns the slope
    per wave, its SE, t, p and df.
    """
    import statsmodels.api as sm  # heavy import, only when used

    ok = ~np.isnan(y) & (weights > 0)
    yy, xx, ww = y[ok], wave_index[ok], weights[ok]
    if np.unique(xx).size < 2:
        raise ValueError("a trend needs answers in at least two waves")
    X = sm.add_constant(xx.astype(np.float64))
    model = sm.WLS(yy, X, weights=ww)
    if groups is not None and np.unique(groups[ok]).size > 2:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups[ok])[0]})
        df = float(np.unique(groups[ok]).size - 1)
    else:
        fit = model.fit(cov_type="HC1")
        df = float(ok.sum() - 2)
    slope, se = float(fit.params[1]), float(fit.bse[1])
    t = slope / se if se > 0 else np.inf
    p = float(2 * special.stdtr(df, -abs(t)))
    return {"slope": slope, "se": se, "t": float(t), "p_value": p, "df": df}


def _measures(frame: pd.DataFrame, codebook: Codebook) -> list[dict[str, Any]]:
    """Every index (0-100 score), scale item (mean), choice category and option (proportion)."""
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


def compare_waves(
    frame: pd.DataFrame,
    codebook: Codebook,
    *,
    by: str | None = None,
    rake: bool = False,
    level: float = 0.95,
    min_n: int = 10,
    alpha: float = 0.05,
    progress: bool = True,
) -> pd.DataFrame:
    """Every index and item, wave against the previous wave (overall and by ``by``), plus trends.

    Differences use the design-based covariance of the wave estimates; t tests on the
    design df. Holm and Benjamini-Hochberg adjustments are taken over all wave-to-wave
    rows together, and separately over all trend rows. Rows where a wave has fewer than
    ``min_n`` respondents are reported as too few to compare and left out of the adjustment.
    """
    waves_present = [w for w in codebook.wave_order if (frame["wave"] == w).any()]
    if len(waves_present) < 2:
        raise ValueError(f"comparisons need at least two waves with responses; found {waves_present}")
    frame = frame[frame["wave"].isin(waves_present)].reset_index(drop=True)
    design = build_design(frame)
    if rake:
        design = rake_by_wave(design, frame, codebook.target_margins())
    wave_idx = pd.Categorical(frame["wave"].astype(str), categories=waves_present).codes.astype(np.int64)
    wave_no = wave_idx.astype(np.float64)
    if by is not None:
        if by not in frame.columns:
            raise ValueError(f"--by column {by!r} is not in the export")
        groups = frame[by].astype(object).to_numpy()
        group_labels = sorted({str(g) for g in groups if g is not None and not (isinstance(g, float) and np.isnan(g))})
        domains: list[tuple[str | None, np.ndarray]] = [(None, np.ones(len(frame), bool))]
        as_text = np.array([None if g is None else str(g) for g in groups], dtype=object)
        domains += [(g, as_text == g) for g in group_labels]
    else:
        domains = [(None, np.ones(len(frame), bool))]
    measures = _measures(frame, codebook)
    q = _t_quantile(level, design.degf)
    rows: list[dict[str, Any]] = []
    bar = Progress(len(measures) * len(domains), "compare", enabled=progress)
    for m in measures:
        for dom_label, dmask in domains:
            y = np.where(dmask, m["values"], np.nan)
            base = {k: m[k] for k in ("measure", "kind", "scale", "label", "category", "category_label")}
            base.update({"by": by, "domain": dom_label})
            answered = ~np.isnan(y)
            counts = np.bincount(wave_idx[answered], minlength=len(waves_present))
            present = [w for w, k in zip(waves_present, counts, strict=True) if k > 0]
            if len(present) < 2:
                bar.step()
                continue
            # Waves are disjoint sets of strata, so wave estimates are uncorrelated and the
            # variances alone give the SE of a difference (the fast path returns them).
            keep = counts[wave_idx] > 0
            by_wave = wave_idx if keep.all() else np.where(keep, wave_idx.astype(np.float64), np.nan)
            est = domain_estimates(design, y, kind="mean", by=by_wave, name=m["measure"], full_cov=False)
            lab = [waves_present[int(v)] for v in est.labels]
            for a, b in zip(present[:-1], present[1:], strict=True):
                i, j = lab.index(a), lab.index(b)
                diff = float(est.estimate[j] - est.estimate[i])
                var = float(est.cov[i, i] + est.cov[j, j] - 2 * est.cov[i, j])
                se = float(np.sqrt(max(var, 0.0)))
                too_few = bool(est.n[i] < min_n or est.n[j] < min_n)
                if se > 0:
                    t = diff / se
                    p = float(2 * special.stdtr(max(design.degf, 1), -abs(t)))
                else:
                    p = 1.0 if diff == 0 else 0.0
                rows.append({**base, "comparison": "wave", "wave_from": a, "wave_to": b,
                             "estimate_from": float(est.estimate[i]), "estimate_to": float(est.estimate[j]),
                             "difference": diff, "se": se, "ci_low": diff - q * se, "ci_high": diff + q * se,
                             "p_value": np.nan if too_few else p, "n_from": int(est.n[i]), "n_to": int(est.n[j]),
                             "too_few": too_few})
            if len(present) >= 3:
                tr = trend(y, wave_no, design.weights, None)
                qt = _t_quantile(level, tr["df"])
                first, last = lab.index(present[0]), lab.index(present[-1])
                n_first, n_last = int(est.n[first]), int(est.n[last])
                too_few = n_first < min_n or n_last < min_n
                rows.append({**base, "comparison": "trend", "wave_from": present[0], "wave_to": present[-1],
                             "estimate_from": float(est.estimate[first]), "estimate_to": float(est.estimate[last]),
                             "difference": tr["slope"], "se": tr["se"], "ci_low": tr["slope"] - qt * tr["se"],
                             "ci_high": tr["slope"] + qt * tr["se"], "p_value": np.nan if too_few else tr["p_value"],
                             "n_from": n_first, "n_to": n_last, "too_few": too_few})
            bar.step()
    bar.close()
    table = pd.DataFrame(rows)
    if table.empty:
        raise ValueError("no measure has answers in two or more waves: nothing to compare")
    table["p_holm"] = np.nan
    table["p_bh"] = np.nan
    for kind in ("wave", "trend"):
        sel = (table["comparison"] == kind).to_numpy()
        if sel.any():
            holm, bh = adjust_pvalues(table.loc[sel, "p_value"].to_numpy())
            table.loc[sel, "p_holm"] = holm
            table.loc[sel, "p_bh"] = bh
    table["detectable"] = (table["p_holm"] < alpha) & ~table["too_few"]
    table["verdict"] = [verdict(r, alpha=alpha, level=level) for r in table.to_dict(orient="records")]
    return table
