"""Complaint commands: create and rotate the encryption key, erase old contact details."""

from __future__ import annotations

import datetime as dt

import click
from cryptography.fernet import Fernet
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit, crypto
from ..db import db
from ..models import Complaint, ComplaintMessage, ComplaintStatus, today

complaints_cli = AppGroup("complaints", help="Complaint keys and retention.")

ENCRYPTED = {
    Complaint: ("narrative_enc", "location_enc", "officers_enc", "witnesses_enc", "contact_enc"),
    ComplaintMessage: ("body_enc",),
}


def _forget_cipher() -> None:
    current_app.extensions.pop("survey.crypto", None)


@complaints_cli.command("new-key")
def new_key() -> None:
    """Create the key file (refuses to overwrite one that exists)."""
    path = crypto._key_path()
    if path.exists():
        raise click.ClickException(f"{path} already exists; use `complaints rotate-key` to replace its key.")
    crypto.write_keys([Fernet.generate_key()], path)
    click.echo(f"Wrote a new complaint key to {path}. Keep a copy apart from the database backups.")


@complaints_cli.command("rotate-key")
def rotate_key() -> None:
    """Add a new key, re-encrypt every encrypted column with it, then drop the old keys.

    The old keys stay in the file until every row is re-encrypted and committed, so a failure
    at any point leaves a file that still decrypts everything.
    """
    old = crypto.read_keys()
    new = Fernet.generate_key()
    crypto.write_keys([new, *old])
    _forget_cipher()
    session = db.write()
    rows = 0
    try:
        for model, columns in ENCRYPTED.items():
            for obj in session.scalars(select(model)):
                for column in columns:
                    setattr(obj, column, crypto.reencrypt(getattr(obj, column)))
                rows += 1
        audit.record(session, "complaints.rotate_key", "key", None, detail={"rows": rows})
        session.commit()
    except Exception:
        session.rollback()
        raise
    crypto.write_keys([new])
    _forget_cipher()
    click.echo(f"Re-encrypted {rows} rows with a new key; the old keys were removed.")


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
