"""One deployment for a campaign of agencies: agency addresses and settings, accounts per agency,
one audit chain per agency

Revision ID: 0011_campaign
Revises: 0008_agency_texts

A single-agency deployment upgrades in place: its agency keeps every setting and its staff keep
their accounts (now of that agency). The audit log, one chain until now, becomes one chain per
agency: the old chain is verified first (the upgrade stops, changing nothing, if it is broken),
then each agency's events are linked to each other in their old order and hashed again.
"""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

revision = "0011_campaign"
down_revision = "0008_agency_texts"
branch_labels = None
depends_on = None

_EVENT_COLUMNS = "id, agency_id, at, staff_user_id, action, object_type, object_id, detail, prev_hash, hash"


def _events(bind: sa.Connection) -> list[SimpleNamespace]:
    import json

    rows = bind.execute(sa.text(f"SELECT {_EVENT_COLUMNS} FROM audit_event ORDER BY id")).mappings().all()
    events = []
    for row in rows:
        values = dict(row)
        if isinstance(values["detail"], str):
            values["detail"] = json.loads(values["detail"])
        if isinstance(values["at"], str):
            import datetime as dt

            values["at"] = dt.datetime.fromisoformat(values["at"])
        events.append(SimpleNamespace(**values))
    return events


def _old_hash(prev: str, event: SimpleNamespace) -> str:
    """The hash as revision 0008's code made it (the row id in, no place in the chain)."""
    import datetime as dt
    import hashlib
    import json

    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=dt.UTC)
    canonical = json.dumps(
        {"id": event.id, "agency_id": event.agency_id, "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
         "staff_user_id": event.staff_user_id, "action": event.action, "object_type": event.object_type,
         "object_id": event.object_id, "detail": event.detail},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256((prev + "\n" + canonical).encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("host", sa.String(length=253), nullable=True))
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("districts", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("listed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("peer_group", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_agency_host", ["host"])

    with op.batch_alter_table("staff_user") as batch:
        batch.alter_column("agency_id", existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint("uq_staff_user_email", type_="unique")
        batch.create_unique_constraint("uq_staff_user_agency_id", ["agency_id", "email"])

    bind = op.get_bind()
    events = _events(bind)
    prev = "0" * 64
    for event in events:
        if event.prev_hash != prev or _old_hash(prev, event) != event.hash:
            raise RuntimeError(
                f"The audit chain is broken at event {event.id}: the upgrade stops here and changes nothing. "
                "Restore the log from a backup (or keep the old version running) before upgrading."
            )
        prev = event.hash

    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("seq", sa.Integer(), nullable=True))

    from survey.audit import GENESIS, chain_hash

    last: dict[int | None, tuple[int, str]] = {}
    for event in events:
        seq, prev = last.get(event.agency_id, (0, GENESIS))
        event.seq = seq + 1
        event.prev_hash = prev
        event.hash = chain_hash(prev, event)
        last[event.agency_id] = (event.seq, event.hash)
    # Hashes are unique: park every row on a placeholder first so that no new hash meets an old one.
    bind.execute(sa.text("UPDATE audit_event SET hash = 'x' || CAST(id AS VARCHAR)"))
    for event in events:
        bind.execute(
            sa.text("UPDATE audit_event SET seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id"),
            {"seq": event.seq, "prev": event.prev_hash, "hash": event.hash, "id": event.id},
        )

    if bind.dialect.name == "postgresql":
        # Ids were given by the code until now; from here the database numbers new events.
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), "
                             "COALESCE((SELECT MAX(id) FROM audit_event), 0) + 1, false)"))
    with op.batch_alter_table("audit_event") as batch:
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.create_index("ix_audit_event_agency_seq", ["agency_id", "seq"], unique=False)


def downgrade() -> None:
    """Back to one chain and one agency's accounts: campaign accounts are removed, and the events
    are linked in id order and hashed as revision 0008 did."""
    bind = op.get_bind()
    campaign_accounts = "SELECT id FROM staff_user WHERE agency_id IS NULL"
    bind.execute(sa.text(f"UPDATE audit_event SET staff_user_id = NULL WHERE staff_user_id IN ({campaign_accounts})"))
    bind.execute(sa.text(f"DELETE FROM staff_session WHERE staff_user_id IN ({campaign_accounts})"))
    bind.execute(sa.text("DELETE FROM staff_user WHERE agency_id IS NULL"))
    events = _events(bind)
    prev = "0" * 64
    for event in events:
        event.prev_hash = prev
        event.hash = _old_hash(prev, event)
        prev = event.hash
    bind.execute(sa.text("UPDATE audit_event SET hash = 'x' || CAST(id AS VARCHAR)"))
    for event in events:
        bind.execute(sa.text("UPDATE audit_event SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                     {"prev": event.prev_hash, "hash": event.hash, "id": event.id})
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_index("ix_audit_event_agency_seq")
        batch.drop_column("seq")

    with op.batch_alter_table("staff_user") as batch:
        batch.drop_constraint("uq_staff_user_agency_id", type_="unique")
        batch.create_unique_constraint("uq_staff_user_email", ["email"])
        batch.alter_column("agency_id", existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table("agency") as batch:
        batch.drop_constraint("uq_agency_host", type_="unique")
        for column in ("peer_group", "listed", "districts", "languages", "host"):
            batch.drop_column(column)
