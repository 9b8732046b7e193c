"""Turning the analysis tables into what pages show: labels in the visitor's language, numbers
formatted for the locale, plain sentences about changes, and the charts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pandas as pd
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

from analysis.io import Codebook
from analysis.plots import Series, small_multiples_svg, trend_svg

from ..context import locale_code
from ..formats import Filled, ltr


def lang() -> str:
    return locale_code()


def measure_label(codebook: Codebook, key: str, language: str | None = None) -> str:
    return codebook.label(key, language or lang())


def value_label(codebook: Codebook, variable: str, code: Any, language: str | None = None) -> str:
    """The label of one code of a variable (a choice, an age band, a district)."""
    language = language or lang()
    for value in codebook.variables.get(variable, {}).get("values", []) or []:
        if str(value["code"]) == str(code):
            labels = value.get("label") or {}
            return labels.get(language) or labels.get("en") or str(code)
    return str(code)


def row_label(codebook: Codebook, row: Any) -> str:
    """"Trust score", "Overall job rating: Excellent" or "Contact – stopped on foot"."""
    label = measure_label(codebook, row["measure"])
    category = row.get("category") if isinstance(row, dict) else row["category"]
    if isinstance(category, str) and category:
        return _("%(question)s: %(answer)s", question=label, answer=value_label(codebook, row["measure"], category))
    return label


def by_label(codebook: Codebook, by: str) -> str:
    """A breakdown's short name (the codebook's label is the question's wording)."""
    names = {"district": _("District"), "age_band": _("Age band"), "sex": _("Sex"), "race_eth": _("Race and ethnicity"),
             "tenure": _("Housing tenure"), "education": _("Education"), "home_language": _("Language spoken at home")}
    return names.get(by) or measure_label(codebook, by)


def is_proportion(row: Any) -> bool:
    return row["scale"] == "proportion"


def number(value: float | None, row: Any) -> str:
    """An estimate: a percentage for proportions, one decimal for scores and means."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if is_proportion(row):
        return format_percent(value, "#,##0.0%")
    return format_decimal(value, "#,##0.0")


def change(value: float, row: Any, signed: bool = True) -> str:
    """A difference in points (percentage points for proportions)."""
    if value is None or math.isnan(value):
        return "–"
    shown = value * 100 if is_proportion(row) else value
    return format_decimal(shown, "+#,##0.0;-#,##0.0" if signed else "#,##0.0")


def pvalue(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if p < 0.001:
        return "< " + format_decimal(0.001, "0.000")
    return format_decimal(p, "0.000")


def deff(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format_decimal(value, "0.00")


def sentence(row: Any, label: str, level: float, adjust: str = "holm", alpha: float = 0.05) -> str:
    """The plain sentence about one change, in the visitor's language."""
    pct = int(round(level * 100))
    low, high = change(row["ci_low"], row, signed=False), change(row["ci_high"], row, signed=False)
    first, last = row["wave_from"], row["wave_to"]
    if row["too_few"]:
        return _("%(label)s: too few responses to compare %(first)s with %(last)s (%(n1)s and %(n2)s).",
                 label=label, first=first, last=last, n1=row["n_from"], n2=row["n_to"])
    p = row["p_holm"] if adjust == "holm" else row["p_bh"]
    size = change(abs(row["difference"]), row, signed=False)
    if p < alpha and row["comparison"] == "trend":
        if row["difference"] > 0:
            return _("%(label)s rose by %(size)s points a wave from %(first)s to %(last)s (%(pct)s%% CI %(low)s to %(high)s); "
                     "this trend is larger than chance would explain.", label=label, size=size, first=first, last=last,
                     pct=pct, low=low, high=high)
        return _("%(label)s fell by %(size)s points a wave from %(first)s to %(last)s (%(pct)s%% CI %(low)s to %(high)s); "
                 "this trend is larger than chance would explain.", label=label, size=size, first=first, last=last,
                 pct=pct, low=low, high=high)
    if p < alpha:
        if row["difference"] > 0:
            return _("%(label)s rose %(size)s points from %(first)s to %(last)s (%(pct)s%% CI %(low)s to %(high)s); "
                     "this change is larger than chance would explain.", label=label, size=size, first=first, last=last,
                     pct=pct, low=low, high=high)
        return _("%(label)s fell %(size)s points from %(first)s to %(last)s (%(pct)s%% CI %(low)s to %(high)s); "
                 "this change is larger than chance would explain.", label=label, size=size, first=first, last=last,
                 pct=pct, low=low, high=high)
    return _("%(label)s: no detectable change from %(first)s to %(last)s (%(change)s points, %(pct)s%% CI %(low)s to %(high)s).",
             label=label, first=first, last=last, change=change(row["difference"], row), pct=pct, low=low, high=high)


