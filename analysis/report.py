"""A self-contained report of survey waves: one HTML file (charts embedded) plus the tables as CSV.

``write_report`` runs the whole pipeline on an export table: weights and estimates of every index
and question overall and by domain (:func:`analysis.tables.wave_tables`), the charts
(:mod:`analysis.plots`), the methodology in words, and writes ``report.html``,
``estimates.csv``, ``changes.csv``, ``weights.csv`` and ``not_compared.csv`` into a folder. It
reports progress through a callback and returns the seconds each stage took (the benchmark
prints them). The report is English; the platform's pages are the translated view.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .io import Codebook
from .sae import area_report
from .tables import GROUP_NAMES, GROUP_VARIABLES, WaveTables, describe_change, wave_tables

__all__ = ["write_report", "withhold_small_cells", "REPORT_NAME"]

REPORT_NAME = "report.html"

#: What a withheld estimate or change loses; ``n`` stays so the reader sees why.
_ESTIMATE_VALUES = ["estimate", "se", "ci_low", "ci_high", "df", "deff"]
_CHANGE_VALUES = ["estimate_from", "estimate_to", "difference", "se", "ci_low", "ci_high", "df", "p_value", "p_holm",
                  "ci_low_holm", "ci_high_holm", "level_holm", "p_bh", "ci_low_bh", "ci_high_bh", "level_bh"]


def withhold_small_cells(tables: WaveTables) -> WaveTables:
    """The tables with every estimate from fewer than ``tables.min_n`` respondents withheld.

    A withheld estimate keeps its row and ``n`` but loses its value, interval and design effect
    (NaN), and ``withheld`` is True; a change or trend that involves such a cell (``too_few``) is
    blanked the same way, since the difference and one published estimate give the other.

    >>> t = withhold_small_cells(tables)  # doctest: +SKIP
    >>> t.estimates.loc[t.estimates["n"] < t.min_n, "estimate"].isna().all()  # doctest: +SKIP
    True
    """
    est = tables.estimates.copy()
    est["withheld"] = est["n"] < tables.min_n
    est.loc[est["withheld"], _ESTIMATE_VALUES] = float("nan")
    ch = tables.changes.copy()
    ch.loc[ch["too_few"].astype(bool), _CHANGE_VALUES] = float("nan")
    return dataclasses.replace(tables, estimates=est, changes=ch)

CSS = """
body { font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1b1b1b; max-width: 60rem;
  margin: 0 auto; padding: 1rem; line-height: 1.45; }
