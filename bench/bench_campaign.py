"""Benchmark: one deployment hosting a whole campaign of agencies (issue 18, item 6).

Bulk-loads N agencies into their own PostgreSQL database with COPY (no ORM): per agency the
core instrument and its version, WAVES waves (the older ones closed and published, the newest
open) with strata and neighborhoods, PER_WAVE responses a wave with every item answered as the
demo's simulated residents answer it (about 25 answer rows each), the invitations they came
from (a 30 % response rate), population targets, five staff accounts, 10-30 complaints sealed
with the platform's own keys, their messages and their hash-chained audit events.

Then it serves two databases side by side with the shipped gunicorn.conf.py and production
settings: the big one, and one holding the measured agency alone (the same generated rows),
warms both results caches the same way (`flask results-warm`), and times the measured agency's
staff and public pages on both, interleaved in the same run: p50 / p95 per page and the ratio
big / alone. ``--growth 10,100,1000`` repeats it per size and prints the growth curve.

    .venv/bin/python bench/bench_campaign.py --agencies 20                 # under a minute
    .venv/bin/python bench/bench_campaign.py --agencies 1000               # 1,000,000 responses
    .venv/bin/python bench/bench_campaign.py --growth 10,100,1000 --reuse  # the curve in docs/scaling.md
    .venv/bin/python bench/bench_campaign.py --agencies 1000 --reuse --explain  # plans of the pages' queries

Databases are named bench_campaign_<N> (and bench_campaign_alone) on --server; --reuse keeps a
database already loaded at that size. Loading switches off foreign-key triggers for its own
session only (session_replication_role = replica): the rows are generated consistent, and the
test (tests/test_bench_campaign.py) checks every reference at a tiny size.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import http.client
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-password-2026"  # every staff account of the benchmark
SECRET = "bench-campaign-secret-" + "s" * 40
CODE_KEY = "bench-campaign-codes-" + "h" * 40
#: Tables in the order they are written (parents first), with the columns the loader fills.
COLUMNS = {
    "agency": ("id slug name city default_language phone address acknowledge_days close_days created_at texts "
               "host languages districts listed peer_group"),
    "instrument": "id agency_id key title",
    "instrument_version": "id instrument_id version content_hash definition source_file loaded_at",
    "staff_user": "id agency_id email name password_hash roles totp_required active session_version created_at",
    "population_target": "id agency_id variable category stratum population source",
    "wave": ("id agency_id instrument_version_id slug title opens_on closes_on mode languages "
             "accepted_draft_languages published created_at area_kind area_source publish_areas"),
    "wave_stratum": "id wave_id name population",
    "wave_area": "id wave_id name stratum population covariates",
    "invitation": "id wave_id code_hash stratum area selection_probability status batch created_on started used",
    "response": "id wave_id stratum area language channel selection_probability sample submitted_on",
    "answer": "response_id item_key ordinal code text",
    "complaint": ("id agency_id reference receipt_hash channel categories status disposition language_enc "
                  "on_behalf wants_contact narrative_enc received_on acknowledged_on review_started_on "
                  "closed_on assigned_to_id follow_version"),
    "complaint_message": "id complaint_id seq author staff_user_id body_enc created_on",
    "audit_event": "id agency_id seq at staff_user_id action object_type object_id detail prev_hash hash",
}
#: Written as preformatted COPY text (the big ones); the rest go through psycopg's write_row.
BULK = {"invitation", "response", "answer"}
SERIAL = [t for t in COLUMNS if t not in {"response", "answer", "complaint"}]


def slug_of(k: int) -> str:
    return f"agency-{k:04d}"


def database_url(server: str, name: str) -> str:
    return server.rsplit("/", 1)[0] + "/" + name


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def recreate(server: str, name: str) -> str:
    import psycopg

    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(server, name)


def agencies_in(url: str) -> int | None:
    """How many agencies the database holds; None when it does not exist or is not migrated."""
    import psycopg

    try:
        with psycopg.connect(libpq(url)) as conn:
            return conn.execute("SELECT count(*) FROM agency").fetchone()[0]
    except psycopg.Error:
        return None


def size_of(url: str) -> int:
    import psycopg

    with psycopg.connect(libpq(url)) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


# ------------------------------------------------------------------ deployments


@dataclass
class Deployment:
    """One database with its own results cache; the keys are the run's (shared by every database)."""

    url: str
    folder: Path  # the run's folder: the complaint key file lives here
    name: str
    agency: str = ""  # the measured agency's slug
    addresses: str = "path"  # SURVEY_AGENCY_ADDRESSES: path (/a/<slug>/...) or single (SURVEY_AGENCY)
    cache: str = ""  # the results cache's folder name, when not the database's

    def env(self) -> dict[str, str]:
        return {"SURVEY_ENV": "production", "SURVEY_DATABASE_URL": self.url, "SURVEY_SECRET_KEY": SECRET,
                "SURVEY_CODE_HASH_KEY": CODE_KEY, "SURVEY_COMPLAINT_KEY_FILE": str(self.folder / "complaint_keys"),
                "SURVEY_RESULTS_CACHE_DIR": str(self.folder / (self.cache or self.name) / "cache"),
                "SURVEY_LETTERS_DIR": str(self.folder / self.name / "letters"),
                "SURVEY_AGENCY_ADDRESSES": self.addresses, "SURVEY_AGENCY": self.agency if self.addresses == "single" else "",
                "FLASK_APP": "wsgi"}

    def app(self, **config: Any):
        """The app in this process (loading, EXPLAIN, the test), configured without the environment."""
        from survey import create_app

        return create_app({"DATABASE_URL": self.url, "SECRET_KEY": SECRET, "CODE_HASH_KEY": CODE_KEY,
                           "COMPLAINT_KEY_FILE": str(self.folder / "complaint_keys"),
                           "RESULTS_CACHE_DIR": str(self.folder / (self.cache or self.name) / "cache"),
                           "LETTERS_DIR": str(self.folder / self.name / "letters"), "AGENCY": self.agency or None,
                           "AGENCY_ADDRESSES": self.addresses, **config})


