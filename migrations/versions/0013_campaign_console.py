"""The campaign console: one-time links that let an agency's first administrator set a password

Revision ID: 0013_campaign_console
Revises: 0014_us_spelling (written on 0011_campaign; main had added 0014 on it meanwhile)

Only the link's hash is stored; a link works once, until it expires.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_campaign_console"
down_revision = "0014_us_spelling"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_invite",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_staff_invite_agency_user", "staff_invite", ["agency_id", "staff_user_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_invite_agency_user", table_name="staff_invite")
    op.drop_table("staff_invite")
