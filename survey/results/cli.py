"""``flask --app wsgi report --waves SLUG [--waves SLUG ...] --out DIR``: the self-contained report."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from analysis.report import REPORT_NAME, write_report

from ..db import db
from ..models import Wave
from . import service


@click.command("report")
@click.option("--waves", "slugs", multiple=True, required=True, help="A wave's short name; repeat for more waves.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write into.")
@click.option("--title", default="Community trust survey: results by wave", show_default=True)
@with_appcontext
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


@click.command("results-warm")
@click.option("--fresh", is_flag=True, help="Empty the cache first (after responses were changed outside the platform).")
@with_appcontext
def warm_command(fresh: bool) -> None:
    """Compute every wave's results into the results cache, so that comparisons open at once."""
    from ..context import current_agency

    if fresh:
        click.echo(f"Removed {service.forget()} cached file(s).")
    with current_app.test_request_context():
        waves = list(db.session.scalars(select(Wave).where(Wave.agency_id == current_agency().id)))
        done = service.warm(waves)
    click.echo(f"Results of {done} wave(s) are in the cache.")