def key_file(folder: Path) -> None:
    """The run's complaint key: production refuses to invent one."""
    from survey import crypto

    path = folder / "complaint_keys"
    if not path.exists():
        path.write_text(crypto.Key.generate().line() + "\n", encoding="ascii")
        path.chmod(0o600)


# ------------------------------------------------------------------ generation


def _quarter(day: dt.date, shift: int) -> dt.date:
    month = 3 * ((day.month - 1) // 3) + 3 * shift
    return dt.date(day.year + month // 12, month % 12 + 1, 1)


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random 128-bit URL-safe ids, as ``random_id`` makes them, but from the agency's generator."""
    raw = rng.bytes(16 * n)
    return [base64.urlsafe_b64encode(raw[16 * i:16 * i + 16]).rstrip(b"=").decode() for i in range(n)]


NUL = "\\N"  # COPY's NULL


@dataclass
class Batch:
    """Rows of some agencies waiting for COPY: text for the big tables, tuples for the rest."""

    text: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in BULK})
    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in COLUMNS if t not in BULK})

    def count(self) -> dict[str, int]:
        out = {t: len(r) for t, r in self.rows.items()}
        out["invitation"] = sum(chunk.count("\n") for chunk in self.text["invitation"])
        out["response"] = sum(chunk.count("\n") for chunk in self.text["response"])
        out["answer"] = sum(chunk.count("\n") for chunk in self.text["answer"])
        return out


