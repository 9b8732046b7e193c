"""Complaint commands: create and rotate the encryption key, erase old contact details."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit, crypto
from ..db import db
from ..models import Complaint, ComplaintMessage, ComplaintStatus, today

complaints_cli = AppGroup("complaints", help="Complaint keys and retention.")

#: Every sealed column, by model. ``crypto`` binds each value to its column's name.
ENCRYPTED = {
    Complaint: (
        Complaint.incident_date_enc, Complaint.language_enc, Complaint.narrative_enc, Complaint.location_enc, Complaint.officers_enc,
        Complaint.witnesses_enc, Complaint.contact_enc,
    ),
    ComplaintMessage: (ComplaintMessage.body_enc,),
}


@complaints_cli.command("new-key")
def new_key() -> None:
    """Create the key file (refuses to overwrite one that exists)."""
    path = crypto.key_path()
    if path.exists():
        raise click.ClickException(f"{path} already exists; use `complaints rotate-key` to replace its key.")
    crypto.write_lines([crypto.Key.generate().line()], path)
    click.echo(f"Wrote a new complaint key to {path}. Keep a copy apart from the database backups.")


def _reseal_all(convert, action: str) -> int:
    """Set every sealed column to ``convert(blob, column)`` and audit it, in one transaction."""
    session = db.write()
    rows = 0
    try:
        for model, columns in ENCRYPTED.items():
            for obj in session.scalars(select(model)):
                for column in columns:
                    setattr(obj, column.key, convert(getattr(obj, column.key), column))
                rows += 1
        # One key seals every agency's complaints: its change is the campaign's own event.
        audit.record(session, action, "key", None, agency_id=None, detail={"rows": rows})
        session.commit()
    except Exception:
        session.rollback()
        raise
    return rows


@complaints_cli.command("rotate-key")
def rotate_key() -> None:
    """Add a new key, re-encrypt every encrypted column with it, then drop the old keys.

    The old keys stay in the file until every row is re-encrypted and committed, so a failure
    at any point leaves a file that still decrypts everything.
    """
    old = crypto.read_ring()
    if old.legacy:
        raise click.ClickException("The key file still holds Fernet keys: run `complaints migrate-encryption` first.")
    new = crypto.Key.generate()
    crypto.write_ring(crypto.KeyRing([new, *old.keys], []))
    rows = _reseal_all(crypto.reencrypt, "complaints.rotate_key")
    crypto.write_ring(crypto.KeyRing([new], []))
    click.echo(f"Re-encrypted {rows} rows with a new key; the old keys were removed.")


#: What migration 0007 writes in front of a value it moved out of a clear column.
LEGACY_CLEAR = b"legacy:"


def _convert(blob: bytes | None, column) -> bytes | None:
    """Any stored form (Fernet token, a clear value the schema migration moved, AES-GCM) sealed anew."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob.startswith(LEGACY_CLEAR):
        return crypto.encrypt(blob[len(LEGACY_CLEAR):].decode("utf-8"), column)
    if crypto.is_legacy(blob):
        return crypto.encrypt(crypto.open_legacy(blob), column)
    return crypto.reencrypt(blob, column)


@complaints_cli.command("migrate-encryption")
def migrate_encryption() -> None:
    """Convert complaint data sealed under the old Fernet scheme (its tokens carry their creation
    time in clear) to AES-GCM, then drop the Fernet keys from the key file.

    Also seals what migration 0007 moved out of clear columns (incident dates, stored as
    ``legacy:YYYY-MM-DD`` until this runs). Safe to run again. On SQLite the file is then
    vacuumed so the old tokens do not stay in free pages.
    """
    old = crypto.read_ring()
    keys = old.keys or [crypto.Key.generate()]
    crypto.write_ring(crypto.KeyRing(keys, old.legacy))
    rows = _reseal_all(_convert, "complaints.migrate_encryption")
    db.compact()
    crypto.write_ring(crypto.KeyRing(keys, []))
    click.echo(f"Converted {rows} rows to AES-GCM; the Fernet keys were removed from the key file.")


@complaints_cli.command("erase-contacts")
def erase_contacts() -> None:
    """Erase contact details of complaints closed more than RETENTION_DAYS ago."""
    days = int(current_app.config["RETENTION_DAYS"])
    cutoff = today() - dt.timedelta(days=days)
    session = db.write()
    due = session.scalars(
        select(Complaint).where(
            Complaint.status == ComplaintStatus.CLOSED,
            Complaint.closed_on < cutoff,
            Complaint.contact_enc.is_not(None),
        )
    ).all()
    for complaint in due:
        complaint.contact_enc = None
        complaint.contact_erased_on = today()
        audit.record(session, "complaint.erase_contact", "complaint", complaint.id,
                     agency_id=complaint.agency_id, detail={"retention_days": days})
    session.commit()
    click.echo(f"Erased the contact details of {len(due)} complaints closed before {cutoff.isoformat()}.")
