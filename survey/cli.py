"""Flask commands: database, instruments, demo data, staff accounts and the audit log."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app, g
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from . import migrate
from .db import db

db_cli = AppGroup("db", help="Create and migrate the database (Alembic).")


def choose_agency(slug: str | None) -> Any:
    """Make ``slug`` (else SURVEY_AGENCY, else the agency this deployment serves) the agency of
    this command's ``current_agency()``, in its app context and any request context made inside
    it. With single addresses that is the agency the pages serve (the first one, as the README
    says); with path or host addresses a deployment of several agencies must name one: a command
    never picks one of a campaign's agencies by itself."""
    from .context import AgencyInfo, find_agency
    from .models import Agency

    slug = slug or current_app.config.get("AGENCY")
    if slug:
        agency = find_agency("slug", slug)
        if agency is None:
            raise click.ClickException(f"There is no agency {slug!r}: see `flask --app wsgi agency show`.")
    else:
        if current_app.config["AGENCY_ADDRESSES"] != "single":
            count = db.session.scalar(select(func.count()).select_from(Agency))
            if count > 1:
                raise click.ClickException(
                    f"This deployment holds {count} agencies: name one with --agency SLUG (or SURVEY_AGENCY).")
        agency = find_agency("single", "")
        if agency is None:
            raise click.ClickException("No agency is set up yet: run `flask --app wsgi demo` or `flask --app wsgi agency set`.")
    g.agency = AgencyInfo.of(agency)
    return g.agency


def agency_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--agency SLUG``: which agency the command acts on (see :func:`choose_agency`). Put it
    below ``with_appcontext`` (AppGroup commands have one already)."""

    @click.option("--agency", "agency_slug", default=None,
                  help="The agency's slug (default: SURVEY_AGENCY, else the agency served at single addresses).")
    @functools.wraps(command)
    def wrapped(*args: Any, agency_slug: str | None = None, **kwargs: Any) -> Any:
        choose_agency(agency_slug)
        return command(*args, **kwargs)

    return wrapped


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database is at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' removes every table)."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database is at {revision}.")


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration by comparing the models with the database (review it before committing)."""
    from alembic import command

    command.revision(migrate.alembic_config(current_app.config["DATABASE_URL"]), message=message, autogenerate=True)


instruments_cli = AppGroup("instruments", help="Load and list questionnaires from instruments/.")


@instruments_cli.command("load")
@agency_option
def instruments_load() -> None:
    """Validate every instruments/*.toml and store new versions; a used version may not change."""
    from .context import current_agency
    from .instrument_store import sync_instruments

    for line in sync_instruments(current_agency(), current_app.config["INSTRUMENTS_DIR"]):
        click.echo(line)
    db.session.commit()


@instruments_cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def instruments_check(paths: tuple[str, ...]) -> None:
    """Validate instrument files without touching the database (exit 1 on the first error)."""
    from .instruments import InstrumentError, load_dir, load_file

    try:
        found = [load_file(p) for p in paths] if paths else load_dir(current_app.config["INSTRUMENTS_DIR"])
    except InstrumentError as exc:
        raise click.ClickException(str(exc)) from None
    for inst in found:
        click.echo(f"{inst.path}: {inst.key} v{inst.version}, {len(inst.items)} items, languages "
                   + ", ".join(f"{k} ({v['status']})" for k, v in inst.languages.items()))


def _instrument_path(name: str) -> str:
    """A path as given, else a file of that name in the instruments folder."""
    from pathlib import Path

    path = Path(name)
    if not path.exists() and (Path(current_app.config["INSTRUMENTS_DIR"]) / name).exists():
        path = Path(current_app.config["INSTRUMENTS_DIR"]) / name
    if not path.is_file():
        raise click.ClickException(f"{name}: no such instrument file")
    return str(path)


@instruments_cli.command("export-texts")
@click.argument("instrument")
@click.option("--format", "fmt", type=click.Choice(["csv", "po"]), default="csv", show_default=True)
@click.option("--lang", "langs", multiple=True,
              help="Language to translate into (repeatable); default: every declared language.")
@click.option("--out", required=True, type=click.Path(),
              help="CSV file; for PO a folder (one catalog per language), or a .po file for one --lang.")