class Generator:
    """Every row of agency k from its own random generator: agency k is the same in any database.

    Integer ids come from counters (the database's sequences are set past them afterwards), so a
    database of one agency numbers it from 1; everything else about the agency is identical.
    Needs an app context: keyed hashes, sealed complaint text and the instrument come from the app.
    """

    def __init__(self, seed: int, waves: int, per_wave: int) -> None:
        from flask import current_app

        from survey.auth import hash_password
        from survey.instruments import load_dir

        self.seed, self.waves, self.per_wave = seed, waves, per_wave
        self.ids = dict.fromkeys(SERIAL, 0)
        inst = next(i for i in load_dir(current_app.config["INSTRUMENTS_DIR"]) if i.key == "core-trust")
        self.inst = inst
        self.definition = json.dumps(dict(inst.raw), ensure_ascii=False)
        self.languages = [c for c in current_app.config["LANGUAGES"] if c in inst.raw["languages"]]
        self.password_hash = hash_password(PASSWORD)  # argon2 once: every account shares it
        self.now = dt.datetime.now(dt.UTC)

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def agency(self, k: int, batch: Batch) -> None:
        from survey.demo import DISTRICTS, neighborhoods

        rng = np.random.default_rng(self.seed + 7919 * k)
        slug = slug_of(k)
        aid = self.next_id("agency")
        city = f"Town {k:04d}"
        rows = batch.rows
        # Agencies differ in size: most are small towns, a few are cities.
        factor = float(np.clip(rng.lognormal(-1.0, 1.0), 0.05, 8.0))
        districts = {name: max(500, int(pop * factor)) for name, pop in DISTRICTS.items()}
        rows["agency"].append((aid, slug, f"{city} Police Department", city, "en", f"555-{k % 10000:04d}",
                               f"{k} Main Street, {city}", 7, 90, self.now, "{}", f"{slug}.bench.example", None,
                               json.dumps(list(districts)), k % 3 == 0, "city" if factor > 1 else "town"))
        iid = self.next_id("instrument")
        rows["instrument"].append((iid, aid, self.inst.key, self.inst.title.get("en", self.inst.key)))
        vid = self.next_id("instrument_version")
        rows["instrument_version"].append((vid, iid, self.inst.version, self.inst.content_hash, self.definition,
                                           Path(self.inst.path).name, self.now))
        staff = {}
        for role, roles in (("admin", ["admin"]), ("manager", ["survey_manager"]), ("analyst", ["analyst"]),
                            ("investigator", ["investigator"]),
                            ("bench", ["admin", "survey_manager", "analyst", "investigator"])):
            staff[role] = self.next_id("staff_user")
            rows["staff_user"].append((staff[role], aid, f"{role}@{slug}.example", f"{role.title()} {k}",
                                       self.password_hash, json.dumps(roles), False, True, 1, self.now))
        self._targets(aid, districts, rows)
        areas = neighborhoods(self.seed + k, districts)
        today = dt.datetime.now(dt.UTC).date()
        for order in range(self.waves):
            back = self.waves - 1 - order
            start = _quarter(today, -back)
            opens, closes = start + dt.timedelta(days=7), _quarter(start, 1) - dt.timedelta(days=14)
            if back == 0:
                opens, closes = min(opens, today - dt.timedelta(days=3)), max(closes, today + dt.timedelta(days=21))
            wid = self.next_id("wave")
            wslug = f"{start.year}-q{(start.month - 1) // 3 + 1}"
            rows["wave"].append((wid, aid, vid, wslug, f"Community survey {start.year} Q{(start.month - 1) // 3 + 1}",
                                 opens, closes, "invitation", json.dumps(self.languages),
                                 json.dumps([c for c in self.languages if c != "en"]), back > 0, self.now,
                                 "neighborhood", "invitation", back > 0))
            for name, pop in districts.items():
                rows["wave_stratum"].append((self.next_id("wave_stratum"), wid, name, pop))
            for a in areas:
                rows["wave_area"].append((self.next_id("wave_area"), wid, a.name, a.district, a.population,
                                          json.dumps({"owner_share": a.owner_share})))
            self._wave(rng, batch, wid, wslug, order, opens, min(closes, today), districts, areas)
        self._complaints(rng, batch, aid, k, staff["investigator"], today)

    def _targets(self, aid: int, districts: dict[str, int], rows: dict[str, list[tuple]]) -> None:
        from survey.demo import (
            AGE_SHARE,
            EDU_SHARE,
            HOME_LANG_SHARE,
            RACE_GROUPS,
            RACE_SHARE,
            SEX_SHARE,
            TENURE_SHARE,
        )

        total = sum(districts.values())
        margins = [("district", name, float(pop)) for name, pop in districts.items()]
        for variable, categories, shares in (
                ("age_band", None, AGE_SHARE), ("sex", None, SEX_SHARE), ("tenure", None, TENURE_SHARE),
                ("education", None, EDU_SHARE), ("home_language", None, HOME_LANG_SHARE),
                ("race_eth", RACE_GROUPS, RACE_SHARE)):
            # Whole people that add up to the districts' total: raking refuses margins that disagree.
            counts = [round(total * share) for share in shares[:-1]]
            counts.append(total - sum(counts))
            names = categories or [str(code) for code in range(1, len(shares) + 1)]
            margins += [(variable, name, float(c)) for name, c in zip(names, counts, strict=True)]
        for variable, category, population in margins:
            rows["population_target"].append((self.next_id("population_target"), aid, variable, category, None,
                                              float(round(population)), "Benchmark figures shaped like ACS tables"))

    def _wave(self, rng: np.random.Generator, batch: Batch, wid: int, wslug: str, order: int, first: dt.date,
              last: dt.date, districts: dict[str, int], areas: list) -> None:
        from survey.demo import (
            RACE_GROUPS,
            RACE_OPTION,
            place_in_neighborhoods,
            simulate_residents,
        )
        from survey.instruments import PREFER_NOT_TO_SAY
        from survey.models import week_of
        from survey.security import keyed_hash

        n = self.per_wave
        names = list(districts)
        total = sum(districts.values())
        invited = {d: int(round(n / 0.3 * districts[d] / total)) for d in names}
        share = np.array([invited[d] for d in names], dtype=float)
        resp_district = rng.choice(names, size=n, p=share / share.sum())
        resp_area, effect = place_in_neighborhoods(rng, resp_district, areas)
        sim = simulate_residents(rng, self.inst, order, resp_district, effect)

        ids = _ids(rng, n)
        span = max((last - first).days, 0)
        weeks = [week_of(first + dt.timedelta(days=int(d))).isoformat()
                 for d in np.minimum(rng.exponential(span / 3 + 1, n).astype(int), span)]
        languages = np.where(rng.random(n) < 0.18, "es", "en").tolist()
        draw = rng.random(n)
        channels = np.where(draw < 0.86, "web", np.where(draw < 0.97, "paper", "phone")).tolist()
        prob = {d: invited[d] / districts[d] for d in names}
        districts_list = resp_district.tolist()
        batch.text["response"].append("".join(
            f"{ids[i]}\t{wid}\t{districts_list[i]}\t{resp_area[i]}\t{languages[i]}\t{channels[i]}\t"
            f"{prob[districts_list[i]]!r}\tprobability\t{weeks[i]}\n" for i in range(n)))

        # Answer rows as (respondent, item key, code or text), written respondent by respondent as
        # the app stores a submitted questionnaire: one response's answers sit together on disk.
        who: list[np.ndarray] = []
        keys: list[str] = []
        values: list[list] = []
        prefer = rng.random((len(sim.codes), n)) < 0.015
        for j, (key, codes) in enumerate(sim.codes.items()):
            keep = ~sim.skip[key]
            if self.inst.items[key].show_if:
                keep &= sim.contact
            where = np.nonzero(keep)[0]
            who.append(where)
            keys += [key] * where.size
            values += np.where(prefer[j], PREFER_NOT_TO_SAY, codes)[where].tolist()
        who.append(np.arange(n))
        keys += ["contact_any"] * n
        values += np.where(sim.contact, sim.contact_kind, 9).tolist()
        pick = rng.integers(0, 4, n).tolist()
        race = sim.race.tolist()
        told = np.nonzero(~sim.skip["age_band"])[0]  # the same residents skip every "about you" item
        who.append(told)
        keys += ["race_eth"] * told.size
        values += [RACE_OPTION[RACE_GROUPS[race[i]]][pick[i] % len(RACE_OPTION[RACE_GROUPS[race[i]]])] for i in told.tolist()]
        issues = ["Speeding cars", "Break-ins", "Drug dealing near the park", "Noise at night", "Response times"]
        wrote = np.nonzero(rng.random(n) < 0.15)[0]
        who.append(wrote)
        keys += ["top_issue"] * wrote.size
        values += [issues[w] for w in rng.integers(0, len(issues), wrote.size).tolist()]
        respondent = np.concatenate(who)
        order = np.argsort(respondent, kind="stable").tolist()
        respondent = respondent.tolist()
        out = [f"{ids[respondent[r]]}\t{keys[r]}\t0\t{values[r]}\t\\N\n" if keys[r] != "top_issue"
               else f"{ids[respondent[r]]}\ttop_issue\t0\t\\N\t{values[r]}\n" for r in order]
        batch.text["answer"].append("".join(out))

        lines = []
        created = (first - dt.timedelta(days=5)).isoformat()
        for district in names:
            used = int((resp_district == district).sum())
            local = [a.name for a in areas if a.district == district]
            undeliverable = invited[district] - max(1, invited[district] // 40)
            for j in range(invited[district]):
                was_used = j < used
                status = "sent" if was_used or j < undeliverable else "undeliverable"
                code = keyed_hash("invitation", f"{wid}:{district}:{j}:{self.seed}:{wslug}")
                lines.append(f"{self.next_id('invitation')}\t{wid}\t{code}\t{district}\t"
                             f"{NUL if was_used else local[j % len(local)]}\t{prob[district]!r}\t{status}\t"
                             f"{wslug}-mailing\t{created}\t{'t' if was_used or j % 25 == 0 else 'f'}\t"
                             f"{'t' if was_used else 'f'}\n")
        batch.text["invitation"].append("".join(lines))

    def _complaints(self, rng: np.random.Generator, batch: Batch, aid: int, k: int, investigator: int,
                    today: dt.date) -> None:
        from survey import audit, crypto
        from survey.demo import COMPLAINT_STORIES
        from survey.models import AuditEvent, Complaint, ComplaintMessage, random_id
        from survey.security import keyed_hash

        categories = ["force", "discourtesy", "bias", "wrongful_stop", "search", "failure_to_act", "property", "other"]
        channels = ["web", "web", "web", "phone", "in_person", "mail", "third_party"]
        dispositions = ["sustained", "not_sustained", "exonerated", "unfounded", "policy_failure",
                        "resolved_informally", "withdrawn", "referred"]
        count = int(rng.integers(10, 31))
        ids = _ids(rng, count)
        events = []
        for n in range(count):
            received = today - dt.timedelta(days=int(rng.integers(0, 400)))
            age = (today - received).days
            status, acknowledged, review, closed, disposition = "received", None, None, None, None
            if age > 3:
                status, acknowledged = "acknowledged", received + dt.timedelta(days=int(rng.integers(0, 4)))
            if age > 20 and rng.random() < 0.9:
                status, review = "under_review", (acknowledged or received) + dt.timedelta(days=int(rng.integers(1, 10)))
            if age > 60 and rng.random() < 0.85:
                status = "closed"
                closed = min((review or received) + dt.timedelta(days=int(rng.integers(20, 60))), today)
                disposition = dispositions[int(rng.integers(0, len(dispositions)))]
            channel = channels[int(rng.integers(0, len(channels)))]
            cats = sorted({categories[int(rng.integers(0, len(categories)))] for _ in range(int(rng.integers(1, 3)))})
            batch.rows["complaint"].append((
                ids[n], aid, f"C{k:04d}-{n + 1:04d}", keyed_hash("receipt", random_id()), channel, json.dumps(cats),
                status, disposition, crypto.encrypt("es" if rng.random() < 0.2 else "en", Complaint.language_enc),
                False, False, crypto.encrypt(COMPLAINT_STORIES[n % len(COMPLAINT_STORIES)], Complaint.narrative_enc),
                received, acknowledged, review, closed, investigator if status != "received" else None, 0))
            steps = [] if channel == "web" else [(received, 14, "complaint.create", {"channel": channel})]
            if acknowledged:
                batch.rows["complaint_message"].append((
                    self.next_id("complaint_message"), ids[n], 1, "staff", investigator,
                    crypto.encrypt("Thank you. We have received your complaint and an investigator is assigned.",
                                   ComplaintMessage.body_enc), acknowledged))
                steps += [(acknowledged, 15, "complaint.view", {}),
                          (acknowledged, 15, "complaint.assign", {"assigned_to": investigator}),
                          (acknowledged, 15, "complaint.status", {"old": "received", "new": "acknowledged",
                                                                  "disposition": None}),
                          (acknowledged, 16, "complaint.message", {"seq": 1})]
            if review:
                steps += [(review, 17, "complaint.view", {}),
                          (review, 17, "complaint.status", {"old": "acknowledged" if acknowledged else "received",
                                                            "new": "under_review", "disposition": None})]
            if closed:
                steps += [(closed, 18, "complaint.view", {}),
                          (closed, 18, "complaint.status", {"old": "under_review" if review else "acknowledged",
                                                            "new": "closed", "disposition": disposition})]
            events += [(day, hour, s, ids[n], action, detail) for s, (day, hour, action, detail) in enumerate(steps)]
        # The agency's own chain, in time order, as audit.record appends it.
        prev = audit.GENESIS
        for seq, (day, hour, _s, cid, action, detail) in enumerate(sorted(events, key=lambda e: e[:3]), start=1):
            event = AuditEvent(id=self.next_id("audit_event"), agency_id=aid, seq=seq,
                               at=dt.datetime.combine(day, dt.time(hour, int(rng.integers(0, 60))), tzinfo=dt.UTC),
                               staff_user_id=investigator, action=action, object_type="complaint", object_id=cid,
                               detail=detail)
            event.hash = audit.chain_hash(prev, event)
            batch.rows["audit_event"].append((event.id, aid, seq, event.at, investigator, action, "complaint", cid,
                                              json.dumps(detail), prev, event.hash))
            prev = event.hash


@dataclass
class LoadStats:
    agencies: int
    seconds: float
    rows: dict[str, int]
    vacuum_seconds: float = 0.0
    bytes: int = 0


def load(url: str, agencies: Iterable[int], *, seed: int, waves: int, per_wave: int, chunk: int = 20,
         echo=print) -> LoadStats:
    """Migrate the (empty) database at ``url`` and COPY the agencies into it, ``chunk`` agencies a time."""
    import psycopg

    from survey import migrate

    started = time.perf_counter()
    migrate.upgrade(url)
    agencies = list(agencies)
    totals: dict[str, int] = dict.fromkeys(COLUMNS, 0)
    with psycopg.connect(libpq(url)) as conn:
        conn.execute("SET session_replication_role = replica")  # no per-row FK triggers for this session
        conn.execute("SET synchronous_commit = off")
        gen = Generator(seed, waves, per_wave)
        last_echo = time.perf_counter()
        for start in range(0, len(agencies), chunk):
            batch = Batch()
            for k in agencies[start:start + chunk]:
                gen.agency(k, batch)
            for table, n in batch.count().items():
                totals[table] += n
            _copy(conn, batch)
            conn.commit()
            if time.perf_counter() - last_echo > 30:
                last_echo = time.perf_counter()
                echo(f"  {start + chunk:,} agencies, {totals['response']:,} responses, "
                     f"{totals['answer']:,} answers, {last_echo - started:.0f} s")
        with conn.cursor() as cur:
            for table in SERIAL:
                cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, true)",
                            (table, max(gen.ids[table], 1)))
        conn.commit()
    stats = LoadStats(len(agencies), time.perf_counter() - started, totals)
    t0 = time.perf_counter()
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    stats.vacuum_seconds = time.perf_counter() - t0
    stats.bytes = size_of(url)
    return stats


