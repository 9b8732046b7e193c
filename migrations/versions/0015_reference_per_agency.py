"""Complaint references numbered per agency

Revision ID: 0015_reference_per_agency
Revises: 0012_agency_indexes

A reference (``C-2026-0042``) was unique across the whole deployment, so in a campaign the
numbers an agency's staff saw counted every agency's complaints: agency A, filing its 3rd
complaint of the year and getting C-2026-0418, learned that the campaign had received 417
others. Each agency now numbers its own; the reference is unique within its agency. Existing
references keep their numbers (they are printed on letters and said on the phone).

The new unique key leads with the agency, so it also serves every look-up of an agency's
complaints: the index on the agency alone is dropped (one index less to write per complaint).

Going back refuses, changing nothing, when two agencies already hold the same reference.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_reference_per_agency"
down_revision = "0012_agency_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.drop_constraint("uq_complaint_reference", type_="unique")
        batch.create_unique_constraint("uq_complaint_agency_id", ["agency_id", "reference"])
        batch.drop_index("ix_complaint_agency_id")


def downgrade() -> None:
    shared = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM (SELECT reference FROM complaint GROUP BY reference HAVING count(*) > 1) AS twice"
    ))
    if shared:
        raise RuntimeError(
            f"{shared} complaint references are held by more than one agency; "
            "a deployment-wide unique reference cannot be restored"
        )
    with op.batch_alter_table("complaint") as batch:
        batch.create_index("ix_complaint_agency_id", ["agency_id"], unique=False)
        batch.drop_constraint("uq_complaint_agency_id", type_="unique")
        batch.create_unique_constraint("uq_complaint_reference", ["reference"])