def instruments_export_texts(instrument: str, fmt: str, langs: tuple[str, ...], out: str) -> None:
    """Export an instrument's texts for translators: a spreadsheet CSV or gettext PO catalogs."""
    from .instrument_i18n import TextsError, read_instrument, write_export
    from .instruments import InstrumentError

    try:
        inst = read_instrument(_instrument_path(instrument))
        paths = write_export(inst, fmt, out, list(langs) or None)
    except (TextsError, InstrumentError) as exc:
        raise click.ClickException(str(exc)) from None
    for path in paths:
        click.echo(f"Wrote {path} ({len(inst.texts)} texts).")


@instruments_cli.command("import-texts")
@click.argument("instrument")
@click.argument("translations", type=click.Path(exists=True, dir_okay=False))
@click.option("--lang", default=None, help="Import only this language's column (a PO file names its own).")
@click.option("--status", type=click.Choice(["draft", "reviewed", "approved"]), default=None,
              help="Set the language's review status (reviewed and approved need --reviewer).")
@click.option("--reviewer", default=None, help="Who reviewed the translation.")
@click.option("--dry-run", is_flag=True, help="Check everything, change nothing.")
def instruments_import_texts(instrument: str, translations: str, lang: str | None, status: str | None,
                             reviewer: str | None, dry_run: bool) -> None:
    """Import translated texts (CSV or PO) into the instrument's TOML; refused as a whole on any problem."""
    from .instrument_i18n import TextsError, import_texts
    from .instruments import InstrumentError

    path = _instrument_path(instrument)
    try:
        result = import_texts(path, translations, lang=lang, status=status, reviewer=reviewer, dry_run=dry_run)
    except (TextsError, InstrumentError) as exc:
        raise click.ClickException(str(exc)) from None
    for code, ids in result.changed.items():
        click.echo(f"{code}: {len(ids)} text(s) {'would change' if dry_run else 'changed'}.")
    if not result.changed:
        click.echo("No text changed.")
    for code, ids in result.untranslated.items():
        click.echo(f"{code}: {len(ids)} text(s) still untranslated, e.g. {ids[0]}.")
    if result.skipped_fuzzy:
        click.echo(f"Not imported, marked fuzzy: {', '.join(result.skipped_fuzzy)}.")
    for message in result.messages:
        click.echo(message)
    if result.written:
        click.echo(f"Wrote {path}; check it with `flask --app wsgi instruments check` and review the diff.")


@click.command("demo")
@with_appcontext
@click.option("--seed", default=20261125, show_default=True, help="Random seed (the demo is deterministic).")
@click.option("--per-wave", default=2500, show_default=True, help="Simulated responses per past wave.")
@click.option("--if-empty", is_flag=True, help="When an agency already exists, load nothing and make --codes new codes.")
@click.option("--codes", default=5, show_default=True, help="With --if-empty: access codes to make for the open wave.")
@click.option("--peers", is_flag=True, help="Also load ten other agencies of a campaign, each with one small wave "
              "on the same questionnaire (for the Compare page's \"Beside other agencies\").")
def demo_command(seed: int, per_wave: int, if_empty: bool, codes: int, peers: bool) -> None:
    """Load a demo agency: instrument, four past waves, an open wave with codes, staff, complaints."""
    from .demo import demo_codes, load_demo, load_peer_agencies
    from .models import Agency

    if if_empty and db.session.scalars(select(Agency).limit(1)).first() is not None:
        click.echo("The demo is already loaded (delete instance/survey.sqlite3 to start again).")
        demo_codes(codes, echo=click.echo)
        db.session.commit()
        return
    load_demo(seed=seed, per_wave=per_wave, echo=click.echo)
    if peers:
        load_peer_agencies(seed=seed, echo=click.echo)


agency_cli = AppGroup("agency", help="The agency this deployment serves.")

_AGENCY_FIELDS = ("name", "city", "phone", "address", "default_language", "acknowledge_days", "close_days",
                  "languages", "districts", "host", "peer_group", "listed")


def _agency_line(agency: object) -> str:
    return f"{agency.slug}: " + ", ".join(f"{key}={getattr(agency, key)!r}" for key in _AGENCY_FIELDS)