def _copy(conn, batch: Batch) -> None:
    with conn.cursor() as cur:
        for table, columns in COLUMNS.items():
            cols = ", ".join(columns.split())
            if table in BULK:
                if not batch.text[table]:
                    continue
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for chunk in batch.text[table]:
                        copy.write(chunk)
            elif batch.rows[table]:
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in batch.rows[table]:
                        copy.write_row(row)


def load_database(server: str, name: str, folder: Path, agencies: list[int], *, seed: int, waves: int,
                  per_wave: int, reuse: bool, revision: str = "head", echo=print) -> tuple[Deployment, LoadStats | None]:
    """The database ``name`` holding ``agencies`` (loaded now, or kept from an earlier run with --reuse)."""
    url = database_url(server, name)
    dep = Deployment(url, folder, name)
    stats_file = folder / f"{name}.json"
    if reuse and agencies_in(url) == len(agencies) and stats_file.exists():
        from survey import migrate

        echo(f"{name}: reusing {len(agencies):,} agencies")
        migrate.upgrade(url, revision)  # a migration added since the load (an index) applies to the loaded rows
        return dep, LoadStats(**json.loads(stats_file.read_text()))
    recreate(server, name)
    app = dep.app()
    with app.app_context():
        stats = load(url, agencies, seed=seed, waves=waves, per_wave=per_wave, echo=echo)
    app.extensions["survey.db"]["engine"].dispose()
    stats_file.write_text(json.dumps(stats.__dict__))
    return dep, stats