def series(est: pd.DataFrame, measure: str, label: str, by: str | None = None, domain: str | None = None,
           category: str | None = None, waves: list[str] | None = None) -> Series:
    """One line of a chart from the estimates table (estimates in points: proportions x 100)."""
    sel = est["measure"] == measure
    sel &= est["by"].isna() if by is None else est["by"] == by
    if domain is not None:
        sel &= est["domain"] == domain
    sel &= est["category"].isna() if category is None else est["category"] == category
    rows = est[sel].set_index("wave")
    waves = waves or list(rows.index)
    k = 100.0 if (not rows.empty and rows["scale"].iloc[0] == "proportion") else 1.0

    def col(name: str) -> list[float | None]:
        return [float(rows.at[w, name]) * k if w in rows.index else None for w in waves]

    return Series(label, waves, col("estimate"), col("ci_low"), col("ci_high"))


def _ends(lines: list[Series]) -> Iterator[tuple[Series, tuple[Any, ...], tuple[Any, ...], int]]:
    """Each line with an estimate: the line, its first and last (wave, estimate, low, high), and
    how many waves have an estimate."""
    for s in lines:
        pts = [(x, y, lo, hi) for x, y, lo, hi in zip(s.x, s.y, s.low or s.y, s.high or s.y, strict=True) if y is not None]
        if pts:
            yield s, pts[0], pts[-1], len(pts)


def trend_alt(lines: list[Series], level: float) -> str:
    """The text alternative of a trend chart: where each line started and ended, with intervals."""
    parts = []
    for s, (x0, y0, lo0, hi0), (x1, y1, lo1, hi1), count in _ends(lines):
        if count == 1:
            parts.append(_("%(label)s: %(value)s in %(wave)s (%(pct)s%% CI %(low)s to %(high)s).", label=s.label,
                           value=format_decimal(y0, "0"), wave=x0, pct=int(round(level * 100)),
                           low=format_decimal(lo0, "0"), high=format_decimal(hi0, "0")))
        else:
            parts.append(_("%(label)s went from %(first)s in %(wave1)s (%(pct)s%% CI %(low1)s to %(high1)s) to %(last)s "
                           "in %(wave2)s (%(low2)s to %(high2)s).", label=s.label, first=format_decimal(y0, "0"), wave1=x0,
                           pct=int(round(level * 100)), low1=format_decimal(lo0, "0"), high1=format_decimal(hi0, "0"),
                           last=format_decimal(y1, "0"), wave2=x1, low2=format_decimal(lo1, "0"),
                           high2=format_decimal(hi1, "0")))
    return " ".join(parts)


def trend_chart(est: pd.DataFrame, codebook: Codebook, measures: list[str], title: str, level: float) -> tuple[str, str]:
    lines = [series(est, m, measure_label(codebook, m)) for m in measures]
    alt = trend_alt(lines, level)
    note = _("Shaded: %(pct)s%% confidence interval.", pct=int(round(level * 100)))
    return trend_svg(lines, title=title, desc=f"{alt} {note}", ylabel=_("Score (0-100)")), alt


def domain_chart(est: pd.DataFrame, codebook: Codebook, measure: str, by: str, domains: list[str],
                 level: float, min_n: int = 0) -> tuple[str, str]:
    """Small multiples: the measure in each domain (in color) against everyone (gray)."""
    everyone = series(est, measure, _("Everyone"))
    panels = []
    lines = []
    for d in domains:
        s = series(est, measure, value_label(codebook, by, d), by=by, domain=str(d), waves=list(everyone.x))
        if min_n:
            sel = est[(est["measure"] == measure) & (est["by"] == by) & (est["domain"] == str(d)) & est["category"].isna()]
            small = set(sel.loc[sel["n"] < min_n, "wave"])
            s = Series(s.label, s.x, [None if x in small else v for x, v in zip(s.x, s.y, strict=True)],
                       [None if x in small else v for x, v in zip(s.x, s.low, strict=True)],
                       [None if x in small else v for x, v in zip(s.x, s.high, strict=True)])
        panels.append((s.label, [everyone, s]))
        lines.append(s)
    title = _("%(measure)s by %(group)s", measure=measure_label(codebook, measure), group=by_label(codebook, by).lower())
    alt = trend_alt(lines, level)
    note = _("Gray dashed line: everyone. Shaded: %(pct)s%% confidence interval.", pct=int(round(level * 100)))
    return small_multiples_svg(panels, title=title, desc=f"{alt} {note}", note=note), alt


