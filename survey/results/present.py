"""Turning the analysis tables into what pages show: labels in the visitor's language, numbers
formatted for the locale, plain sentences about changes, and the charts."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
from babel.numbers import format_percent as babel_percent
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

from analysis.io import Codebook
from analysis.plots import Series, small_multiples_svg, trend_svg

from ..context import locale_code
from ..formats import LRI, PDI, RLI, Filled, ltr, ltr_text, right_to_left
from ..models import today


def lang() -> str:
    return locale_code()


@functools.lru_cache(maxsize=32)
def _symbols(code: str) -> tuple[dict[int, str], str]:
    """The locale's decimal and group symbols (as a str.translate table) and its percent sign."""
    return ({ord("."): get_decimal_symbol(code), ord(","): get_group_symbol(code)},
            babel_percent(0.5, "0%", locale=code).replace("50", ""))


def fixed(value: float | int, decimals: int = 1, *, signed: bool = False, percent: bool = False) -> str:
    """``value`` with ``decimals`` places, thousands grouped, in the visitor's locale: the same text
    as Babel's ``format_decimal(value, "#,##0.0")`` (half-even rounding of the decimal value), at a
    fraction of the cost; a comparison page formats thousands of numbers. The tests compare both."""
    table, sign = _symbols(lang())
    number = Decimal(repr(float(value)) if isinstance(value, float) else value)
    if percent:
        number *= 100
    text = f"{number:{'+' if signed else ''},.{decimals}f}".translate(table)
    return text + sign if percent else text


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


def by_label(codebook: Codebook | None, by: str) -> str:
    """A breakdown's short name (the codebook's label is the question's wording)."""
    names = {"district": _("District"), "age_band": _("Age band"), "sex": _("Sex"), "race_eth": _("Race and ethnicity"),
             "tenure": _("Housing tenure"), "education": _("Education"), "home_language": _("Language spoken at home")}
    return names.get(by) or (measure_label(codebook, by) if codebook is not None else by)


def review_status(status: str) -> str:
    """A questionnaire translation's review status in words."""
    return {"draft": _("draft, not reviewed"), "reviewed": _("reviewed"), "approved": _("approved")}.get(status, status)


def is_proportion(row: Any) -> bool:
    return row["scale"] == "proportion"


def number(value: float | None, row: Any) -> str:
    """An estimate: a percentage for proportions, one decimal for scores and means."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if is_proportion(row):
        return fixed(round(value, 3) + 0.0, percent=True)
    return fixed(round(value, 1) + 0.0)


def change(value: float, row: Any, signed: bool = True) -> str:
    """A difference in points (percentage points for proportions); never "-0.0" (a change that
    rounds to nothing has no sign)."""
    if value is None or math.isnan(value):
        return "–"
    shown = round(value * 100 if is_proportion(row) else value, 1)
    if shown == 0:
        return fixed(0.0)
    return fixed(shown, signed=signed)


def pvalue(p: float | None) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if p < 0.001:
        return "< " + fixed(0.001, 3)
    return fixed(p, 3)


def deff(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fixed(value, 2)


def sentence(row: Any, label: str, level: float, adjust: str = "holm", alpha: float = 0.05) -> str:
    """The plain sentence about one change, in the visitor's language."""
    pct = int(round(level * 100))
    low, high = ltr_text(change(row["ci_low"], row, signed=False)), ltr_text(change(row["ci_high"], row, signed=False))
    first, last = ltr_text(row["wave_from"]), ltr_text(row["wave_to"])
    if row["too_few"]:
        return _("%(label)s: too few responses to compare %(first)s with %(last)s (%(n1)s and %(n2)s).",
                 label=label, first=first, last=last, n1=row["n_from"], n2=row["n_to"])
    p = row["p_holm"] if adjust == "holm" else row["p_bh"]
    size = ltr_text(change(abs(row["difference"]), row, signed=False))
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
    if row["ci_low"] > 0 or row["ci_high"] < 0:
        # The unadjusted interval leaves out zero but the adjusted test does not: say both.
        return _("%(label)s: no detectable change from %(first)s to %(last)s once the other comparisons in this table "
                 "are allowed for (%(change)s points; unadjusted %(pct)s%% CI %(low)s to %(high)s; adjusted p %(p)s).",
                 label=label, first=first, last=last, change=ltr_text(change(row["difference"], row)), pct=pct, low=low,
                 high=high, p=ltr_text(pvalue(p)))
    return _("%(label)s: no detectable change from %(first)s to %(last)s (%(change)s points, %(pct)s%% CI %(low)s to %(high)s).",
             label=label, first=first, last=last, change=ltr_text(change(row["difference"], row)), pct=pct, low=low,
             high=high)


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
        values = [float(rows.at[w, name]) * k if w in rows.index and rows.at[w, "n"] > 0 else None for w in waves]
        return [None if v is None or math.isnan(v) else v for v in values]  # NaN: withheld

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
    return trend_svg(_drawn(lines), title=chart_text(title), desc=f"{alt} {note}", ylabel=score_axis_label(),
                     rtl=right_to_left()), alt


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
        panels.append((chart_text(s.label), _drawn([everyone, s])))
        lines.append(s)
    title = _("%(measure)s by %(group)s", measure=measure_label(codebook, measure), group=by_label(codebook, by).lower())
    alt = trend_alt(lines, level)
    note = _("Gray dashed line: everyone. Shaded: %(pct)s%% confidence interval.", pct=int(round(level * 100)))
    return small_multiples_svg(panels, title=chart_text(title), desc=f"{alt} {note}", note=chart_text(note),
                               rtl=right_to_left()), alt