@agency_cli.command("set")
@click.option("--slug", required=True, help="Short name used in configuration (SURVEY_AGENCY), e.g. riverton.")
@click.option("--name", help="Shown on every page and filled into {agency} in questionnaires.")
@click.option("--city", help="Filled into {city} in questionnaires.")
@click.option("--phone", help="Printed on the complaint policy page.")
@click.option("--address", help="Printed on the complaint policy page.")
@click.option("--default-language", help="Language of complaints filed without one (e.g. en).")
@click.option("--acknowledge-days", type=click.IntRange(1, 365), help="Promised days to acknowledge a complaint.")
@click.option("--close-days", type=click.IntRange(1, 3650), help="Promised days to close a complaint.")
@click.option("--languages", help="Languages the agency offers, comma-separated (default: all of SURVEY_LANGUAGES).")
@click.option("--districts", help="The agency's districts, comma-separated; new waves start with them.")
@click.option("--host", help="The agency's own host name (SURVEY_AGENCY_ADDRESSES=host); '' removes it.")
@click.option("--peer-group", help="The campaign's peer group for benchmarks, e.g. small-city; '' removes it.")
@click.option("--listed/--not-listed", default=None, help="Named on the campaign's page and in other agencies' benchmarks.")
@click.option("--lang", help="Set --name, --city and --address as this language writes them (e.g. ar).")
def agency_set(slug: str, lang: str | None, **values: object) -> None:
    """Create the agency, or change the settings given; app servers show a change within 30 s."""
    from .models import Agency
    from .tenancy import SLUG

    given = {key: value for key, value in values.items() if value is not None}
    if not SLUG.fullmatch(slug):
        raise click.ClickException("--slug takes lower-case letters, digits and dashes (it is part of addresses), e.g. riverton.")
    for key in ("languages", "districts"):
        if key in given:
            given[key] = [part.strip() for part in str(given[key]).split(",") if part.strip()]
    if "languages" in given:
        unknown = [code for code in given["languages"] if code not in current_app.config["LANGUAGES"]]
        if unknown or not given["languages"]:
            raise click.ClickException(f"--languages must be some of SURVEY_LANGUAGES: {', '.join(current_app.config['LANGUAGES'])}.")
    for key in ("host", "peer_group"):
        if key in given:
            given[key] = str(given[key]).strip().lower() or None
    if lang is not None:
        _agency_set_texts(slug, lang, given)
        return
    for key in ("name", "city"):
        if key in given and not str(given[key]).strip():
            raise click.ClickException(f"--{key} cannot be empty.")
    offered = current_app.config["LANGUAGES"]
    if "default_language" in given and given["default_language"] not in offered:
        raise click.ClickException(f"--default-language must be one this site offers (SURVEY_LANGUAGES): {', '.join(offered)}.")
    agency = db.session.scalars(select(Agency).where(Agency.slug == slug)).first()
    if agency is None:
        missing = [f"--{key}" for key in ("name", "city") if key not in given]
        if missing:
            raise click.ClickException(f"A new agency needs {' and '.join(missing)}.")
        agency = Agency(slug=slug)
        db.session.add(agency)
        verb = "Created"
    else:
        verb = "Updated"
    for key, value in given.items():
        setattr(agency, key, value.strip() if isinstance(value, str) else value)
    language = agency.default_language or current_app.config["DEFAULT_LANGUAGE"]
    if agency.languages and language not in agency.languages:
        raise click.ClickException(f"The agency's default language ({language}) must be one of --languages.")
    db.session.commit()
    click.echo(f"{verb} agency {_agency_line(agency)}")


def _agency_set_texts(slug: str, lang: str, given: dict[str, object]) -> None:
    """Store the agency's name, city and address in one language (an empty value removes it)."""
    from .context import TRANSLATABLE
    from .models import Agency

    if lang not in current_app.config["LANGUAGES"]:
        raise click.ClickException(f"--lang must be one this site offers (SURVEY_LANGUAGES): {', '.join(current_app.config['LANGUAGES'])}.")
    other = sorted(set(given) - set(TRANSLATABLE))
    if other:
        raise click.ClickException(f"With --lang only --name, --city and --address can be given, not {', '.join(other)}.")
    agency = db.session.scalars(select(Agency).where(Agency.slug == slug)).first()
    if agency is None:
        raise click.ClickException(f"No agency {slug!r}: create it first without --lang.")
    texts = {code: dict(values) for code, values in (agency.texts or {}).items()}
    texts.setdefault(lang, {}).update({key: str(value).strip() for key, value in given.items()})
    texts[lang] = {key: value for key, value in texts[lang].items() if value}
    agency.texts = {code: values for code, values in texts.items() if values}
    db.session.commit()
    click.echo(f"Updated agency {slug} in {lang}: {agency.texts.get(lang, {})!r}")


@agency_cli.command("show")
def agency_show() -> None:
    """Print every agency's settings."""
    from .models import Agency

    agencies = db.session.scalars(select(Agency).order_by(Agency.id)).all()
    if not agencies:
        raise click.ClickException("No agency yet: create one with `flask --app wsgi agency set --slug ... --name ... --city ...`.")
    for agency in agencies:
        click.echo(_agency_line(agency))