# ------------------------------------------------------------------ measuring


class Client:
    """A browser enough for timing pages: keeps the session cookie (Secure or not: gunicorn is
    plain HTTP on 127.0.0.1 here, behind no proxy) and sends same-origin POSTs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, str, float]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{self.port}"}
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        took = time.perf_counter() - start
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
        conn.close()
        return response.status, text, took

    def get(self, path: str) -> tuple[int, str, float]:
        return self.request("GET", path)

    def sign_in(self, prefix: str, email: str) -> None:
        _s, page, _t = self.get(f"{prefix}/staff/sign-in")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD}).encode()
        status, _text, _t = self.request("POST", f"{prefix}/staff/sign-in", body)
        status, text, _t = self.get(f"{prefix}/staff/")
        if status != 200 or "Sign out" not in text:
            raise RuntimeError(f"could not sign in as {email} (HTTP {status})")


def pages(url: str, slug: str, prefix: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(staff pages, public pages) of agency ``slug``: name and path."""
    import psycopg

    with psycopg.connect(libpq(url)) as conn:
        aid = conn.execute("SELECT id FROM agency WHERE slug = %s", (slug,)).fetchone()[0]
        waves = [r[0] for r in conn.execute("SELECT slug FROM wave WHERE agency_id = %s ORDER BY opens_on", (aid,))]
        complaint = conn.execute("SELECT id FROM complaint WHERE agency_id = %s ORDER BY received_on DESC, id LIMIT 1",
                                 (aid,)).fetchone()[0]
    compare = urllib.parse.urlencode([("waves", s) for s in waves])
    staff = [("dashboard", "/staff/"), ("compare", f"/staff/compare/?{compare}"),
             ("complaints list", "/staff/complaints/"), ("one complaint", f"/staff/complaints/{complaint}"),
             ("exports", "/staff/export"), ("waves", "/staff/waves"), ("one wave", f"/staff/waves/{waves[-1]}"),
             ("letters", f"/staff/waves/{waves[-1]}/invitations"), ("response rates", "/staff/rates")]
    public = [("home", "/"), ("survey start", "/survey/start"), ("public results", "/results/"),
              ("complaint data", "/complaints/data"), ("complaint policy", "/complaints/")]
    return ([(n, prefix + p) for n, p in staff], [(n, prefix + p) for n, p in public])