def gap_chart(est: pd.DataFrame, codebook: Codebook, measure: str, by: str, domains: list[str],
              level: float) -> tuple[str, str]:
    """Gaps between groups over time: one labeled line per group."""
    lines = [series(est, measure, value_label(codebook, by, d), by=by, domain=str(d)) for d in domains]
    title = _("%(measure)s by %(group)s", measure=measure_label(codebook, measure), group=by_label(codebook, by).lower())
    alt = trend_alt(lines, level)
    note = _("Shaded: %(pct)s%% confidence interval.", pct=int(round(level * 100)))
    return trend_svg(_drawn(lines), title=chart_text(title), desc=f"{alt} {note}", ylabel=score_axis_label(),
                     rtl=right_to_left()), alt


def chart_alt(kind: str, est: pd.DataFrame, codebook: Codebook, measure: str, by: str, domains: list[str],
              level: float) -> str:
    """The text alternative of a chart without drawing it (the page needs only the words)."""
    if kind == "trend":
        return trend_alt([series(est, measure, measure_label(codebook, measure))], level)
    return trend_alt([series(est, measure, value_label(codebook, by, d), by=by, domain=str(d)) for d in domains], level)


def _cell(e: Any, row: Any, min_n: int) -> dict[str, Any]:
    withheld = int(e["n"]) < min_n
    return {"estimate": number(e["estimate"], row), "low": number(e["ci_low"], row), "high": number(e["ci_high"], row),
            "n": fixed(int(e["n"]), 0), "deff": deff(e["deff"]), "withheld": withheld}


def verdict(c: Any, adjust: str, alpha: float) -> str:
    """A change in two or three words: the adjusted test's answer."""
    if c["too_few"]:
        return _("Too few to compare")
    p = c["p_holm"] if adjust == "holm" else c["p_bh"]
    if p < alpha:
        return _("Detectable rise") if c["difference"] > 0 else _("Detectable fall")
    return _("No detectable change")


def wave_columns(comparison: Any) -> list[dict[str, Any]]:
    """The compared waves in order, each marked provisional while it can still take answers."""
    day = today()
    by_slug = {w.slug: w for w in comparison.waves}
    return [{"slug": slug, "title": by_slug[slug].title if slug in by_slug else slug,
             "provisional": slug in by_slug and by_slug[slug].last_day() >= day} for slug in comparison.tables.waves]