staff_cli = AppGroup("staff", help="Staff accounts.")


@staff_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True,
              type=click.Choice(["admin", "survey_manager", "analyst", "investigator"]))
@click.option("--agency", "agency_slug", default=None, help="The agency of the account (default: SURVEY_AGENCY, else the only one).")
@click.option("--campaign", is_flag=True, help="A campaign administrator's account (no agency, no agency roles).")
@click.password_option()
def staff_create(email: str, name: str, roles: tuple[str, ...], agency_slug: str | None, campaign: bool,
                 password: str) -> None:
    """Create a staff account (the first admin is made this way; --campaign for the campaign's)."""
    from .auth import hash_password, record_role_change
    from .models import CAMPAIGN_ROLE, StaffUser

    if len(password) < 12:
        raise click.ClickException("Use a password of at least 12 characters.")
    if campaign == bool(roles):
        raise click.ClickException("Give --role (one or more) for an agency's account, or --campaign alone.")
    agency_id = None if campaign else choose_agency(agency_slug).id
    email = email.strip().lower()
    scope = StaffUser.agency_id.is_(None) if agency_id is None else StaffUser.agency_id == agency_id
    if db.session.scalars(select(StaffUser).where(StaffUser.email == email, scope)).first():
        raise click.ClickException(f"A staff account for {email} already exists there.")
    given = [CAMPAIGN_ROLE] if campaign else sorted(set(roles))
    user = StaffUser(agency_id=agency_id, email=email, name=name, password_hash=hash_password(password), roles=given)
    db.session.add(user)
    db.session.flush()
    record_role_change(user, [], None)  # the audit log says the command line gave these roles
    db.session.commit()
    click.echo(f"Created {email} with roles {', '.join(given)}.")


audit_cli = AppGroup("audit", help="The hash-chained audit log.")


@audit_cli.command("verify")
@click.option("--agency", "agency_slug", default=None, help="Check only this agency's chain (default: every chain).")
def audit_verify(agency_slug: str | None) -> None:
    """Check every link of each agency's audit chain; name the first broken one (exit 1)."""
    from .audit import chains, verify
    from .models import Agency

    slugs = dict(db.session.execute(select(Agency.id, Agency.slug)).all())
    wanted = chains(db.session)
    if agency_slug is not None:
        wanted = [agency_id for agency_id, slug in slugs.items() if slug == agency_slug]
        if not wanted:
            raise click.ClickException(f"No agency {agency_slug!r}.")
    total = 0
    for agency_id in wanted:
        name = slugs.get(agency_id, "the campaign") if agency_id is not None else "the campaign"
        result = verify(db.session, agency_id)
        if not result.ok:
            raise click.ClickException(
                f"Audit chain of {name} broken at event {result.broken_id}: {result.reason} "
                f"({result.checked} events before it are intact)."
            )
        total += result.checked
        if len(wanted) > 1:
            click.echo(f"{name}: {result.checked} events intact.")
    click.echo(f"Audit chain intact: {total} events.")


@click.command("backup")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: instance/backups/survey-<date>.<ext>).")
@with_appcontext
def backup_command(out: Path | None) -> None:
    """Write a consistent copy of the database while the app keeps serving."""
    import datetime as dt

    from .backup import BackupError, backup

    url = current_app.config["DATABASE_URL"]
    if out is None:
        ext = "sqlite3" if url.startswith("sqlite") else "dump"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        out = Path(current_app.instance_path) / "backups" / f"survey-{stamp}.{ext}"
    try:
        click.echo(f"Backup written to {backup(url, out)}")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.confirmation_option(prompt="This replaces every row in the database. Stop the app first. Continue?")
@with_appcontext
def restore_command(source: Path) -> None:
    """Replace the database with a backup made by `backup` (stop the app first)."""
    from .backup import BackupError, restore

    try:
        restore(current_app.config["DATABASE_URL"], source)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored from {source}.")


def register(app: Flask) -> None:
    from .staff.cli import COMMANDS as STAFF_COMMANDS

    for command in (db_cli, instruments_cli, demo_command, agency_cli, staff_cli, audit_cli, backup_command, restore_command,
                    *STAFF_COMMANDS):
        app.cli.add_command(command)
    from .complaints.cli import complaints_cli
    from .results.cli import areas_command, report_command, warm_command

    app.cli.add_command(complaints_cli)
    app.cli.add_command(report_command)
    app.cli.add_command(areas_command)
    app.cli.add_command(warm_command)
