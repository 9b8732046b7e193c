"""Privacy at the storage layer: sealed drafts, invitations without dates, responses dated by week,
incident dates sealed

Revision ID: 0007_storage_privacy
Revises: 0005_audit_object_index

Unfinished drafts are dropped (their new form is sealed under a key only the resident's cookie
holds, which the server never had): run it at a quiet hour. Incident dates and complaint
languages move into ``incident_date_enc`` and ``language_enc`` as ``legacy:<value>`` until
``flask complaints migrate-encryption`` seals them (the migration has no keys). Invitation dates become flags; response dates become the Monday
of their ISO week. ``complaint.district`` was never written by the app and is dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_storage_privacy"
down_revision = "0006_throttle_sessions"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("survey_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_draft_wave_id"))
        batch_op.drop_index(batch_op.f("ix_survey_draft_expires_at"))
    op.drop_table("survey_draft")
    op.create_table(
        "survey_draft",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("purge_after", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"], name=op.f("fk_survey_draft_wave_id_wave"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_draft")),
    )
    with op.batch_alter_table("survey_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_draft_purge_after"), ["purge_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_draft_wave_id"), ["wave_id"], unique=False)

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("used", sa.Boolean(), server_default="0", nullable=False))
    op.execute(
        "UPDATE invitation SET started = (started_on IS NOT NULL OR used_on IS NOT NULL), used = (used_on IS NOT NULL)"
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("started_on")
        batch_op.drop_column("used_on")

    if _sqlite():
        op.execute("UPDATE response SET submitted_on = date(submitted_on, '-' || ((CAST(strftime('%w', submitted_on) AS INTEGER) + 6) % 7) || ' days')")
    else:
        op.execute("UPDATE response SET submitted_on = CAST(date_trunc('week', submitted_on) AS date)")

    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_date_enc", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("language_enc", sa.LargeBinary(), nullable=True))
    for clear, sealed in (("incident_date", "incident_date_enc"), ("language", "language_enc")):
        if _sqlite():
            op.execute(f"UPDATE complaint SET {sealed} = CAST('legacy:' || {clear} AS BLOB) WHERE {clear} IS NOT NULL")
        else:
            op.execute(f"UPDATE complaint SET {sealed} = convert_to('legacy:' || CAST({clear} AS text), 'UTF8') "
                       f"WHERE {clear} IS NOT NULL")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("incident_date")
        batch_op.drop_column("language")
        batch_op.drop_column("district")


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("district", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("incident_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=16), server_default="en", nullable=False))
    # Sealed values cannot be opened here (no keys): only values not yet sealed come back.
    for clear, sealed, cast in (("incident_date", "incident_date_enc", "date"), ("language", "language_enc", "text")):
        if _sqlite():
            op.execute(f"UPDATE complaint SET {clear} = substr(CAST({sealed} AS TEXT), 8) "
                       f"WHERE CAST({sealed} AS TEXT) LIKE 'legacy:%'")
        else:
            op.execute(f"UPDATE complaint SET {clear} = CAST(substr(convert_from({sealed}, 'UTF8'), 8) AS {cast}) "
                       f"WHERE position('legacy:'::bytea in {sealed}) = 1")
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("incident_date_enc")
        batch_op.drop_column("language_enc")

    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("used_on", sa.Date(), nullable=True))
    # The days were never kept: the letter's creation day marks a code started or used.
    op.execute("UPDATE invitation SET started_on = created_on WHERE started")
    op.execute("UPDATE invitation SET used_on = created_on WHERE used")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("started")
        batch_op.drop_column("used")

    with op.batch_alter_table("survey_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_draft_wave_id"))
        batch_op.drop_index(batch_op.f("ix_survey_draft_purge_after"))
    op.drop_table("survey_draft")
    op.create_table(
        "survey_draft",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("stratum", sa.String(length=100), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["invitation_id"], ["invitation.id"], name=op.f("fk_survey_draft_invitation_id_invitation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"], name=op.f("fk_survey_draft_wave_id_wave"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_draft")),
    )
    with op.batch_alter_table("survey_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_draft_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_draft_wave_id"), ["wave_id"], unique=False)