h1 { font-size: 1.8rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #1b1b1b; } h3 { margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
caption { text-align: left; font-weight: 700; padding-bottom: 0.25rem; }
th, td { border-bottom: 1px solid #8a8a8a; padding: 0.25rem 0.4rem; text-align: left; vertical-align: top; }
td:last-child { min-width: 14rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci, .meta { color: #4a4a4a; font-size: 0.85em; }
figure { margin: 1rem 0; } figure img { width: 100%; max-width: 36rem; height: auto; }
figcaption { font-size: 0.9rem; color: #333; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
.finding-up { border-left: 4px solid #009E73; padding-left: 0.5rem; }
.finding-down { border-left: 4px solid #D55E00; padding-left: 0.5rem; }
.finding-none { border-left: 4px solid #8a8a8a; padding-left: 0.5rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  @page { size: auto; margin: 1.5cm; }
  h2 { break-before: page; } h2.first { break-before: avoid; }
  h2, h3, caption { break-after: avoid; }
  figure, tr, .finding-up, .finding-down, .finding-none { break-inside: avoid; }
  thead { display: table-header-group; }
  .charts { display: block; } figure img { max-width: 16cm; }
  a { color: inherit; text-decoration: none; }
}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float, scale: str, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    v = value * 100 if scale == "proportion" else value
    text = f"{v:+.1f}" if signed else f"{v:.1f}"
    return text + ("%" if scale == "proportion" and not signed else "")


def _p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _deff(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


def _label(codebook: Codebook, row: Mapping[str, Any]) -> str:
    label = codebook.label(str(row["measure"]))
    cat = row.get("category")
    if isinstance(cat, str) and cat:
        for v in codebook.variables.get(str(row["measure"]), {}).get("values", []) or []:
            if str(v["code"]) == cat:
                return f"{label}: {(v.get('label') or {}).get('en', cat)}"
        return f"{label}: {cat}"
    return label


def _by_name(codebook: Codebook, by: str) -> str:
    return GROUP_NAMES.get(by) or codebook.label(by)


def _domain_label(codebook: Codebook, by: str, code: Any) -> str:
    for v in codebook.variables.get(by, {}).get("values", []) or []:
        if str(v["code"]) == str(code):
            return (v.get("label") or {}).get("en", str(code))
    return str(code)


def _img(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{_e(alt)}">'


def _series(est: pd.DataFrame, measure: str, label: str, by: str | None = None, domain: str | None = None,
            waves: Sequence[str] | None = None):
    from .plots import Series

    sel = (est["measure"] == measure) & est["category"].isna()
    sel &= est["by"].isna() if by is None else (est["by"] == by) & (est["domain"] == domain)
    rows = est[sel].set_index("wave")
    waves = list(waves or rows.index)

    def col(name: str) -> list[float | None]:
        values = [float(rows.at[w, name]) if w in rows.index and rows.at[w, "n"] > 0 else None for w in waves]
        return [None if v is None or math.isnan(v) else v for v in values]  # NaN: withheld

    return Series(label, waves, col("estimate"), col("ci_low"), col("ci_high"))


def _alt(lines: Sequence[Any], level: float) -> str:
    parts = []
    for s in lines:
        pts = [(x, y, lo, hi) for x, y, lo, hi in zip(s.x, s.y, s.low, s.high, strict=True) if y is not None]
        if len(pts) >= 2:
            (x0, y0, l0, h0), (x1, y1, l1, h1) = pts[0], pts[-1]
            parts.append(f"{s.label} went from {y0:.0f} in {x0} ({int(level * 100)}% CI {l0:.0f} to {h0:.0f}) "
                         f"to {y1:.0f} in {x1} ({l1:.0f} to {h1:.0f}).")
        elif pts:
            parts.append(f"{s.label}: {pts[0][1]:.0f} in {pts[0][0]}.")
    return " ".join(parts)


def _charts(tables: WaveTables, codebook: Codebook, progress: Callable[[str], None]) -> dict[str, list[tuple[str, str, str]]]:
    """Every chart as (title, svg, alt): index trends, small multiples by district, group gaps."""
    from .plots import small_multiples_svg, trend_svg

    est = tables.estimates
    level = tables.level
    indexes = list(tables.measures.loc[tables.measures["kind"] == "index", "measure"])
    out: dict[str, list[tuple[str, str, str]]] = {"trend": [], "districts": [], "groups": []}
    note = f"Shaded: {int(level * 100)}% confidence interval."
    for ix in indexes:
        s = _series(est, ix, codebook.label(ix))
        alt = _alt([s], level)
        out["trend"].append((codebook.label(ix), trend_svg([s], title=codebook.label(ix), desc=f"{alt} {note}",
                                                            ylabel="Score (0-100)"), alt))
    progress(f"charts: {len(out['trend'])} index trends")
    if "district" in tables.domains:
        for ix in indexes:
            everyone = _series(est, ix, "Everyone")
            panels, lines = [], []
            for d in tables.domains["district"]:
                s = _series(est, ix, _domain_label(codebook, "district", d), "district", d, everyone.x)
                panels.append((s.label, [everyone, s]))
                lines.append(s)
            title = f"{codebook.label(ix)} by district"
            alt = _alt(lines, level)
            n2 = f"Gray dashed line: everyone. {note}"
            out["districts"].append((title, small_multiples_svg(panels, title=title, desc=f"{alt} {n2}", note=n2), alt))
        progress(f"charts: {len(out['districts'])} district panels")
    headline = [ix for ix in ("trust", "safety") if ix in indexes] or indexes[:1]
    for by in tables.breakdowns:
        if by == "district":
            continue
        for ix in headline:
            lines = [_series(est, ix, _domain_label(codebook, by, d), by, d) for d in tables.domains[by]]
            title = f"{codebook.label(ix)} by {_by_name(codebook, by).lower()}"
            alt = _alt(lines, level)
            out["groups"].append((title, trend_svg(lines, title=title, desc=f"{alt} {note}", ylabel="Score (0-100)"), alt))
    progress(f"charts: {len(out['groups'])} group gaps")
    return out


def _estimate_table(tables: WaveTables, codebook: Codebook, measures: pd.DataFrame, by: str | None, caption: str,
                    domain_header: str | None = None) -> str:
    est = tables.estimates
    ch = tables.changes
    waves = tables.waves
    e = est[est["mi"].isin(measures["mi"]) & (est["by"].isna() if by is None else est["by"] == by)]
    c = ch[ch["mi"].isin(measures["mi"]) & (ch["comparison"] == "first_last")
           & (ch["by"].isna() if by is None else ch["by"] == by)]
    lookup = {(r.mi, r.domain, r.wave): r for r in e.itertuples(index=False)}
    clook = {(r.mi, r.domain): r._asdict() for r in c.itertuples(index=False)}
    domains = [None] if by is None else tables.domains[by]
    head = "".join(f'<th scope="col">{_e(w)}</th>' for w in waves)
    first = f'<th scope="col">{_e(domain_header)}</th>' if by else ""
    rows = []
    for m in measures.itertuples(index=False):
        mrow = m._asdict()
        label = _label(codebook, mrow)
        for d in domains:
            cells = []
            for w in waves:
                r = lookup.get((m.mi, d, w))
                if r is None:
                    cells.append('<td class="num">–</td>')
                elif r.interval == "no answers":
                    cells.append('<td class="num">no answers</td>')
                elif getattr(r, "withheld", False):
                    cells.append(f'<td class="num">withheld<br><span class="meta">fewer than {tables.min_n:,} '
                                 'respondents</span></td>')
                else:
                    how = ' · <abbr title="Korn-Graubard interval: the share is exactly 0% or 100%">KG</abbr>' \
                        if r.interval == "korn-graubard" else ""
                    cells.append(f'<td class="num">{_fmt(r.estimate, m.scale)} <span class="ci">({_fmt(r.ci_low, m.scale)}–'
                                 f'{_fmt(r.ci_high, m.scale)})</span><br><span class="meta">n {r.n:,} · deff '
                                 f'{_deff(r.deff)}{how}</span></td>')
            cr = clook.get((m.mi, d))
            if cr is None or len(waves) < 2:
                change = '<td>–</td><td>–</td><td>–</td><td>–</td>'
            elif not cr["comparable"]:
                change = f'<td>–</td><td>–</td><td>–</td><td>{_e(cr["note"])}</td>'
            else:
                sentence = describe_change(cr, label if d is None else f"{label} ({_domain_label(codebook, by, d)})",
                                           level=tables.level, alpha=tables.alpha)
                change = (f'<td class="num">{_fmt(cr["difference"], m.scale, True)} <span class="ci">('
                          f'{_fmt(cr["ci_low"], m.scale, True)} to {_fmt(cr["ci_high"], m.scale, True)})</span></td>'
                          f'<td class="num">{_p(cr["p_holm"])}</td><td class="num">{_p(cr["p_bh"])}</td>'
                          f'<td>{_e(sentence)}</td>')
            dom = f'<td>{_e(_domain_label(codebook, by, d))}</td>' if by else ""
            rows.append(f'<tr><th scope="row">{_e(label)}</th>{dom}{"".join(cells)}{change}</tr>')
    pct = int(tables.level * 100)
    span = f"{waves[0]} to {waves[-1]}"
    return (f'<table><caption>{_e(caption)}</caption><thead><tr><th scope="col">Measure</th>{first}{head}'
            f'<th scope="col">Change {span} ({pct}% CI)</th><th scope="col">p (Holm)</th><th scope="col">p (BH)</th>'
            f'<th scope="col">In words</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _methodology(tables: WaveTables, codebook: Codebook, frame: pd.DataFrame, rates: Mapping[str, Any] | None,
                 translation_status: Mapping[str, str] | None) -> str:
    pct = int(tables.level * 100)
    parts = ["<h2>Methodology</h2>", "<h3>Sampling</h3>",
             "<p>Each wave is a stratified sample of addresses: the strata are the districts, and invitations "
             "within a district are drawn at random. Base weights are one over the chance of an address being "
             "invited. Open-link responses, if any, carry weight 1 and describe respondents, not the population.</p>",
             "<h3>Responses and response rates</h3>"]
    rows = []
    for r in tables.weights.itertuples(index=False):
        rr = (rates or {}).get(r.wave) or {}
        rr1 = f"{rr['rr1'] * 100:.1f}%" if rr.get("rr1") is not None else "not available"
        invited = f"{rr['invited']:,}" if rr.get("invited") is not None else "–"
        rows.append(f'<tr><th scope="row">{_e(r.wave)}</th><td class="num">{invited}</td><td class="num">{r.n:,}</td>'
                    f'<td class="num">{_e(rr1)}</td><td class="num">{r.kish_deff:.2f}</td>'
                    f'<td class="num">{r.effective_n:,.0f}</td>'
                    f'<td class="num">±{100 * 1.96 * math.sqrt(0.25 / max(r.effective_n, 1)):.1f}</td></tr>')
    parts.append('<table><caption>Responses, response rates (AAPOR RR1) and weighting by wave</caption><thead><tr>'
                 '<th scope="col">Wave</th><th scope="col">Invitations</th><th scope="col">Responses</th>'
                 '<th scope="col">RR1</th><th scope="col">Design effect of weights (Kish)</th>'
                 '<th scope="col">Effective sample size</th><th scope="col">Margin of error, 50% proportion (points)</th>'
                 f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    if not rates:
        parts.append("<p>Response rates are not part of the export; the staff console (Response rates) shows them.</p>")
    parts.append("<p>RR1 = completes ÷ eligible invitations (undeliverable letters are not eligible; every other "
                 "letter counts as eligible).</p><h3>Weighting</h3>")
    if tables.weighting == "raked":
        margins = ", ".join(sorted(codebook.target_margins()))
        parts.append(f"<p>Base weights are raked in each wave to the population targets for {_e(margins)} "
                     "(iterative proportional fitting). A respondent who did not give a weighting variable is given "
                     "the wave's most common category of it.</p>")
    else:
        parts.append("<p>No population targets: estimates use base weights only.</p>")
    parts.append(
        f"<h3>Estimates and margin of error</h3><p>Means and proportions with design-based standard errors "
        f"(Taylor linearization with strata; the raking is taken into account through its residuals, as R's survey "
        f"package does), with a small-sample correction: each respondent's contribution is divided by "
        "\u221a(1 \u2212 h), h being the respondent's share of the weight of the district or group (bias-reduced "
        "linearization, Bell and McCaffrey 2002), so that the standard error of a small group is not too small; "
        "for a whole wave it changes the standard error by a few parts in ten thousand. "
        f"Means and scores have {pct}% t intervals on the degrees of freedom of the estimate itself: for a "
        "district or group, the respondents in it who answered minus the strata they fall in. Proportions have "
        "Wilson score intervals on their effective sample size (with Korn and Graubard's adjustment for the "
        "degrees of freedom); where a share is exactly 0% or 100% its variance is 0 and that interval does not "
        "exist, so the Korn-Graubard interval (Clopper-Pearson on the effective sample size) is used instead, "
        "marked KG in the tables. The interval column of estimates.csv names the method of every row (t, wilson, "
        "korn-graubard, or no answers where nobody in a district or group answered; such cells show "
        "\u201cno answers\u201d). In a simulation of 4,000 samples (bench/bench_coverage.py) these intervals "
        "covered the true value 94-96% of the time for a whole sample, a district of 30 respondents and a group "
        "of 25 spread over all districts. "
        "Districts and groups are estimated as domains of the whole sample, never as subsets. "
        "deff is the design effect: the variance relative to a simple random sample of the same size. The margin of "
        f"error in the table above is the half-width of a {pct}% interval for a 50% proportion with the effective "
        "sample size; a 0-100 index typically has a smaller one.</p>"
        "<p>Changes are last wave minus first wave. The waves are independent samples, each raked on its own, so "
        "the variance of a change is the sum of the two waves' variances, and its degrees of freedom are the "
        "Welch-Satterthwaite combination of the two estimates' own: (v1 + v2)\u00b2 / (v1\u00b2/df1 + "
        "v2\u00b2/df2); the interval and the t test use them. With three or more waves the tables also hold the "
        "linear trend per wave (changes.csv): the slope of the least-squares line through the wave estimates, "
        "each wave counting once, which is a linear contrast \u03a3 c\u2096 \u00d7 estimate\u2096 with "
        "c\u2096 = (k \u2212 mean k) / \u03a3 (k \u2212 mean k)\u00b2; its variance is \u03a3 c\u2096\u00b2 "
        "v\u2096 (raking included, as in each wave's standard error) and its degrees of freedom the "
        "Satterthwaite combination of the waves'. p-values are adjusted within each "
        f"table (index changes, question changes, each breakdown): Holm, and Benjamini-Hochberg beside it. A change is "
        f"called detectable when its Holm-adjusted p is below {tables.alpha}; changes.csv also holds, beside each "
        "adjusted p, the interval at the confidence level that agrees with it (ci_low_holm, ci_high_holm at "
        "level_holm; the same for BH), which excludes zero exactly when the adjusted p is below "
        f"{tables.alpha}. Cells from fewer than {tables.min_n} responses are not compared; a change that involves a "
        "wave in which a question was not asked (or a group nobody in which answered) is marked not comparable, and "
        "the question's other changes stay. Estimates from fewer than "
        f"{tables.min_n} respondents are withheld (tables, charts and estimates.csv, whose withheld column is then "
        "true).</p>")
    items = []
    for ix in codebook.indexes:
        members = ", ".join(f"{it['key']} ({it['min']}–{it['max']}{', reversed' if it.get('reverse') else ''})"
                            for it in ix.get("items", []))
        items.append(f"<li><strong>{_e(codebook.label(ix['key']))}</strong>: {_e(members)}</li>")
    parts.append("<h3>How indexes are scored</h3><p>Each item is rescaled to 0-100 ((x − min) ÷ (max − min) × 100, "
                 "reversed where marked, so higher is always more favorable); the index is the mean of the answered "
                 "items, scored only when more than half of its items are answered.</p>"
                 f"<ul>{''.join(items)}</ul>")
    langs = frame["language"].value_counts() if "language" in frame.columns else pd.Series(dtype=int)
    status = translation_status or {}
    lrows = "".join(
        f'<tr><th scope="row">{_e(code)}</th><td>{_e(status.get(code, "not in the export"))}</td>'
        f'<td class="num">{int(langs.get(code, 0)):,}</td></tr>'
        for code in dict.fromkeys([*codebook.raw.get("languages", []), *langs.index.astype(str)]))
    parts.append("<h3>Translation status</h3><p>Questionnaire languages, their review status (draft, reviewed, "
                 "approved) and how many responses came in each.</p>"
                 f'<table><caption>Languages</caption><thead><tr><th scope="col">Language</th><th scope="col">Status'
                 f'</th><th scope="col">Responses</th></tr></thead><tbody>{lrows}</tbody></table>')
    return "".join(parts)


def write_report(
    frame: pd.DataFrame,
    codebook: Codebook,
    out: str | Path,
    *,
    waves: Sequence[str] | None = None,
    breakdowns: Sequence[str] = GROUP_VARIABLES,
    rates: Mapping[str, Any] | None = None,
    translation_status: Mapping[str, str] | None = None,
    exclude: Mapping[str, str] | None = None,
    title: str = "Community trust survey: results by wave",
    min_n: int = 10,
    level: float = 0.95,
    withhold: bool = True,
    progress: Callable[[str], None] = lambda _msg: None,
    max_iter: int = 100,
) -> dict[str, float]:
    """Write the report folder; return the seconds each stage took.

    ``withhold``: estimates from fewer than ``min_n`` respondents are withheld in every table,
    chart and CSV (:func:`withhold_small_cells`); the report says so where they are.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    start = time.perf_counter()
    progress("weights and estimates: every index and question, overall and by " + ", ".join(breakdowns))
    tables = wave_tables(frame, codebook, waves=waves, breakdowns=breakdowns, min_n=min_n, level=level,
                         exclude=exclude, max_iter=max_iter)
    if withhold:
        tables = withhold_small_cells(tables)
    times["weights and estimates"] = time.perf_counter() - start
    progress(f"  {len(tables.estimates):,} estimates and {len(tables.changes):,} changes in "
             f"{times['weights and estimates']:.1f} s")
    t0 = time.perf_counter()
    charts = _charts(tables, codebook, progress)
    times["charts"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    progress("tables as CSV")
    labels = {r.mi: _label(codebook, r._asdict()) for r in tables.measures.itertuples(index=False)}
    tables.estimates.assign(label=tables.estimates["mi"].map(labels)).drop(columns="mi").to_csv(
        folder / "estimates.csv", index=False, lineterminator="\n")
    ch = tables.changes.assign(label=tables.changes["mi"].map(labels)).drop(columns="mi")
    ch.to_csv(folder / "changes.csv", index=False, lineterminator="\n")
    tables.weights.to_csv(folder / "weights.csv", index=False, lineterminator="\n")
    tables.not_compared.to_csv(folder / "not_compared.csv", index=False, lineterminator="\n")
    times["csv"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    progress("report.html")
    m = tables.measures
    indexes, items = m[m["kind"] == "index"], m[m["kind"] != "index"]
    main = tables.changes[(tables.changes["comparison"] == "first_last") & tables.changes["by"].isna()
                          & (tables.changes["kind"] == "index")]
    findings = []
    for r in main.to_dict(orient="records"):
        cls = "finding-none" if not r["detectable"] else ("finding-up" if r["difference"] > 0 else "finding-down")
        findings.append(f'<p class="{cls}">{_e(describe_change(r, labels[r["mi"]], level=level, alpha=tables.alpha))}</p>')
    by_district = tables.changes[(tables.changes["comparison"] == "first_last") & (tables.changes["by"] == "district")
                                 & tables.changes["measure"].isin(["trust", "safety"]) & tables.changes["detectable"]]
    for r in by_district.to_dict(orient="records"):
        cls = "finding-up" if r["difference"] > 0 else "finding-down"
        label = f"{labels[r['mi']]} ({_domain_label(codebook, 'district', r['domain'])})"
        findings.append(f'<p class="{cls}">{_e(describe_change(r, label, level=level, alpha=tables.alpha))}</p>')
    body = [f"<h1>{_e(title)}</h1>",
            f"<p>Waves {_e(', '.join(tables.waves))}; {int(tables.weights['n'].sum()):,} responses. "
            f"Generated {dt.date.today().isoformat()}. Instrument {_e(codebook.raw.get('instrument', {}).get('key', ''))} "
            f"version {_e(codebook.raw.get('instrument', {}).get('version', ''))}.</p>",
            '<h2 class="first">Main findings</h2>', "".join(findings) or "<p>Only one wave: no changes.</p>",
            "<h2>Indexes</h2>",
            _estimate_table(tables, codebook, indexes, None, "Index scores (0-100) by wave: estimate (CI), n, deff"),
            '<div class="charts">']
    for name, svg, alt in charts["trend"]:
        body.append(f"<figure>{_img(svg, alt)}<figcaption>{_e(name)}. Data: the index table above.</figcaption></figure>")
    body.append("</div>")
    for by in tables.breakdowns:
        body.append(f"<h2>Indexes by {_e(_by_name(codebook, by).lower())}</h2>")
        if by == "district":
            for name, svg, alt in charts["districts"]:
                body.append(f"<figure>{_img(svg, alt)}<figcaption>{_e(name)}. Data: the table below.</figcaption></figure>")
        else:
            for name, svg, alt in charts["groups"]:
                if name.endswith(_by_name(codebook, by).lower()):
                    body.append(f"<figure>{_img(svg, alt)}<figcaption>{_e(name)}. Data: the table below.</figcaption></figure>")
        body.append(_estimate_table(tables, codebook, indexes, by, f"Indexes by {_by_name(codebook, by).lower()}",
                                    _by_name(codebook, by)))
    body.append("<h2>Questions</h2><p>0-10 questions show the mean answer; other questions the share choosing each "
                "answer.</p>")
    body.append(_estimate_table(tables, codebook, items, None, "Questions by wave"))
    if "district" in tables.breakdowns:
        body.append("<h2>Questions by district</h2>")
        body.append(_estimate_table(tables, codebook, items, "district", "Questions by district", "District"))
    if "area" in frame.columns:  # small areas (neighborhoods, beats): model-based, see analysis.sae
        section, area_table = area_report(frame[frame["wave"].isin(tables.waves)], codebook, min_n=min_n, level=level)
        body.append(section)
        area_table.to_csv(folder / "areas.csv", index=False, lineterminator="\n")
    body.append("<h2>Not compared</h2>")
    if tables.not_compared.empty:
        body.append("<p>Every question and index was asked the same way in these waves.</p>")
    else:
        body.append("<ul>" + "".join(f"<li>{_e(codebook.label(r.measure))} ({_e(r.measure)}): {_e(r.reason)}.</li>"
                                     for r in tables.not_compared.itertuples(index=False)) + "</ul>")
    body.append(_methodology(tables, codebook, frame[frame["wave"].isin(tables.waves)], rates, translation_status))
    body.append("<h2>Files</h2><p>estimates.csv (every estimate), changes.csv (every change and trend with p-values), "
                "weights.csv, not_compared.csv: in the same folder as this report.</p>")
    page = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>{''.join(body)}</main></body></html>")
    (folder / REPORT_NAME).write_text(page, encoding="utf-8")
    times["html"] = time.perf_counter() - t0
    progress(f"wrote {folder / REPORT_NAME} and 4 CSV files in {time.perf_counter() - start:.1f} s")
    return times