def gap_chart(est: pd.DataFrame, codebook: Codebook, measure: str, by: str, domains: list[str],
              level: float) -> tuple[str, str]:
    """Gaps between groups over time: one labeled line per group."""
    lines = [series(est, measure, value_label(codebook, by, d), by=by, domain=str(d)) for d in domains]
    title = _("%(measure)s by %(group)s", measure=measure_label(codebook, measure), group=by_label(codebook, by).lower())
    alt = trend_alt(lines, level)
    note = _("Shaded: %(pct)s%% confidence interval.", pct=int(round(level * 100)))
    return trend_svg(lines, title=title, desc=f"{alt} {note}", ylabel=_("Score (0-100)")), alt


def chart_alt(kind: str, est: pd.DataFrame, codebook: Codebook, measure: str, by: str, domains: list[str],
              level: float) -> str:
    """The text alternative of a chart without drawing it (the page needs only the words)."""
    if kind == "trend":
        return trend_alt([series(est, measure, measure_label(codebook, measure))], level)
    return trend_alt([series(est, measure, value_label(codebook, by, d), by=by, domain=str(d)) for d in domains], level)


def _cell(e: Any, row: Any) -> dict[str, str]:
    return {"estimate": number(e["estimate"], row), "low": number(e["ci_low"], row), "high": number(e["ci_high"], row),
            "n": format_decimal(int(e["n"]), "#,##0"), "deff": deff(e["deff"])}


def compare_view(comparison: Any, by: str, adjust: str) -> dict[str, Any]:
    """Rows for the comparison page: per measure (and per domain of ``by``) the wave estimates,
    the change from the first to the last wave, its interval, p-values and the sentence."""
    t = comparison.tables
    cb = comparison.codebook
    est = t.estimates.assign(by=t.estimates["by"].fillna(""), domain=t.estimates["domain"].fillna(""))
    lookup = {(r.mi, r.by, r.domain, r.wave): r._asdict() for r in est.itertuples(index=False)}
    ch = t.changes
    main = ch[ch["comparison"] == "first_last"].assign(by=lambda d: d["by"].fillna(""), domain=lambda d: d["domain"].fillna(""))
    trend = ch[ch["comparison"] == "trend"].assign(by=lambda d: d["by"].fillna(""), domain=lambda d: d["domain"].fillna(""))
    changes = {(r.mi, r.by, r.domain): r._asdict() for r in main.itertuples(index=False)}
    trends = {(r.mi, r.by, r.domain): r._asdict() for r in trend.itertuples(index=False)}

    def rows(measures: pd.DataFrame, group: str, domains: list[str]) -> list[dict[str, Any]]:
        out = []
        for m in measures.itertuples(index=False):
            mrow = m._asdict()
            label = row_label(cb, mrow)
            for d in domains:
                cells = [(_cell(lookup[(m.mi, group, d, w)], mrow) if (m.mi, group, d, w) in lookup else None) for w in t.waves]
                if not any(cells):
                    continue
                c = changes.get((m.mi, group, d))
                tr = trends.get((m.mi, group, d))
                out.append({
                    "label": label, "measure": m.measure, "domain": value_label(cb, group, d) if group else "",
                    "cells": cells,
                    "change": None if c is None else {
                        "difference": change(c["difference"], c), "low": change(c["ci_low"], c), "high": change(c["ci_high"], c),
                        "p_holm": pvalue(c["p_holm"]), "p_bh": pvalue(c["p_bh"]), "too_few": c["too_few"],
                        "detectable": bool((c["p_holm"] if adjust == "holm" else c["p_bh"]) < t.alpha) and not c["too_few"],
                        "sentence": sentence(c, label if not group else f"{label} ({value_label(cb, group, d)})", t.level, adjust, t.alpha)},
                    "trend": None if tr is None else {
                        "difference": change(tr["difference"], tr), "low": change(tr["ci_low"], tr),
                        "high": change(tr["ci_high"], tr), "p": pvalue(tr["p_holm"] if adjust == "holm" else tr["p_bh"])},
                })
        return out

    indexes = t.measures[t.measures["kind"] == "index"]
    items = t.measures[t.measures["kind"] != "index"]
    domains = t.domains.get(by, [])
    return {
        "indexes": rows(indexes, "", [""]),
        "items": rows(items, "", [""]),
        "index_domains": {ix: rows(indexes[indexes["measure"] == ix], by, domains) for ix in indexes["measure"]} if by else {},
        "item_domains": rows(items, by, domains) if by else [],
        "not_compared": [{"label": measure_label(cb, r.measure), "key": r.measure, "reason": r.reason}
                         for r in t.not_compared.itertuples(index=False)],
        "weights": [
            {"wave": r.wave, "n": format_decimal(r.n, "#,##0"), "deff": deff(r.kish_deff),
             "effective_n": format_decimal(round(r.effective_n), "#,##0"),
             "rr1": format_percent(comparison.rates[r.wave]["rr1"], "#,##0.0%") if comparison.rates.get(r.wave, {}).get("rr1") is not None else "–",
             "invited": format_decimal(comparison.rates[r.wave]["invited"], "#,##0") if r.wave in comparison.rates else "–"}
            for r in t.weights.itertuples(index=False)],
        "margins": sorted(comparison.codebook.target_margins()),
        "breakdowns": [(b, by_label(cb, b)) for b in t.breakdowns],
        "indexes_list": [(ix, measure_label(cb, ix)) for ix in indexes["measure"]],
    }


