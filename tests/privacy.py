"""Marker values for the privacy sweeps, and a readable dump of everything the database holds."""

from __future__ import annotations

from survey import crypto
from survey.db import Base, db

MARKER_IP = "203.0.113.197"
MARKER_FORWARDED = "198.51.100.213"
MARKER_AGENT = "MarkerBrowser/7.31 (zqxj-canary)"
#: The markers and recognisable parts of them (a truncated or reformatted address still shows).
MARKERS = (MARKER_IP, MARKER_FORWARDED, MARKER_AGENT, "zqxj-canary", "203.0.113", "198.51.100")


def everything_in_the_database(app) -> str:
    """Every row of every table as text, with every encrypted column decrypted too."""
    parts = []
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(table.select()).mappings():
                for column, value in row.items():
                    parts.append(repr(value))
                    if isinstance(value, bytes | memoryview) and column.endswith("_enc"):
                        parts.append(crypto.decrypt(bytes(value), f"{table.name}.{column}") or "")
    return "\n".join(parts)
