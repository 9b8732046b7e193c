"""US spelling of a stored value: a wave's small areas are "neighborhood" (or "beat")

Revision ID: 0014_us_spelling
Revises: 0011_campaign
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_us_spelling"
down_revision = "0011_campaign"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE wave SET area_kind = 'neighborhood' WHERE area_kind = 'neighbourhood'"))


def downgrade() -> None:
    op.get_bind().execute(sa.text("UPDATE wave SET area_kind = 'neighbourhood' WHERE area_kind = 'neighborhood'"))
