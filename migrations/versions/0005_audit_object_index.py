"""Index the audit log by object, for a complaint's history page

Revision ID: 0005_audit_object_index
Revises: 0002_respond
"""

from __future__ import annotations

from alembic import op

revision = "0005_audit_object_index"
down_revision = "0002_respond"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_object", "audit_event", ["object_type", "object_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_event_object", table_name="audit_event")
