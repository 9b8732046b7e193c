"""One throttle (counters by kind and period), server-side staff sessions, follow-up versions

throttle_bucket is rebuilt with a kind column so that each limiter cleans only its own rows (its
counters are minutes old and are simply dropped). staff_session rows make signing out final.
complaint.follow_version ends a resident's follow-up on "Leave this page". The per-account lock-out
columns of staff_user go: lock-outs are per (account, client) in throttle_bucket.

Revision ID: 0006_throttle_sessions
Revises: 0005_audit_object_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_throttle_sessions"
down_revision = "0005_audit_object_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("throttle_bucket")
    op.create_table(
        "throttle_bucket",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", "period", name=op.f("pk_throttle_bucket")),
    )
    op.create_index("ix_throttle_bucket_kind_period", "throttle_bucket", ["kind", "period"], unique=False)
    op.create_index("ix_throttle_bucket_kind_account", "throttle_bucket", ["kind", "account"], unique=False)
    op.create_table(
        "staff_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["staff_user_id"], ["staff_user.id"], name=op.f("fk_staff_session_staff_user_id_staff_user"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_session")),
    )
    op.create_index(op.f("ix_staff_session_staff_user_id"), "staff_session", ["staff_user_id"], unique=False)
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("follow_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("staff_user") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("follow_version")
    op.drop_index(op.f("ix_staff_session_staff_user_id"), table_name="staff_session")
    op.drop_table("staff_session")
    op.drop_index("ix_throttle_bucket_kind_account", table_name="throttle_bucket")
    op.drop_index("ix_throttle_bucket_kind_period", table_name="throttle_bucket")
    op.drop_table("throttle_bucket")
    op.create_table(
        "throttle_bucket",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_throttle_bucket")),
    )