class CompareView:
    """What each section of the comparison page shows, built only when that section is asked for."""

    def __init__(self, comparison: Any, by: str, adjust: str) -> None:
        self.comparison, self.by, self.adjust = comparison, by, adjust
        t = self.t = comparison.tables
        self.cb = comparison.codebook
        est = t.estimates
        # Plain object columns: iterating pandas' string arrays costs a call per cell.
        self._est = est.assign(by=est["by"].fillna("").astype(object), domain=est["domain"].fillna("").astype(object),
                               wave=est["wave"].astype(object))
        ch = t.changes[t.changes["comparable"].astype(bool)]  # a change involving a wave without answers is not shown
        ch = ch.assign(by=ch["by"].fillna("").astype(object), domain=ch["domain"].fillna("").astype(object))
        self._changes = ch
        self.indexes = t.measures[t.measures["kind"] == "index"]
        self.items = t.measures[t.measures["kind"] != "index"]
        self.pct = int(round(t.level * 100))
        self._lookups: dict[str, dict[tuple, dict[str, Any]]] = {}
        self._change_maps: dict[str, dict[str, dict[tuple, dict[str, Any]]]] = {}

    def _lookup(self, group: str) -> dict[tuple, dict[str, Any]]:
        if group not in self._lookups:
            e = self._est[self._est["by"].to_numpy() == group]
            self._lookups[group] = {(r.mi, r.domain, r.wave): r._asdict() for r in e.itertuples(index=False)}
        return self._lookups[group]

    def _change_map(self, kind: str, group: str) -> dict[tuple, dict[str, Any]]:
        if kind not in self._change_maps:
            ch = self._changes
            maps: dict[str, dict[tuple, dict[str, Any]]] = {}
            for r in ch[ch["comparison"].to_numpy() == kind].itertuples(index=False):
                maps.setdefault(r.by, {})[(r.mi, r.domain)] = r._asdict()
            self._change_maps[kind] = maps
        return self._change_maps[kind].get(group, {})

    def change_text(self, c: dict[str, Any], label: str) -> dict[str, Any]:
        p = c["p_holm"] if self.adjust == "holm" else c["p_bh"]
        return {"difference": change(c["difference"], c), "low": change(c["ci_low"], c), "high": change(c["ci_high"], c),
                "p": pvalue(p), "too_few": bool(c["too_few"]), "verdict": verdict(c, self.adjust, self.t.alpha),
                "detectable": bool(p < self.t.alpha) and not c["too_few"],
                "sentence": sentence(c, label, self.t.level, self.adjust, self.t.alpha)}

    def rows(self, measures: pd.DataFrame, group: str = "", domains: list[str] | None = None) -> list[dict[str, Any]]:
        """Per measure (and domain of ``group``): the wave estimates and the first-to-last change."""
        t, cb = self.t, self.cb
        domains = domains if domains is not None else [""]
        lookup = self._lookup(group)
        changes = self._change_map("first_last", group)
        out = []
        for m in measures.itertuples(index=False):
            mrow = m._asdict()
            label = row_label(cb, mrow)
            for d in domains:
                cells = [(_cell(lookup[(m.mi, d, w)], mrow, t.min_n) if (m.mi, d, w) in lookup else None) for w in t.waves]
                if not any(cells):
                    continue
                domain = value_label(cb, group, d) if group else ""
                c = changes.get((m.mi, d))
                out.append({"label": label, "measure": m.measure, "domain": domain, "cells": cells,
                            "change": None if c is None else self.change_text(c, f"{label} ({domain})" if group else label)})
        return out

    def _detectable(self, measures: pd.DataFrame, group: str, domains: list[str]) -> list[dict[str, Any]]:
        """First-to-last changes that the adjusted test finds, as rows with their sentence (no cells)."""
        changes = self._change_map("first_last", group)
        column = "p_holm" if self.adjust == "holm" else "p_bh"
        out = []
        for m in measures.itertuples(index=False):
            for d in domains:
                c = changes.get((m.mi, d))
                if c is None or c["too_few"] or not c[column] < self.t.alpha:
                    continue
                label = row_label(self.cb, m._asdict())
                domain = value_label(self.cb, group, d) if group else ""
                out.append({"label": label, "domain": domain, "size": abs(c["difference"] / (c["se"] or 1)),
                            "change": self.change_text(c, f"{label} ({domain})" if group else label)})
        return sorted(out, key=lambda r: -r["size"])

    def findings(self) -> dict[str, Any]:
        """The main findings: each index's change, then the questions and groups that changed detectably
        (largest first, by the size of the change against its standard error)."""
        items = self.items
        overall = self._change_map("first_last", "")
        n_items = sum(1 for mi in items["mi"] if (mi, "") in overall)
        detectable_items = self._detectable(items, "", [""])
        # Districts first (the sampling strata), then other groups; the largest changes first in each.
        groups = [{**r, "first": i} for i, b in enumerate(self.t.breakdowns)
                  for r in self._detectable(self.indexes, b, self.t.domains[b])]
        groups.sort(key=lambda r: (r["first"] > 0, -r["size"]))
        return {"indexes": self.rows(self.indexes), "items": detectable_items[:8], "n_items": n_items,
                "n_items_detectable": len(detectable_items), "groups": groups[:12], "n_groups": len(groups)}

    def group_tables(self) -> list[dict[str, Any]]:
        domains = self.t.domains.get(self.by, [])
        return [{"key": ix, "label": measure_label(self.cb, ix), "rows": self.rows(self.indexes[self.indexes["measure"] == ix], self.by, domains)}
                for ix in self.indexes["measure"]]

    def question_groups(self) -> list[dict[str, Any]]:
        return self.rows(self.items, self.by, self.t.domains.get(self.by, []))

    def not_compared(self) -> list[dict[str, str]]:
        return [{"label": measure_label(self.cb, r.measure), "reason": r.reason} for r in self.t.not_compared.itertuples(index=False)]

    def weights(self) -> list[dict[str, str]]:
        rates = self.comparison.rates
        return [
            {"wave": r.wave, "n": format_decimal(r.n, "#,##0"), "deff": deff(r.kish_deff),
             "effective_n": format_decimal(round(r.effective_n), "#,##0"),
             "rr1": format_percent(rates[r.wave]["rr1"], "#,##0.0%") if rates.get(r.wave, {}).get("rr1") is not None else "–",
             "invited": format_decimal(rates[r.wave]["invited"], "#,##0") if r.wave in rates else "–"}
            for r in self.t.weights.itertuples(index=False)]

    def margins(self) -> list[str]:
        return [by_label(self.cb, m) for m in sorted(self.cb.target_margins())]

    def breakdowns(self) -> list[tuple[str, str]]:
        return [(b, by_label(self.cb, b)) for b in self.t.breakdowns]

    def indexes_list(self) -> list[tuple[str, str]]:
        return [(ix, measure_label(self.cb, ix)) for ix in self.indexes["measure"]]


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
    return trend_svg(_drawn([shown]), title=shown.label, desc=f"{alt} {axis_note()}", ylabel=score_axis_label(),
                     show_title=False)