def warm(dep: Deployment) -> float:
    import subprocess

    start = time.perf_counter()
    # The command has no agency option: it warms the agency SURVEY_AGENCY names, in single mode.
    env = {**os.environ, **dep.env(), "SURVEY_AGENCY_ADDRESSES": "single", "SURVEY_AGENCY": dep.agency}
    done = subprocess.run([str(Path(sys.executable).parent / "flask"), "results-warm"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"flask results-warm failed on {dep.name}: {done.stderr[-3000:]}")
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


@dataclass
class Measured:
    times: dict[str, dict[str, list[float]]]  # deployment name -> page -> seconds

    def table(self, names: tuple[str, str], order: list[str]) -> list[tuple[str, float, float, float, float]]:
        big, alone = names
        out = []
        for page in order:
            b, a = self.times[big][page], self.times[alone][page]
            out.append((page, pct(b, 50), pct(b, 95), pct(a, 50), pct(a, 95)))
        return out


def add_response(url: str, slug: str) -> str:
    """One more response in the agency's open wave (a copy of one of its answer sets), as a
    resident's submit makes: the wave's cached results no longer match, Compare computes them again."""
    import psycopg

    from survey.models import random_id

    with psycopg.connect(libpq(url)) as conn:
        wave_id, source = conn.execute(
            "SELECT w.id, r.id FROM wave w JOIN agency a ON a.id = w.agency_id JOIN response r ON r.wave_id = w.id "
            "WHERE a.slug = %s ORDER BY w.opens_on DESC, r.id LIMIT 1", (slug,)).fetchone()
        rid = random_id()
        conn.execute("INSERT INTO response (id, wave_id, stratum, area, language, channel, selection_probability, "
                     "sample, submitted_on) SELECT %s, wave_id, stratum, area, language, channel, selection_probability, "
                     "sample, submitted_on FROM response WHERE id = %s", (rid, source))
        conn.execute("INSERT INTO answer (response_id, item_key, ordinal, code, text) "
                     "SELECT %s, item_key, ordinal, code, text FROM answer WHERE response_id = %s", (rid, source))
    return rid


def remove_responses(url: str, ids: list[str]) -> None:
    import psycopg

    with psycopg.connect(libpq(url)) as conn:
        conn.execute("DELETE FROM response WHERE id = ANY(%s)", (ids,))  # their answers go with them (CASCADE)


def measure(deps: list[Deployment], slug: str, prefix: str, rounds: int, warmup: int = 2, cold_rounds: int = 0,
            echo=print) -> tuple[Measured, list[str]]:
    """Serve every deployment with gunicorn at once; time each page on each, interleaved."""
    from tests.reliability.harness import Gunicorn

    servers = []
    try:
        clients = {}
        for dep in deps:
            server = Gunicorn(dep, dep.folder / f"{dep.name}.gunicorn.log")
            server.start(timeout=120)
            servers.append(server)
            staff, public = Client(server.port), Client(server.port)
            staff.sign_in(prefix, f"bench@{slug}.example")
            clients[dep.name] = (staff, public)
        staff_pages, public_pages = pages(deps[0].url, slug, prefix)
        order = [f"staff: {n}" for n, _p in staff_pages] + [f"public: {n}" for n, _p in public_pages]
        paths = [(f"staff: {n}", p, 0) for n, p in staff_pages] + [(f"public: {n}", p, 1) for n, p in public_pages]
        times = {dep.name: {page: [] for page in order} for dep in deps}
        town = f"Town {slug.rsplit('-', 1)[1]}"
        for r in range(warmup + rounds):
            for page, path, who in paths:
                # Alternate which database goes first, so neither always meets the other's warm caches.
                for dep in (deps if r % 2 == 0 else list(reversed(deps))):
                    status, text, took = clients[dep.name][who].get(path)
                    if status != 200:
                        raise RuntimeError(f"{dep.name} {path}: HTTP {status}: {text[:300]}")
                    if r == 0 and town not in text:
                        raise RuntimeError(f"{dep.name} {path} does not show {town}: another agency's page?")
                    if r >= warmup:
                        times[dep.name][page].append(took)
        # Compare after a new response: the open wave's results are computed again from its rows.
        compare = dict(staff_pages)["compare"]
        # The export download reads every answer of both waves, whatever is cached.
        export = dict(staff_pages)["exports"]
        waves = urllib.parse.parse_qs(urllib.parse.urlsplit(compare).query)["waves"]
        if cold_rounds:
            order += ["staff: compare, new answer", "staff: export download"]
            for dep in deps:
                times[dep.name]["staff: compare, new answer"] = []
                times[dep.name]["staff: export download"] = []
        added: dict[str, list[str]] = {dep.name: [] for dep in deps}
        for r in range(cold_rounds):
            for dep in (deps if r % 2 == 0 else list(reversed(deps))):
                added[dep.name].append(add_response(dep.url, slug))
                status, text, took = clients[dep.name][0].get(compare)
                if status != 200:
                    raise RuntimeError(f"{dep.name} {compare}: HTTP {status}: {text[:300]}")
                times[dep.name]["staff: compare, new answer"].append(took)
                staff = clients[dep.name][0]
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', staff.get(export)[1]).group(1)
                body = urllib.parse.urlencode([("csrf_token", token), *[("waves", w) for w in waves]]).encode()
                status, text, took = staff.request("POST", export, body)
                if status != 200 or not text.startswith("PK"):
                    raise RuntimeError(f"{dep.name} export: HTTP {status}: {text[:300]}")
                times[dep.name]["staff: export download"].append(took)
        for dep in deps:  # the agency stays the same rows in every database, run after run
            if added[dep.name]:
                remove_responses(dep.url, added[dep.name])
        return Measured(times), order
    finally:
        for server in servers:
            server.stop()


# ------------------------------------------------------------------ the plans behind the pages


def explain(dep: Deployment, slug: str, prefix: str, min_ms: float = 0.0, echo=print) -> None:
    """Run the measured pages in-process, catch every SQL statement, and EXPLAIN (ANALYZE, BUFFERS)
    each distinct one: prints the slowest, and any sequential scan of a table holding many agencies."""
    import psycopg
    from sqlalchemy import event

    app = dep.app(WTF_CSRF_ENABLED=False, AGENCY=slug)
    seen: dict[str, tuple[str, Any, str]] = {}
    current = {"page": ""}

    engine = app.extensions["survey.db"]["engine"]

    @event.listens_for(engine, "before_cursor_execute")
    def catch(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.lstrip().upper().startswith("SELECT") and statement not in seen:
            seen[statement] = (statement, parameters, current["page"])

    staff_pages, public_pages = pages(dep.url, slug, prefix)
    client = app.test_client()
    client.post(f"{prefix}/staff/sign-in", data={"email": f"bench@{slug}.example", "password": PASSWORD})
    public = app.test_client()
    for name, path in staff_pages:
        current["page"] = f"staff: {name}"
        client.get(path)
    for name, path in public_pages:
        current["page"] = f"public: {name}"
        public.get(path)
    engine.dispose()
    big_tables = {"response", "answer", "invitation", "complaint", "complaint_message", "audit_event", "wave",
                  "wave_stratum", "wave_area", "staff_user", "population_target", "instrument", "instrument_version"}
    with psycopg.connect(libpq(dep.url)) as conn:
        found = []
        for statement, parameters, page in seen.values():
            try:
                plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", parameters).fetchone()[0][0]
            except psycopg.Error as exc:
                conn.rollback()
                echo(f"  (could not explain a statement of {page}: {exc})")
                continue
            conn.rollback()
            scans = [n for n in _nodes(plan["Plan"]) if n.get("Relation Name")]
            # A scan that reads more than a few pages of other agencies' rows (a tiny table is read whole).
            wide = [n for n in scans if n["Node Type"] == "Seq Scan" and n["Relation Name"] in big_tables
                    and n.get("Actual Loops", 1) * n.get("Rows Removed by Filter", 0) > 1000]
            found.append((plan["Execution Time"], page, statement, scans, wide))
        for ms, page, statement, scans, wide in sorted(found, key=lambda f: -f[0]):
            if ms < min_ms and not wide:
                continue
            flat = " ".join(statement.split())
            echo(f"{ms:9.2f} ms  {page}: {flat[:160]}")
            for n in scans:
                how = f"{n['Node Type']} using {n['Index Name']}" if n.get("Index Name") else n["Node Type"]
                removed = n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0)
                echo(f"             {how} on {n['Relation Name']}: {n.get('Actual Rows', '?')} rows x "
                     f"{n.get('Actual Loops', 1)}, {removed} removed by filter, "
                     f"{n.get('Shared Hit Blocks', 0)} + {n.get('Shared Read Blocks', 0)} blocks hit + read"
                     + ("  <- every agency's rows" if n in wide else ""))


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


# ------------------------------------------------------------------ main


def human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def run_size(args, folder: Path, size: int, alone: Deployment) -> dict[str, Any]:
    measured_k = min(args.agency, size - 1)
    slug = slug_of(measured_k)
    big, stats = load_database(args.server, f"bench_campaign_{size}", folder, list(range(size)), seed=args.seed,
                               waves=args.waves, per_wave=args.per_wave, reuse=args.reuse, revision=args.revision)
    big.agency = alone.agency = slug
    big.addresses = alone.addresses = args.addresses
    # A results cache of its own for the alone database beside each size, emptied like the big
    # one's: a result computed in an earlier run is not found again (the cache keys on response counts).
    alone.cache = f"bench_campaign_alone-beside-{size}"
    for dep in (big, alone):  # every run starts from `flask results-warm` on an empty cache
        shutil.rmtree(folder / (dep.cache or dep.name) / "cache", ignore_errors=True)
    rows = stats.rows
    print(f"\n== {size:,} agencies: {rows['response']:,} responses, {rows['answer']:,} answers, "
          f"{rows['invitation']:,} invitations, {rows['complaint']:,} complaints, {rows['audit_event']:,} audit events, "
          f"{rows['staff_user']:,} staff")
    print(f"load {stats.seconds:.1f} s + VACUUM ANALYZE {stats.vacuum_seconds:.1f} s; database {human(stats.bytes)} "
          f"(alone: {human(size_of(alone.url))})")
    for dep in (big, alone):
        print(f"flask results-warm on {dep.name}: {warm(dep):.1f} s")
    prefix = f"/a/{slug}" if args.addresses == "path" else ""
    result, order = measure([big, alone], slug, prefix, args.rounds, cold_rounds=args.cold_rounds)
    print(f"\n{slug} on {size:,} agencies and alone, {args.rounds} rounds each, interleaved; seconds")
    print(f"{'page':<26} {'big p50':>8} {'p95':>7} {'alone p50':>10} {'p95':>7} {'ratio p50':>10} {'p95':>6}")
    ratios = []
    table = result.table((big.name, alone.name), order)
    for page, b50, b95, a50, a95 in table:
        ratios.append(b50 / a50)
        print(f"{page:<26} {b50:8.3f} {b95:7.3f} {a50:10.3f} {a95:7.3f} {b50 / a50:10.2f} {b95 / a95:6.2f}")
    print(f"median ratio of p50 over the pages: {statistics.median(ratios):.2f}")
    if args.explain:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS) of the pages' SELECTs on {big.name} (slowest first):")
        explain(big, slug, prefix, min_ms=args.explain_ms)
    return {"size": size, "stats": stats, "table": table, "median_ratio": statistics.median(ratios)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--growth", help="comma-separated sizes, e.g. 10,100,1000 (instead of --agencies)")
    parser.add_argument("--waves", type=int, default=2)
    parser.add_argument("--per-wave", type=int, default=500)
    parser.add_argument("--agency", type=int, default=5, help="index of the measured agency (agency-0005)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cold-rounds", type=int, default=5,
                        help="times Compare after a new response (its wave computed again) this many times")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_SERVER", SERVER),
                        help="any database URL on the PostgreSQL server to create the bench databases on")
    parser.add_argument("--addresses", choices=["single", "path"], default="path",
                        help="single: SURVEY_AGENCY selects the agency; path: pages under /a/<slug>/")
    parser.add_argument("--reuse", action="store_true", help="keep a database already loaded at that size")
    parser.add_argument("--folder", type=Path, help="keys, caches and load figures (default: a temporary folder; "
                                                    "--reuse needs the same folder as the load)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the pages' queries on the big database")
    parser.add_argument("--explain-ms", type=float, default=1.0, help="print plans at least this slow")
    parser.add_argument("--revision", default="head",
                        help="with --reuse: upgrade reused databases only this far (downgrade them first to "
                             "measure before a migration, e.g. 0011_campaign)")
    parser.add_argument("--load-only", action="store_true", help="load (or keep, with --reuse) and stop")
    args = parser.parse_args()
    sizes = [int(s) for s in args.growth.split(",")] if args.growth else [args.agencies]
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    folder.mkdir(parents=True, exist_ok=True)
    key_file(folder)
    print(f"{args.waves} waves x {args.per_wave} responses per agency; keys and caches in {folder}")
    measured_k = min(args.agency, min(sizes) - 1)
    alone, stats = load_database(args.server, "bench_campaign_alone", folder, [measured_k], seed=args.seed,
                                 waves=args.waves, per_wave=args.per_wave, reuse=args.reuse, revision=args.revision)
    alone.agency = slug_of(measured_k)
    args.agency = measured_k
    if args.load_only:
        for size in sizes:
            _dep, stats = load_database(args.server, f"bench_campaign_{size}", folder, list(range(size)), seed=args.seed,
                                        waves=args.waves, per_wave=args.per_wave, reuse=args.reuse)
            print(f"{size:,} agencies: load {stats.seconds:.1f} s + VACUUM ANALYZE {stats.vacuum_seconds:.1f} s, "
                  f"{human(stats.bytes)}, rows {stats.rows}")
        return 0
    results = [run_size(args, folder, size, alone) for size in sizes]
    if len(results) > 1:
        key = ["staff: dashboard", "staff: compare", "staff: compare, new answer", "staff: complaints list",
               "staff: one complaint",
               "public: public results", "public: complaint data"]
        print("\nGrowth curve: p50 seconds on the big database (big / alone), same run per size\n")
        print("| agencies | responses | answer rows | load | database | " + " | ".join(key) + " | median ratio |")
        print("| ---: " * (6 + len(key)) + "|")
        for r in results:
            s, cells = r["stats"], {page: (b50, a50) for page, b50, _b95, a50, _a95 in r["table"]}
            print(f"| {r['size']:,} | {s.rows['response']:,} | {s.rows['answer']:,} | {s.seconds + s.vacuum_seconds:.0f} s "
                  f"| {human(s.bytes)} | " + " | ".join(f"{cells[p][0]:.3f} ({cells[p][0] / cells[p][1]:.2f})" for p in key)
                  + f" | {r['median_ratio']:.2f} |")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
