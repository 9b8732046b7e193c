"""The staff comparison view (analysts and admins): estimates, changes, charts, items not compared."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from analysis.tables import GROUP_VARIABLES

from ..auth import roles_required
from ..context import current_agency, locale_code
from ..db import db
from ..menu import register
from ..models import Role, Wave
from . import areas, benchmarks, present, service

bp = Blueprint("results_staff", __name__, template_folder="templates")

COMPARE_ROLES = (Role.ANALYST, Role.ADMIN)
register(_l("Compare waves"), "results_staff.compare", COMPARE_ROLES, order=45)

CHARTS = ("trend", "domains", "gaps")


def _agency_waves() -> list[Wave]:
    return list(db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc(), Wave.slug)))


def _chosen(waves: list[Wave]) -> list[Wave]:
    wanted = set(request.args.getlist("waves"))
    return [w for w in waves if w.slug in wanted]


def _by(comparison_tables) -> str:
    by = request.args.get("by", "district")
    return by if by in comparison_tables.breakdowns else (comparison_tables.breakdowns[0] if comparison_tables.breakdowns else "")


def _svg(text: str) -> Response:
    response = Response(text, mimetype="image/svg+xml")
    # Served as an image file: matplotlib's SVG styles its text with style attributes, which a
    # strict style-src would block if someone opened the file directly. No script can run.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


#: The page's sections, each its own page (the findings first).
SECTIONS = ("findings", "indexes", "questions", "groups", "question-groups", "areas", "agencies", "rates", "method")


@bp.get("/")
@roles_required(*COMPARE_ROLES)
def compare():
    waves = _agency_waves()
    chosen = _chosen(waves)
    adjust = request.args.get("adjust", "holm")
    if adjust not in ("holm", "bh"):
        adjust = "holm"
    section = request.args.get("section", "findings")
    if section not in SECTIONS:
        section = "findings"
    error = None
    comparison = None
    if request.args.getlist("waves"):
        # One wave is enough to set beside other agencies; comparing waves needs two.
        if len(chosen) < (1 if section == "agencies" else 2):
            error = _("Choose two or more waves to compare.")
        else:
            try:
                comparison = service.compare(chosen, breakdowns=GROUP_VARIABLES,
                                             min_n=current_app.config["SMALL_COUNT_THRESHOLD"])
            except service.CompareError as exc:
                error = str(exc)
    by = _by(comparison.tables) if comparison else request.args.get("by", "district")
    area_view = None
    if comparison and section == "areas":
        # The newest chosen wave whose areas had enough respondents for the model.
        for wave in sorted((w for w in comparison.waves if w.areas), key=lambda w: (w.opens_on, w.slug), reverse=True):
            area_view = areas.view(wave, public=False, measure=request.args.get("area_measure"))
            if area_view is not None:
                break
    bench = None
    if comparison and section == "agencies":
        try:
            bench = benchmarks.benchmarks(comparison.waves, min_agencies=current_app.config["BENCHMARK_MIN_AGENCIES"],
                                          min_n=current_app.config["SMALL_COUNT_THRESHOLD"])
        except service.CompareError as exc:
            error = str(exc)
    view = present.CompareView(comparison, by, adjust) if comparison else None
    return render_template(
        "results/compare.html", waves=waves, chosen={w.slug for w in chosen}, comparison=comparison, view=view,
        areas=area_view, bench=bench, bench_view=benchmarks.view(bench) if bench else None,
        has_agencies=bool(comparison) and benchmarks.has_other_agencies(), has_areas=bool(comparison and any(w.areas for w in comparison.waves)), error=error, by=by, adjust=adjust, present=present, group_variables=GROUP_VARIABLES,
        section=section, columns=present.wave_columns(comparison) if comparison else [],
        status=service.translation_status(comparison.waves) if comparison and section == "method" else {},
    )


@bp.get("/chart.svg")
@roles_required(*COMPARE_ROLES)
def chart():
    """A Compare chart in the staff member's language (``?lang=`` in its address only keeps the
    browser's cached copies apart per language; the view ignores it)."""
    waves = _chosen(_agency_waves())
    kind, measure = request.args.get("chart", "trend"), request.args.get("measure", "trust")
    if not waves or kind not in CHARTS:
        abort(404)
    try:
        comparison = service.compare(waves, breakdowns=GROUP_VARIABLES, min_n=current_app.config["SMALL_COUNT_THRESHOLD"])
    except service.CompareError:
        abort(404)
    tables = comparison.tables
    if measure not in set(tables.measures["measure"]):
        abort(404)
    by = _by(tables)
    name = f"{comparison.key}-{kind}{present.CHART_DRAWING}-{measure}-{by}-{locale_code()}.svg"

    def draw() -> str:
        est, cb = tables.estimates, comparison.codebook
        if kind == "trend":
            return present.trend_chart(est, cb, [measure], present.measure_label(cb, measure), tables.level)[0]
        if kind == "domains":
            return present.domain_chart(est, cb, measure, by, tables.domains[by], tables.level)[0]
        return present.gap_chart(est, cb, measure, by, tables.domains[by], tables.level)[0]

    return _svg(service.cached(name, draw, binary=False))


@bp.get("/report.zip")
@roles_required(*COMPARE_ROLES)
def report():
    """The full HTML report of the chosen waves and its CSV tables, as a zip download."""
    waves = _chosen(_agency_waves())
    if len(waves) < 1:
        abort(404)
    try:
        data = service.report_zip(waves, min_n=current_app.config["SMALL_COUNT_THRESHOLD"], language=locale_code(),
                                  title=_("Community trust survey: results by wave"))
    except service.CompareError:
        abort(404)
    response = Response(data, mimetype="application/zip")
    name = "-".join(sorted(w.slug for w in waves))[:80]
    response.headers["Content-Disposition"] = f'attachment; filename="report-{name}.zip"'
    return response