# ------------------------------------------------------------------ the public results page
# One plain word for the interval ("range"), explained once on the page; survey waves named by
# the months they ran, in the visitor's language; numbers isolated for right-to-left pages.


def public_sentence(row: Any, label: str, first: str, last: str, alpha: float = 0.05) -> Filled | None:
    """The plain sentence about the change from the first to the last published wave."""
    if row["too_few"]:
        return None
    size = ltr(change(abs(row["difference"]), row, signed=False))
    if row["p_holm"] < alpha:
        if row["difference"] > 0:
            text = _("%(label)s rose by %(size)s points from %(first)s to %(last)s. A change this large is unlikely "
                     "to be chance.")
        else:
            text = _("%(label)s fell by %(size)s points from %(first)s to %(last)s. A change this large is unlikely "
                     "to be chance.")
    else:
        text = _("%(label)s: no detectable change from %(first)s to %(last)s. A difference of %(size)s points "
                 "could be chance.")
    return Filled(text, label=label, size=size, first=first, last=last)


def public_alt(lines: list[Series]) -> str:
    """The text alternative of a public chart: where the line started and ended, with ranges."""
    parts = []
    for s, (x0, y0, lo0, hi0), (x1, y1, lo1, hi1), _count in _ends(lines):
        whole = {"first": format_decimal(y0, "0"), "low1": format_decimal(lo0, "0"), "high1": format_decimal(hi0, "0"),
                 "last": format_decimal(y1, "0"), "low2": format_decimal(lo1, "0"), "high2": format_decimal(hi1, "0")}
        parts.append(_("%(label)s went from %(first)s in %(wave1)s (range %(low1)s to %(high1)s) to %(last)s in "
                       "%(wave2)s (range %(low2)s to %(high2)s).", label=s.label, wave1=x0, wave2=x1, **whole))
    return " ".join(parts)


def public_line(est: pd.DataFrame, codebook: Codebook, measure: str, names: dict[str, str]) -> Series:
    """The line of one measure with each wave named from ``names`` (wave key -> name)."""
    line = series(est, measure, measure_label(codebook, measure))
    return Series(line.label, [names.get(x, x) for x in line.x], line.y, line.low, line.high)


def public_chart(est: pd.DataFrame, codebook: Codebook, measure: str, titles: dict[str, str],
                 ticks: dict[str, str]) -> str:
    """A public trend chart: the axis labeled with the months of each wave, the title left to the page."""
    shown = public_line(est, codebook, measure, ticks)
    alt = public_alt([public_line(est, codebook, measure, titles)])
    return trend_svg([shown], title=shown.label, desc=f"{alt} {axis_note()}", ylabel=_("Score (0-100)"),
                     show_title=False)


def axis_note() -> str:
    from analysis.plots import SCORE_SPAN

    return _("The shaded band is the range. The chart shows at least %(span)s of the 100 points of the scale, so "
             "that small changes do not look large.", span=SCORE_SPAN)
