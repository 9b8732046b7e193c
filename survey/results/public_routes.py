"""The public results page: published waves only, small samples withheld, uncertainty always shown."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, abort, current_app, render_template
from flask_babel import format_decimal, format_percent
from sqlalchemy import select

from ..agencies import register_scores
from ..context import as_agency, current_agency, locale_code
from ..db import db
from ..formats import period_lines, period_text
from ..models import Agency, Wave
from . import areas, present, service
from .staff_routes import _svg

bp = Blueprint("results", __name__, template_folder="templates")

HEADLINE = ("trust", "safety")


def published_waves() -> list[Wave]:
    """Published waves of the questionnaire of the latest published wave, oldest first."""
    waves = list(db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id, Wave.published.is_(True))
        .order_by(Wave.opens_on, Wave.slug)))
    if not waves:
        return []
    family = waves[-1].instrument_version.instrument_id
    return [w for w in waves if w.instrument_version.instrument_id == family]


def _comparison(waves: list[Wave]) -> service.Comparison:
    return service.compare(waves, breakdowns=("district",), min_n=current_app.config["RESULTS_MIN_N"])


def _whole(value: float) -> str:
    return present.fixed(round(value), 0)


def _estimates(comparison: service.Comparison, measure: str, by: str | None = None) -> list[dict[str, Any]]:
    t = comparison.tables
    est = t.estimates
    sel = (est["measure"].to_numpy() == measure) & est["category"].isna().to_numpy()
    sel &= est["by"].isna().to_numpy() if by is None else est["by"].to_numpy() == by
    rows = []
    for r in est[sel].itertuples(index=False):
        withheld = r.n < t.min_n
        rows.append({"wave": r.wave, "domain": r.domain, "n": present.fixed(int(r.n), 0), "withheld": withheld,
                     "estimate": None if withheld else _whole(r.estimate), "low": None if withheld else _whole(r.ci_low),
                     "high": None if withheld else _whole(r.ci_high)})
    return rows


def wave_names(waves: list[Wave]) -> tuple[dict[str, str], dict[str, str]]:
    """Each wave's name for people (the months it ran, in the visitor's language) and the short
    two-line form for a chart's axis, by wave key."""
    titles = {w.slug: period_text(w.opens_on, w.last_day()) for w in waves}
    ticks = {w.slug: period_lines(w.opens_on, w.last_day()) for w in waves}
    return titles, ticks


def latest_scores(agency: Agency) -> dict[str, Any] | None:
    """The headline scores of ``agency``'s latest published wave, for the campaign's public page:
    read through the results cache (a wave's tables are computed once), small samples withheld."""
    wave = db.session.scalars(
        select(Wave).where(Wave.agency_id == agency.id, Wave.published.is_(True))
        .order_by(Wave.opens_on.desc(), Wave.slug.desc()).limit(1)).first()
    if wave is None:
        return None
    with as_agency(agency):
        try:
            comparison = service.compare([wave], breakdowns=(), min_n=current_app.config["RESULTS_MIN_N"])
        except service.CompareError:
            return None
        available = set(comparison.tables.measures["measure"])
        scores = []
        for key in HEADLINE:
            rows = _estimates(comparison, key) if key in available else []
            if rows:
                scores.append({"key": key, "label": present.measure_label(comparison.codebook, key), **rows[0]})
    titles, _ticks = wave_names([wave])
    return {"period": titles[wave.slug], "scores": scores}


register_scores(latest_scores)


@bp.get("/")
def index():
    waves = published_waves()
    min_n = current_app.config["RESULTS_MIN_N"]
    if not waves:
        return render_template("results/public.html", waves=[], headline=[], districts=[], areas=None, min_n=min_n)
    comparison = _comparison(waves)
    t = comparison.tables
    cb = comparison.codebook
    titles, _ticks = wave_names(comparison.waves)
    latest = t.waves[-1]
    available = set(t.measures["measure"])
    shown = t.estimates[t.estimates["n"] >= t.min_n]
    headline = []
    for key in HEADLINE:
        if key not in available:
            continue
        trend = _estimates(comparison, key)
        for row in trend:
            row["title"] = titles.get(row["wave"], row["wave"])
        now = next((r for r in trend if r["wave"] == latest), None)
        change = None
        ch = t.changes
        if len(t.waves) >= 2:
            row = ch[(ch["measure"] == key) & ch["by"].isna() & (ch["comparison"] == "first_last")]
            if not row.empty:
                row = row.iloc[0].to_dict()
                change = (present.public_sentence(row, present.measure_label(cb, key), titles[row["wave_from"]],
                                                  titles[row["wave_to"]], t.alpha) if row["comparable"] else None)
        headline.append({"key": key, "label": present.measure_label(cb, key), "latest": now, "trend": trend,
                         "change": change,
                         "alt": present.public_alt([present.public_line(shown, cb, key, titles)])})
    districts = []
    if "district" in t.domains:
        per = {key: {r["domain"]: r for r in _estimates(comparison, key, "district") if r["wave"] == latest}
               for key in HEADLINE if key in available}
        for d in t.domains["district"]:
            districts.append({"name": present.value_label(cb, "district", d),
                              "values": [per[key].get(d) for key in per]})
    # Model-based small-area estimates of the latest wave, when an admin chose to publish them.
    newest = comparison.waves[-1]
    area_view = areas.view(newest, public=True) if newest.publish_areas else None
    latest_rates = comparison.latest_rates() if comparison.waves[-1].slug == t.waves[-1] else {}
    return render_template(
        "results/public.html", waves=comparison.waves, latest_title=titles[latest], headline=headline,
        districts=districts, areas=area_view, min_n=t.min_n, sure=format_percent(t.level, "#,##0%"),
        weighting=t.weighting, n_latest=format_decimal(int(t.weights["n"].iloc[-1]), "#,##0"),
        axis_note=present.axis_note(),
        response_rate=None if latest_rates.get("rr1") is None else format_percent(latest_rates["rr1"], "#,##0%"),
        labels=[present.measure_label(cb, k) for k in HEADLINE if k in available],
    )


@bp.get("/chart/<measure>.svg")
def chart(measure: str):
    """The chart in the visitor's language. Pages add ``?lang=`` to its address only so that a
    browser keeps one copy per language (it is cached for five minutes); the view ignores it."""
    waves = published_waves()
    if measure not in HEADLINE or not waves:
        abort(404)
    comparison = _comparison(waves)
    t = comparison.tables
    if measure not in set(t.measures["measure"]):
        abort(404)
    # The drawing's version is in the name: a cache made by an older design is never served.
    name = f"{comparison.key}-public{present.CHART_DRAWING}-{measure}-{locale_code()}.svg"

    def draw() -> str:
        shown = t.estimates[t.estimates["n"] >= t.min_n]
        titles, ticks = wave_names(comparison.waves)
        return present.public_chart(shown, comparison.codebook, measure, titles, ticks)

    return _svg(service.cached(name, draw, binary=False))


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)
