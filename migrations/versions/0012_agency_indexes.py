"""Answers read by their response's key alone: the answer key carries the answer (PostgreSQL)

Revision ID: 0012_agency_indexes
Revises: 0013_campaign_console

With a campaign of 1,000 agencies in one database (bench/bench_campaign.py, docs/scaling.md),
every page query already reads one agency's rows through an index that leads with its agency or
with one of its waves or complaints, except one: reading a wave's answers (the results of a wave
that is not cached yet, and every export) joined response to answer, and PostgreSQL priced 23
heap pages per response for the answers, so it preferred a parallel scan of every agency's
responses (96-111 ms at 1,000 agencies, 13,580 blocks read, growing with the campaign) to
the wave's index. The answer's primary key now includes the code and text (``INCLUDE``), so the
same join is an index-only nested loop on the wave's index: 19 ms cold, 10 ms warm, whatever
the campaign's size. The key grows by a quarter (1.33 -> 1.66 GB for 23 million answers).

The key is rebuilt: writes to ``answer`` wait while it is (37 s for 23 million answers on a
shared 2-core machine, either way). SQLite keeps its key: its answer table is already stored in
key order (``WITHOUT ROWID``), so the answers are read with the key there.
"""

from __future__ import annotations

from alembic import op

revision = "0012_agency_indexes"
down_revision = "0013_campaign_console"
branch_labels = None
depends_on = None


def _answer_key(include: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE answer DROP CONSTRAINT pk_answer, "
               f"ADD CONSTRAINT pk_answer PRIMARY KEY (response_id, item_key, ordinal){include}")


def upgrade() -> None:
    _answer_key(" INCLUDE (code, text)")


def downgrade() -> None:
    _answer_key("")
