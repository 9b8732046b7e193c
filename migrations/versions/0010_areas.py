"""Small areas: a wave's neighbourhoods or beats, the area of a response and of an invitation

Revision ID: 0010_areas
Revises: 0005_audit_object_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_areas"
down_revision = "0007_storage_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wave") as batch:
        batch.add_column(sa.Column("area_kind", sa.Enum("neighbourhood", "beat", name="area_kind", native_enum=False, length=32), nullable=True))
        batch.add_column(sa.Column("area_source", sa.Enum("resident", "invitation", name="area_source", native_enum=False, length=32), nullable=True))
        batch.add_column(sa.Column("publish_areas", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "wave_area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("covariates", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["wave_id"], ["wave.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("wave_id", "name"),
    )
    op.create_index(op.f("ix_wave_area_wave_id"), "wave_area", ["wave_id"], unique=False)
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("area", sa.String(length=100), nullable=True))
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("area", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("area")
    with op.batch_alter_table("response") as batch:
        batch.drop_column("area")
    op.drop_index(op.f("ix_wave_area_wave_id"), table_name="wave_area")
    op.drop_table("wave_area")
    with op.batch_alter_table("wave") as batch:
        batch.drop_column("publish_areas")
        batch.drop_column("area_source")
        batch.drop_column("area_kind")
