"""The agency's name, city and address per language

Revision ID: 0008_agency_texts
Revises: 0005_audit_object_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_agency_texts"
down_revision = "0010_areas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.add_column(sa.Column("texts", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("agency") as batch:
        batch.drop_column("texts")
