"""Keep the database's instrument versions in step with instruments/*.toml, immutably once used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from .db import db
from .instruments import InstrumentDef, InstrumentError, check_stable_keys, from_stored, load_dir
from .models import Agency, Instrument, InstrumentVersion, Wave


def definition_of(version: InstrumentVersion) -> InstrumentDef:
    """The validated instrument behind a stored version (cached by content hash)."""
    return from_stored(version.definition, version.content_hash)


def instrument_for_wave(wave: Wave) -> InstrumentDef:
    return definition_of(wave.instrument_version)


def sync_instruments(agency: Agency, directory: str | Path, only: set[tuple[str, int]] | None = None) -> Iterator[str]:
    """Store new instrument versions; refuse to change one that a wave already uses.

    ``only`` keeps to those (key, version) pairs. Yields one line per instrument version saying
    what was done.
    """
    session = db.session
    for inst in load_dir(directory):
        if only is not None and (inst.key, inst.version) not in only:
            continue
        family = session.scalars(
            select(Instrument).where(Instrument.agency_id == agency.id, Instrument.key == inst.key)
        ).first()
        if family is None:
            family = Instrument(agency_id=agency.id, key=inst.key, title=inst.title.get("en", inst.key))
            session.add(family)
            session.flush()
        stored = session.scalars(
            select(InstrumentVersion).where(
                InstrumentVersion.instrument_id == family.id, InstrumentVersion.version == inst.version
            )
        ).first()
        if stored is not None:
            if stored.content_hash == inst.content_hash:
                yield f"{inst.key} v{inst.version}: unchanged"
                continue
            used = session.scalar(select(func.count()).select_from(Wave).where(Wave.instrument_version_id == stored.id))
            if used:
                raise InstrumentError(
                    inst.path,
                    "version",
                    f"{inst.key} v{inst.version} is used by {used} wave(s) and cannot change; "
                    "save the new wording as version " + str(inst.version + 1),
                )
            stored.definition = dict(inst.raw)
            stored.content_hash = inst.content_hash
            stored.source_file = Path(inst.path).name
            yield f"{inst.key} v{inst.version}: updated (no wave used it yet)"
            continue
        previous = session.scalars(
            select(InstrumentVersion)
            .where(InstrumentVersion.instrument_id == family.id, InstrumentVersion.version < inst.version)
            .order_by(InstrumentVersion.version.desc())
        ).first()
        if previous is not None:
            check_stable_keys(definition_of(previous), inst)
        session.add(
            InstrumentVersion(
                instrument_id=family.id,
                version=inst.version,
                content_hash=inst.content_hash,
                definition=dict(inst.raw),
                source_file=Path(inst.path).name,
            )
        )
        yield f"{inst.key} v{inst.version}: added"
    session.flush()
