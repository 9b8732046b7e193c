"""Marker values for the privacy sweeps, a readable dump of everything the database holds, and the
tools of an adversary holding the database files, backups, logs and keys."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import re
import struct
import subprocess  # nosec B404 - runs pg_dump with fixed arguments
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from survey import crypto
from survey.db import Base, db

MARKER_IP = "203.0.113.197"
MARKER_FORWARDED = "198.51.100.213"
MARKER_AGENT = "MarkerBrowser/7.31 (zqxj-canary)"
#: The markers and recognizable parts of them (a truncated or reformatted address still shows).
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


# ---------------------------------------------------------------- the adversary with the files
#
# Someone holding everything the server keeps (database files with their -wal and -journal, or a
# pg_dump; the logs; the key files) but no resident's cookie. The functions below are that
# adversary's tools; tests/test_storage_attacks.py runs them against the app and shows each
# one catching the old scheme (Fernet tokens, plain drafts, dated invitations).

def pg_dump(url: str) -> bytes:
    """A plain-SQL pg_dump of the database at ``url`` (what a backup holds)."""
    u = make_url(url)
    command = ["pg_dump", "--no-owner", "--no-privileges", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
               "-U", u.username or "postgres", u.database]
    return subprocess.run(command, capture_output=True, check=True, timeout=60).stdout  # noqa: S603 - fixed args


def server_files(app, logs: str = "") -> bytes:
    """Every byte the adversary holds: the SQLite file and its -wal, -journal and -shm (or a pg_dump),
    the complaint key file and the logs."""
    url = app.config["DATABASE_URL"]
    parts: list[bytes] = [logs.encode()]
    if url.startswith("sqlite"):
        path = make_url(url).database
        for suffix in ("", "-wal", "-journal", "-shm"):
            file = Path(path + suffix)
            if file.exists():
                parts.append(file.read_bytes())
    else:
        parts.append(pg_dump(url))
    key_file = Path(app.config["COMPLAINT_KEY_FILE"])
    if key_file.exists():
        parts.append(key_file.read_bytes())
    return b"\n".join(parts)


def decoded(haystack: bytes) -> bytes:
    """The haystack plus every base64 and hex run in it decoded: a Fernet token is base64 text
    in the file, and pg_dump writes bytea as ``\\x`` hex."""
    extra = [haystack]
    for run in re.findall(rb"[A-Za-z0-9_\-+/]{24,}={0,2}", haystack):
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            with contextlib.suppress(ValueError):
                extra.append(decode(run + b"=" * (-len(run) % 4)))
    for run in re.findall(rb"\\x((?:[0-9a-f]{2})+)", haystack):
        extra.append(bytes.fromhex(run.decode()))
    return b"\n".join(extra)


def time_encodings(instant: dt.datetime, zone: str = "UTC") -> dict[str, bytes]:
    """The ways a program might record ``instant`` to the second, the minute or the hour."""
    found: dict[str, bytes] = {}
    for unit, seconds in (("second", 1), ("minute", 60), ("hour", 3600)):
        epoch = int(instant.timestamp()) // seconds * seconds
        found[f"epoch {unit} decimal"] = str(epoch).encode()
        for fmt in (">Q", "<Q", ">I", "<I"):
            found[f"epoch {unit} {fmt}"] = struct.pack(fmt, epoch)
    found["epoch ms decimal"] = str(int(instant.timestamp() * 1000)).encode()
    for name, local in (("UTC", instant.astimezone(dt.UTC)), (zone, instant.astimezone(ZoneInfo(zone)))):
        for fmt in ("%H:%M:%S", "%H:%M", "%H%M%S", "T%H:", "%Y-%m-%d %H", "%Y%m%d%H"):
            found[f"{name} {fmt}"] = local.strftime(fmt).encode()
    return found


def time_traces(instant: dt.datetime, haystack: bytes, zone: str = "UTC") -> list[str]:
    """Which encodings of ``instant`` (hour, minute or second) the haystack holds, decoded too."""
    text = decoded(haystack)
    return [name for name, pattern in time_encodings(instant, zone).items() if pattern in text]


@dataclass
class Snapshot:
    """Every row of the tables that could tie a response to an invitation, and the raw files."""

    invitations: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    drafts: list[dict[str, Any]]
    raw: bytes = b""
    notes: list[str] = field(default_factory=list)


def take_snapshot(app) -> Snapshot:
    from survey.models import Answer, Invitation, Response, SurveyDraft

    with app.app_context():
        def rows(model) -> list[dict[str, Any]]:
            return [dict(r) for r in db.session.execute(model.__table__.select()).mappings()]

        snapshot = Snapshot(rows(Invitation), rows(Response), rows(Answer), rows(SurveyDraft))
        db.session.rollback()
    snapshot.raw = server_files(app)
    return snapshot


def _values(row: dict[str, Any]) -> str:
    return " ".join(repr(v) for v in row.values())


def links(snapshot: Snapshot, invitation: dict[str, Any]) -> list[str]:
    """The obvious joins from one invitation (the adversary knows its row, e.g. from the letter
    list) to its response or its unfinished answers; each entry names a join that singles one out."""
    found: list[str] = []
    inv_id = invitation["id"]
    # A draft that names the invitation in clear ties it to the answers in progress.
    mine = [d for d in map(_readable, snapshot.drafts) if d.get("invitation_id") == inv_id]
    if mine:
        found.append("draft: a draft names the invitation")
    me = next((i for i in snapshot.invitations if i["id"] == inv_id), invitation)
    used = [i for i in snapshot.invitations if _is_used(i)]
    if not _is_used(me):
        return found
    same_wave = [r for r in snapshot.responses if r["wave_id"] == me["wave_id"]]
    # ids: a response id written anywhere in the invitation's row or in a draft that names it.
    for r in same_wave:
        if r["id"] in _values(me) or any(r["id"] in _values(d) for d in mine):
            found.append("id: a response id next to the invitation")
    # dates: any date the invitation keeps besides its creation, against the response's date.
    for column, value in me.items():
        if column != "created_on" and isinstance(value, dt.date):
            candidates = [r for r in same_wave if r["submitted_on"] == value and r["stratum"] == me["stratum"]]
            if len(candidates) == 1:
                found.append(f"date: invitation.{column} = response.submitted_on")
    # strata: the only used code of its stratum, against the only response of that stratum.
    in_stratum = [r for r in same_wave if r["stratum"] == me["stratum"]]
    used_in_stratum = [i for i in used if i["wave_id"] == me["wave_id"] and i["stratum"] == me["stratum"]]
    if len(in_stratum) == 1 and len(used_in_stratum) == 1:
        found.append("stratum: the only response of the only used code in its district")
    # answers: a draft in clear that names the invitation, against the stored answers.
    for d in mine:
        draft_answers = d.get("answers") or {}
        matching = [r for r in same_wave if _answers_match(snapshot, r["id"], draft_answers)]
        if draft_answers and len(matching) == 1:
            found.append("answers: the draft's answers match one response")
    return found


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """A row with any column that holds JSON in clear (text or bytes) read into it."""
    view = dict(row)
    for value in row.values():
        if isinstance(value, bytes | memoryview | str):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                content = json.loads(bytes(value) if not isinstance(value, str) else value)
                if isinstance(content, dict):
                    view.update(content)
    return view


def _is_used(invitation: dict[str, Any]) -> bool:
    return bool(invitation.get("used") or invitation.get("used_on"))


def _answers_match(snapshot: Snapshot, response_id: str, draft_answers: dict[str, Any]) -> bool:
    stored = {a["item_key"]: a["text"] if a["text"] is not None else a["code"]
              for a in snapshot.answers if a["response_id"] == response_id and a["ordinal"] == 0}
    given = {k: v for k, v in draft_answers.items() if not k.startswith("_") and not isinstance(v, list)}
    return bool(given) and all(str(stored.get(k)).strip() == str(v).strip() for k, v in given.items())
