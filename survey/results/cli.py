"""``flask --app wsgi report --waves SLUG [--waves SLUG ...] --out DIR``: the self-contained report."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from analysis.report import REPORT_NAME, write_report

from ..cli import agency_option, choose_agency
from ..db import db
from ..models import AreaKind, AreaSource, Response, Wave, WaveArea
from . import areas, benchmarks, service


@click.command("report")
@click.option("--waves", "slugs", multiple=True, required=True, help="A wave's short name; repeat for more waves.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write into.")
@click.option("--title", default="Community trust survey: results by wave", show_default=True)
@with_appcontext
@agency_option
def report_command(slugs: tuple[str, ...], out: Path, title: str) -> None:
    """Write report.html (charts embedded, methodology, tables) and the tables as CSV into OUT."""
    from ..context import current_agency

    with current_app.test_request_context():
        agency = current_agency()
        waves = list(db.session.scalars(select(Wave).where(Wave.agency_id == agency.id, Wave.slug.in_(slugs))))
        unknown = sorted(set(slugs) - {w.slug for w in waves})
        if unknown:
            raise click.ClickException(f"No such wave: {', '.join(unknown)}.")
        try:
            service.check_same_instrument(waves)
        except service.CompareError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Building the export of {len(waves)} wave(s) from the database ...")
        frame, codebook = service.export_table(waves)
        rates = service.response_rates(waves)
        status = service.translation_status(waves)
        exclude = service.exclusions(waves)
        try:
            times = write_report(frame, codebook, out, rates=rates, translation_status=status, exclude=exclude,
                                 title=title, min_n=current_app.config["SMALL_COUNT_THRESHOLD"], progress=click.echo)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo("Stages: " + ", ".join(f"{name} {secs:.1f} s" for name, secs in times.items()))
    click.echo(f"Open {out / REPORT_NAME} in a browser; print it from there.")


@click.command("areas")
@click.option("--wave", "slug", required=True, help="The wave's short name.")
@click.option("--kind", type=click.Choice([k.value for k in AreaKind]), default=AreaKind.NEIGHBORHOOD.value,
              show_default=True, help="What the areas are called.")
@click.option("--source", type=click.Choice([s.value for s in AreaSource]), default=AreaSource.RESIDENT.value,
              show_default=True, help="Whether residents choose their area or each invitation sets it.")
@click.argument("csv_file", type=click.File("r", encoding="utf-8"))
@with_appcontext
@agency_option
def areas_command(slug: str, kind: str, source: str, csv_file) -> None:
    """Declare a wave's small areas from CSV_FILE: columns name, stratum, population, then any
    numeric area covariates (e.g. census shares) that the small-area model should use."""
    from ..context import current_agency

    with current_app.test_request_context():
        wave = db.session.scalars(select(Wave).where(Wave.agency_id == current_agency().id, Wave.slug == slug)).first()
        if wave is None:
            raise click.ClickException(f"No such wave: {slug}.")
        try:
            parsed = parse_areas(csv_file.read())
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if db.session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id)):
            raise click.ClickException(f"{slug} already has responses: its areas can no longer change.")
        wave.areas = [WaveArea(**row) for row in parsed]
        wave.area_kind, wave.area_source = AreaKind(kind), AreaSource(source)
        db.session.commit()
    click.echo(f"{slug}: {len(parsed)} {kind}s, {'chosen by residents' if source == 'resident' else 'set by invitations'}.")


def parse_areas(text: str) -> list[dict]:
    """Rows of a small-area CSV: name, stratum, population (whole number or empty), covariates (numbers)."""
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    if fields[:3] != ["name", "stratum", "population"]:
        raise ValueError("the CSV must start with the columns name, stratum, population")
    rows, seen = [], set()
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        if not row["name"] or row["name"] in seen:
            raise ValueError(f"line {line}: every area needs a name, once")
        seen.add(row["name"])
        try:
            population = int(row["population"]) if row["population"] else None
            covariates = {k: float(row[k]) for k in fields[3:]}
        except ValueError:
            raise ValueError(f"line {line}: population must be a whole number and covariates numbers") from None
        rows.append({"name": row["name"], "stratum": row["stratum"] or None, "population": population,
                     "covariates": covariates})
    if len(rows) < 3:
        raise ValueError("a small-area model needs at least 3 areas")
    return rows


@click.command("results-warm")
@click.option("--fresh", is_flag=True, help="Empty the cache first (after responses were changed outside the platform).")
@click.option("--agency", "agency_slug", default=None,
              help="Only this agency (default: in a campaign, every agency's published waves).")
@with_appcontext
def warm_command(fresh: bool, agency_slug: str | None) -> None:
    """Compute results into the results cache, so that pages open at once: every wave of the
    agency; in a campaign (path or host addresses) every agency's published waves."""
    from ..models import Agency

    if fresh:
        click.echo(f"Removed {service.forget()} cached file(s).")
    campaign = current_app.config["AGENCY_ADDRESSES"] != "single" and not agency_slug
    slugs = list(db.session.scalars(select(Agency.slug).order_by(Agency.id))) if campaign else [agency_slug]
    done = modeled = 0
    warmed: set[int] = set()
    for slug in slugs:
        agency = choose_agency(slug)
        query = select(Wave).where(Wave.agency_id == agency.id)
        if campaign:
            query = query.where(Wave.published.is_(True))
        with current_app.test_request_context():
            waves = [w for w in db.session.scalars(query) if w.id not in warmed]
            cached, failed = service.warm(waves)
            for wave, why in failed:
                click.echo(f"Wave {wave.slug} of {agency.slug} is not cached: {why}")
            warmed.update(w.id for w in waves)
            # The other agencies' waves that the Compare page's "Beside other agencies" sets beside these
            # (one that cannot be weighted is left out of the benchmarks too).
            others = {w.id: w for wave in waves for w in benchmarks.comparable_waves(wave) if w.id not in warmed}
            warmed.update(others)
            cached_others, _failed = service.warm(list(others.values()))
            done += cached + cached_others
            # The public page shows the newest published wave's small areas: their model is cached too.
            modeled += areas.warm(waves)
    where = f" of {len(slugs)} agencies" if campaign else ""
    click.echo(f"Results of {done} wave(s){where} are in the cache, and the small-area models of {modeled}.")