#: The charts' drawing: raised whenever it changes, so that a cached file of an older drawing is
#: never served (it is in every cached chart's name).
CHART_DRAWING = 7

#: A run of digits with the signs between them ("0-100", "4.3%"): one number to a reader.
_DIGIT_RUN = re.compile(r"\d(?:[\d.,:%\u2013-]*\d)?%?")


def chart_text(text: str) -> str:
    """``text`` as a chart draws it. A chart's text is laid out by the browser inside the SVG,
    left to right, where no <bdi> can reach. In a right-to-left language each line
    with a right-to-left letter is isolated as right to left (RLI ... PDI: "65 أو أكثر" read
    "أو أكثر 65"), and each run of digits in it as left to right (LRI ... PDI: "0-100" after an
    Arabic word read "100-0")."""
    if not right_to_left():
        return text
    return "\n".join(_right_to_left(line) for line in text.split("\n"))


def _right_to_left(line: str) -> str:
    """One line of a chart in a right-to-left language; a line with no right-to-left letter (a
    wave's code, "2025-q4", a year) already reads as it should and is left alone."""
    if not any(unicodedata.bidirectional(c) in ("R", "AL") for c in line):
        return line
    return RLI + _DIGIT_RUN.sub(lambda m: LRI + m.group(0) + PDI, line) + PDI


def _drawn(lines: list[Series]) -> list[Series]:
    """The lines with their labels and the waves' names as the chart draws them (:func:`chart_text`)."""
    return [Series(chart_text(s.label), [chart_text(x) for x in s.x], s.y, s.low, s.high) for s in lines]


def score_axis_label() -> str:
    """The charts' y-axis label."""
    return chart_text(_("Score (0-100)"))


def axis_note() -> str:
    from analysis.plots import SCORE_SPAN

    return _("The shaded band is the range. The chart shows at least %(span)s of the 100 points of the scale, so "
             "that small changes do not look large.", span=SCORE_SPAN)
