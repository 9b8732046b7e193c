r"""Benchmarks across the agencies of one campaign: an agency's index beside the pooled estimate and its peers'.

Every agency of a campaign fields its own wave on the same questionnaire version: a stratified
sample of its own residents (strata = its districts), weighted and raked on its own. Agencies are
therefore independent strata of one campaign design (strata = agency x district), and the pooled
estimate of an index is a stratified combination of the agencies' own estimates:

.. math::
    \hat\theta_G = \sum_{b\in G} P_b\,\hat\theta_b,\qquad P_b = N_b / \sum_{c\in G} N_c,\qquad
    \widehat V(\hat\theta_G) = \sum_{b\in G} P_b^2\,v_b,

with :math:`N_b` the agency's population (the sum of its wave's weights: the stratum populations,
or the raking targets' total), :math:`\hat\theta_b` and :math:`v_b` the agency's own estimate and
design-based variance from the one engine (:func:`analysis.tables.wave_tables` /
:func:`analysis.tables.batch_means`), and Welch-Satterthwaite degrees of freedom
(:func:`analysis.changes.satterthwaite_df`) from each agency's own df. This is R's
``svycontrast(svyby(~y, ~agency, design, svymean, covmat = TRUE), P)`` on the stacked design
``svydesign(ids = ~1, strata = ~agency:district, weights = ~w)``; without unanswered items and with
weights constant within strata it is also ``svymean(~y, design)`` exactly (tests/analysis/r/campaign.R).

The difference from a group that contains the agency itself
-------------------------------------------------------------
The agency is inside its pool (and its peer group), so its estimate and the group's are correlated.
We show the difference from the group the page shows, :math:`d = \hat\theta_a - \hat\theta_G`, and
account for the covariance exactly: :math:`d = (1-P_a)\hat\theta_a - \sum_{b\neq a}P_b\hat\theta_b`,
a contrast of independent agency estimates, so

.. math:: \widehat V(d) = (1-P_a)^2 v_a + \sum_{b\in G, b\neq a} P_b^2 v_b

(the naive :math:`v_a + v_G` would count the agency's own variance twice and miss the covariance
:math:`P_a v_a`). Since :math:`d = (1-P_a)(\hat\theta_a - \hat\theta_{G\setminus a})`, its t
statistic, df and p-value are exactly those of the comparison with "the others" (the group without
the agency, an independent sample): the verdict does not depend on which of the two is shown.

Withholding
-----------
- An agency's index counts in a group only when its own estimate could be shown: at least
  ``min_n`` respondents answered (the small-cell threshold of every other page).
- A group figure needs at least ``min_agencies`` agencies *other than* the viewer's own: the
  viewer knows their own figure and could take it out of the group's, so it is the others that
  must be many.
- The peer figure is also withheld when the agencies of the pool outside the peer group are
  between 1 and ``min_agencies - 1``: the pool and the peer figure together would reveal those
  few agencies' combined figure.
- The difference is withheld with either figure. Each withheld row says why (``reason``).

Multiplicity: within one comparison (pool, or peers) the indexes form a family; the verdict uses
Holm's adjusted p-value (:func:`analysis.changes.holm_bh`) as the wave comparison does, and the
sentence says so where the plain 95% interval leaves out zero but the adjusted test does not.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .changes import holm_bh, satterthwaite_df
from .tables import WaveTables

__all__ = ["agency_index_estimates", "campaign_benchmarks", "describe_benchmark", "BENCHMARK_COLUMNS",
           "ESTIMATE_COLUMNS"]

#: The per-agency input of :func:`campaign_benchmarks`, one row per agency x index.
ESTIMATE_COLUMNS = ["agency", "measure", "estimate", "var", "df", "n", "population"]

#: One row per index x comparison ("pool", "peers").
BENCHMARK_COLUMNS = [
    "measure", "comparison", "own_estimate", "own_se", "own_ci_low", "own_ci_high", "own_n",
    "group_estimate", "group_se", "group_df", "group_ci_low", "group_ci_high", "agencies", "others", "respondents",
    "members", "difference", "se", "df", "ci_low", "ci_high", "p_value", "p_holm", "verdict", "withheld", "reason",
]

#: Why a figure is withheld (the ``reason`` column); the app words them in the visitor's language.
REASONS = {
    "own_few": "too few of your respondents answered",
    "few_agencies": "fewer than the minimum number of other agencies",
    "no_peer_group": "your agency has no peer group",
    "complement": "too few agencies outside the peer group: showing both figures would reveal theirs",
    "no_answers": "nobody in your wave answered",
}


def agency_index_estimates(tables: WaveTables, agency: str) -> pd.DataFrame:
    """Each index of one agency's wave as :func:`campaign_benchmarks` takes it.

    ``tables`` are that wave's own tables (:func:`analysis.tables.wave_tables` with one wave,
    before :func:`analysis.report.withhold_small_cells`): the estimate, its variance (SE squared),
    its own df and n for everyone (no breakdown), and the agency's population, the sum of the
    wave's weights.
    """
    if len(tables.waves) != 1:
        raise ValueError(f"give one wave's tables per agency, not {len(tables.waves)} waves")
    est = tables.estimates
    rows = est[est["by"].isna() & (est["kind"] == "index")]
    population = float(tables.weights["weights_sum"].iloc[0])
    return pd.DataFrame({
        "agency": agency, "measure": rows["measure"].to_numpy(dtype=object),
        "estimate": rows["estimate"].to_numpy(dtype=np.float64), "var": rows["se"].to_numpy(dtype=np.float64) ** 2,
        "df": rows["df"].to_numpy(dtype=np.float64), "n": rows["n"].to_numpy(dtype=np.int64),
        "population": population}, columns=ESTIMATE_COLUMNS)


def _t(level: float, df: Any) -> Any:
    return special.stdtrit(np.maximum(df, 1.0), 0.5 + level / 2)


def _group(rows: pd.DataFrame, own: str, members: Collection[str], min_n: int, level: float) -> dict[str, Any]:
    """The pooled estimate of ``members`` (agencies with at least ``min_n`` answers) and the
    difference of ``own`` from it."""
    use = rows[rows["agency"].isin(list(members)) & (rows["n"] >= min_n) & np.isfinite(rows["estimate"])]
    pop = use["population"].to_numpy(dtype=np.float64)
    if (pop <= 0).any() or not np.isfinite(pop).all():
        bad = use.loc[~(pop > 0), "agency"].tolist()
        raise ValueError(f"agency population (sum of weights) must be positive: check the weights of {bad}")
    share = pop / pop.sum() if len(pop) else pop
    y, v, nu = (use[c].to_numpy(dtype=np.float64) for c in ("estimate", "var", "df"))
    out: dict[str, Any] = {"agencies": len(use), "others": int((use["agency"] != own).sum()),
                           "respondents": int(use["n"].sum()), "members": sorted(use["agency"].tolist())}
    if not len(use):
        return {**out, **dict.fromkeys(("group_estimate", "group_se", "group_df", "group_ci_low", "group_ci_high",
                                        "difference", "se", "df", "ci_low", "ci_high", "p_value"), np.nan)}
    terms = share * share * v
    est = float(share @ y)
    se = float(np.sqrt(terms.sum()))
    df = float(satterthwaite_df(terms, nu))
    q = float(_t(level, df))
    out.update(group_estimate=est, group_se=se, group_df=df, group_ci_low=est - q * se, group_ci_high=est + q * se)
    mine = (use["agency"] == own).to_numpy()
    if mine.any():
        # d = (1 - P_a) y_a - sum_{b != a} P_b y_b: independent agencies, covariance accounted for.
        coef = np.where(mine, 1.0 - share, -share)
        dterms = coef * coef * v
        d = float(coef @ y)
        dse = float(np.sqrt(dterms.sum()))
        ddf = float(satterthwaite_df(dterms, nu))
        dq = float(_t(level, ddf))
        if dse > 0:
            p = float(2 * special.stdtr(max(ddf, 1.0), -abs(d / dse)))
        else:
            p = 1.0 if d == 0 else 0.0
        out.update(difference=d, se=dse, df=ddf, ci_low=d - dq * dse, ci_high=d + dq * dse, p_value=p)
    else:
        out.update(dict.fromkeys(("difference", "se", "df", "ci_low", "ci_high", "p_value"), np.nan))
    return out


def campaign_benchmarks(
    estimates: pd.DataFrame,
    own: str,
    peers: Collection[str] | None = None,
    *,
    min_agencies: int = 5,
    min_n: int = 10,
    level: float = 0.95,
    alpha: float = 0.05,
) -> pd.DataFrame:
    r"""Each index of agency ``own`` beside the campaign's pooled estimate and its peer group's.

    Parameters
    ----------
    estimates : DataFrame
        One row per agency x index (:data:`ESTIMATE_COLUMNS`): ``estimate``, ``var`` and ``df``
        from the agency's own design, ``n`` its respondents who answered, ``population`` its
        population (sum of weights). :func:`agency_index_estimates` makes one agency's rows.
        Every agency here is in the pool; they must be waves of the same questionnaire version.
    own : str
        The agency whose view this is.
    peers : collection of str, optional
        The agencies of ``own``'s peer group (``own`` is added). None: no peer group.
    min_agencies : int
        A pooled or peer figure needs this many agencies other than ``own`` (default 5).
    min_n : int
        An agency's index counts only with this many respondents who answered; ``own``'s figure
        and its differences are withheld below it (default 10, the small-cell threshold).
    level, alpha : float
        Confidence level of every interval; the Holm-adjusted p below ``alpha`` is a clear
        difference.

    Returns
    -------
    DataFrame
        :data:`BENCHMARK_COLUMNS`, one row per index and comparison (``"pool"``, ``"peers"``):
        the agency's own estimate and interval, the group's (``agencies`` in it, ``others``
        besides ``own``, ``respondents``, ``members``), the difference ``own - group`` with its
        SE, Satterthwaite df, interval and p-value, ``p_holm`` within the comparison, ``verdict``
        ("higher", "lower", "no clear difference", or "" when withheld) and ``withheld`` with the
        ``reason`` (a key of :data:`REASONS`). Withheld figures are NaN.

    Notes
    -----
    Agencies are independent strata of one campaign design, so with population shares
    :math:`P_b = N_b/\sum_{c\in G}N_c` over the agencies ``G`` that count,

    .. math::
        \hat\theta_G = \sum_{b\in G} P_b\hat\theta_b,\quad
        \widehat V(\hat\theta_G) = \sum_{b\in G} P_b^2 v_b,\quad
        \widehat V(\hat\theta_a-\hat\theta_G) = (1-P_a)^2 v_a + \sum_{b\neq a} P_b^2 v_b,

    each with Welch-Satterthwaite df from the agencies' own df. The difference from a group that
    contains ``own`` has the same t statistic as the difference from the others (see the module's
    docstring); the interval is :math:`d \pm t_{\nu,0.975}\,SE`.

    References
    ----------
    .. [1] Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, sections 2.3 (domains)
       and 5.2 (``svycontrast``). Wiley.
    .. [2] Cochran, W. G. (1977). Sampling Techniques, 3rd ed., section 5.2 (stratified
       estimation). Wiley.
    .. [3] Satterthwaite, F. E. (1946). An approximate distribution of estimates of variance
       components. Biometrics Bulletin, 2(6), 110-114.

    Examples
    --------
    >>> est = pd.DataFrame({"agency": list("abcdef"), "measure": "trust",
    ...                     "estimate": [60.0, 50, 52, 48, 51, 49], "var": 1.0, "df": 200, "n": 300,
    ...                     "population": [1e5, 2e5, 1e5, 1e5, 1e5, 1e5]})
    >>> r = campaign_benchmarks(est, "a")
    >>> round(float(r["group_estimate"].iloc[0]), 3), r["verdict"].iloc[0]
    (51.429, 'higher')
    """
    missing = [c for c in ESTIMATE_COLUMNS if c not in estimates.columns]
    if missing:
        raise ValueError(f"estimates lack columns {missing}: make them with agency_index_estimates()")
    if min_agencies < 1 or min_n < 1:
        raise ValueError("min_agencies and min_n must be at least 1")
    if own not in set(estimates["agency"]):
        raise ValueError(f"agency {own!r} has no estimates: its own wave must be among them")
    everyone = set(estimates["agency"])
    group_of = {"pool": everyone, "peers": None if peers is None else (set(peers) | {own}) & everyone}
    rows = []
    for measure, part in estimates.groupby("measure", sort=False):
        mine = part[part["agency"] == own]
        if len(mine) != 1:
            raise ValueError(f"agency {own!r} has {len(mine)} rows for {measure!r}: give one per agency and index")
        m = mine.iloc[0]
        own_ok = bool(m["n"] >= min_n and np.isfinite(m["estimate"]))
        own_se = float(np.sqrt(m["var"])) if own_ok else np.nan
        q = float(_t(level, m["df"]))
        base = {"measure": measure, "own_n": int(m["n"]),
                "own_estimate": float(m["estimate"]) if own_ok else np.nan, "own_se": own_se,
                "own_ci_low": float(m["estimate"]) - q * own_se if own_ok else np.nan,
                "own_ci_high": float(m["estimate"]) + q * own_se if own_ok else np.nan}
        pool = None
        for comparison in ("pool", "peers"):
            members = group_of[comparison]
            if members is None:
                g = _group(part.iloc[0:0], own, (), min_n, level)
                reason = "no_peer_group"
            else:
                g = _group(part, own, members, min_n, level)
                reason = ""
                if g["others"] < min_agencies:
                    reason = "few_agencies"
                elif comparison == "peers" and pool is not None:
                    outside = len(set(pool["members"]) - set(g["members"]))
                    if 0 < outside < min_agencies:
                        reason = "complement"
            if comparison == "pool":
                pool = g
            row = {**base, "comparison": comparison, **g, "withheld": bool(reason), "reason": reason}
            if reason:
                for k in ("group_estimate", "group_se", "group_df", "group_ci_low", "group_ci_high"):
                    row[k] = np.nan
            if reason or not own_ok:
                for k in ("difference", "se", "df", "ci_low", "ci_high", "p_value"):
                    row[k] = np.nan
                if not reason:
                    row["reason"] = "no_answers" if m["n"] == 0 else "own_few"
            rows.append(row)
    out = pd.DataFrame(rows)
    out["p_holm"] = np.nan
    for _comparison, idx in out.groupby("comparison").indices.items():
        out.loc[out.index[idx], "p_holm"] = holm_bh(out["p_value"].to_numpy(dtype=np.float64)[idx])[0]
    diff = out["difference"].to_numpy(dtype=np.float64)
    clear = out["p_holm"].to_numpy(dtype=np.float64) < alpha
    out["verdict"] = np.where(np.isnan(diff), "", np.where(clear & (diff > 0), "higher",
                                                          np.where(clear & (diff < 0), "lower", "no clear difference")))
    return out[BENCHMARK_COLUMNS]


def describe_benchmark(row: Any, label: str, *, level: float = 0.95) -> str:
    """One plain English sentence about one benchmark row, e.g. "Trust score: 61.2, higher than the
    campaign's pooled estimate of 55.0 (difference +6.2 points, 95% CI 3.1 to 9.3)."
    """
    group = "the campaign's pooled estimate" if row["comparison"] == "pool" else "your peer group's estimate"
    if row["withheld"] or not row["verdict"]:
        return f"{label}: compared with {group}: withheld ({REASONS[row['reason']]})."
    pct = int(round(level * 100))
    diff = f"difference {row['difference']:+.1f} points, {pct}% CI {row['ci_low']:.1f} to {row['ci_high']:.1f}"
    own, other = f"{row['own_estimate']:.1f}", f"{row['group_estimate']:.1f}"
    if row["verdict"] == "no clear difference":
        return f"{label}: {own}, no clear difference from {group} of {other} ({diff})."
    return f"{label}: {own}, {row['verdict']} than {group} of {other} ({diff})."
