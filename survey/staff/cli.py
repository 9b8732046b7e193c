"""Flask commands of the staff console: invitation codes for mail vendors and the export."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from ..db import db

invitations_cli = AppGroup("invitations", help="Invitation codes for mailed letters.")


def _wave(slug: str):
    from ..context import current_agency
    from ..models import Wave

    wave = db.session.scalars(select(Wave).where(Wave.agency_id == current_agency().id, Wave.slug == slug)).first()
    if wave is None:
        raise click.ClickException(f"There is no wave {slug!r}. See the waves in the staff console.")
    return wave


@invitations_cli.command("create")
@click.option("--wave", "slug", required=True, help="The wave's short name, e.g. 2026-q4.")
@click.option("--stratum", default=None, help="The district (stratum) the letters go to.")
@click.option("--count", type=click.IntRange(1, 1_000_000), required=True, help="How many codes to make.")
@click.option("--probability", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Selection probability of each address (default: count / the stratum's population).")
@click.option("--area", default=None, help="The small area (neighborhood or beat) the letters go to, if the wave's invitations set it.")
def invitations_create(slug: str, stratum: str | None, count: int, probability: float | None, area: str | None) -> None:
    """Make COUNT codes and write code,stratum,start_url CSV to standard output (shown only once)."""
    from .invitations import codes_csv, generate

    wave = _wave(slug)
    if stratum is None and wave.strata:
        raise click.ClickException(f"{slug} has strata; choose one with --stratum ({', '.join(s.name for s in wave.strata)}).")
    if stratum and wave.strata and stratum not in {s.name for s in wave.strata}:
        raise click.ClickException(f"{slug} has no stratum {stratum!r}; it has {', '.join(s.name for s in wave.strata)}.")
    if stratum and probability is None and not any(s.name == stratum and s.population for s in wave.strata):
        raise click.ClickException(f"{stratum} has no population in {slug}; give --probability.")
    try:
        issued = generate(wave, stratum, count, probability, area)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    sys.stdout.write(codes_csv(issued))
    click.echo(f"Made {len(issued)} codes for {slug} {stratum or ''}. They are not stored: keep this file safe.", err=True)


@invitations_cli.command("undeliverable")
@click.option("--wave", "slug", required=True)
@click.argument("source", type=click.File("r", encoding="utf-8-sig"), default="-")
def invitations_undeliverable(slug: str, source) -> None:
    """Mark the codes in SOURCE (a file, or standard input) as returned undeliverable."""
    from .invitations import mark_undeliverable, read_codes

    wave = _wave(slug)
    marked, unknown, used = mark_undeliverable(wave, read_codes(source.read()))
    db.session.commit()
    click.echo(f"Marked {marked} undeliverable.")
    if unknown:
        click.echo(f"Not invitations of {slug}: {', '.join(unknown)}", err=True)
    if used:
        click.echo(f"Already used to answer (left as delivered): {', '.join(used)}", err=True)


@click.command("export")
@click.option("--wave", "slugs", multiple=True, required=True, help="A wave's short name; repeat for several waves.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Folder for responses.csv and codebook.json.")
@click.option("--include-text", is_flag=True, help="Also export free-text answers (they may identify someone).")
@with_appcontext
def export_command(slugs: tuple[str, ...], out: str, include_text: bool) -> None:
    """Write the respondent-level CSV and its codebook JSON (see the README, "The export format")."""
    from .. import export

    waves = [_wave(slug) for slug in dict.fromkeys(slugs)]
    try:
        result = export.build(waves, include_text=include_text)
    except export.ExportError as exc:
        raise click.ClickException(str(exc)) from None
    csv_path, codebook_path = export.write(result, out)
    click.echo(f"Wrote {len(result.rows)} responses to {csv_path} and the codebook to {codebook_path}.")


COMMANDS = (invitations_cli, export_command)
