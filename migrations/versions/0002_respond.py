"""Flag each response's sample type (probability or open-link non-probability)

Revision ID: 0002_respond
Revises: 0004_staff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_respond"
down_revision = "0004_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy) so that SQLite keeps the table WITHOUT ROWID.
    op.add_column(
        "response",
        sa.Column(
            "sample",
            sa.Enum("probability", "nonprobability", name="sample", native_enum=False, length=32),
            server_default="probability",
            nullable=False,
        ),
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place, which also keeps WITHOUT ROWID.
    op.execute("ALTER TABLE response DROP COLUMN sample")
