"""The campaign benchmark's COPY loader still makes rows the app reads (bench/bench_campaign.py).

The loader writes tables directly, past the ORM and with foreign-key triggers off, so this loads
two tiny agencies into a throwaway PostgreSQL database and checks what could rot silently: every
reference points at a row, the audit chain verifies, new rows get fresh ids, and the app shows
the second agency's staff and public pages with its own data (a sealed complaint opens).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.databases import throwaway_postgres

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                                       reason="needs TEST_DATABASE_URL (PostgreSQL)")]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_campaign", ROOT / "bench" / "bench_campaign.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loaded(bench, tmp_path_factory):
    url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"], prefix="bench_campaign_test")
    folder = tmp_path_factory.mktemp("campaign")
    bench.key_file(folder)
    dep = bench.Deployment(url, folder, "tiny")
    app = dep.app()
    with app.app_context():
        stats = bench.load(url, [0, 1], seed=7, waves=2, per_wave=150, echo=lambda _line: None)
    app.extensions["survey.db"]["engine"].dispose()
    try:
        yield dep, stats
    finally:
        drop()


def test_loader_counts_and_references(loaded):
    dep, stats = loaded
    assert stats.rows["agency"] == 2 and stats.rows["wave"] == 4 and stats.rows["response"] == 600
    assert stats.rows["answer"] > 20 * 600  # every item answered, bar the skips
    engine = create_engine(dep.url)
    try:
        with engine.connect() as conn:
            schema = inspect(conn)
            for table in schema.get_table_names():
                for fk in schema.get_foreign_keys(table):
                    (col,), (ref_col,) = fk["constrained_columns"], fk["referred_columns"]
                    ref = fk["referred_table"]
                    orphans = conn.execute(text(
                        f'SELECT count(*) FROM "{table}" t LEFT JOIN "{ref}" r ON t."{col}" = r."{ref_col}" '
                        f'WHERE t."{col}" IS NOT NULL AND r."{ref_col}" IS NULL')).scalar()
                    assert orphans == 0, f"{table}.{col} -> {ref}: {orphans} rows point nowhere"
            for table in ("agency", "wave", "staff_user", "audit_event", "invitation"):
                assert conn.execute(text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) > "
                                         f"(SELECT max(id) FROM {table})")).scalar()
    finally:
        engine.dispose()


def test_audit_chain_verifies(loaded):
    from survey import audit
    from survey.db import db

    dep, _stats = loaded
    app = dep.app()
    with app.app_context():
        for agency_id in (1, 2):
            check = audit.verify(db.session, agency_id)
            assert check.ok, check
            assert check.checked > 0
    app.extensions["survey.db"]["engine"].dispose()


def test_app_shows_the_loaded_agency(bench, loaded):
    """At its own address (path mode, /a/agency-0001/), agency 1's pages show agency 1's data."""
    dep, _stats = loaded
    slug = bench.slug_of(1)
    app = dep.app(WTF_CSRF_ENABLED=False, AGENCY_ADDRESSES="path")
    prefix = f"/a/{slug}"
    try:
        staff, public = app.test_client(), app.test_client()
        signed = staff.post(f"{prefix}/staff/sign-in", data={"email": f"bench@{slug}.example",
                                                              "password": bench.PASSWORD}, follow_redirects=True)
        assert "Sign out" in signed.get_data(as_text=True)
        staff_pages, public_pages = bench.pages(dep.url, slug, prefix)
        for name, path in staff_pages:
            page = staff.get(path)
            assert page.status_code == 200, (name, path)
            assert "Town 0001" in page.get_data(as_text=True), name
        queue = staff.get(f"{prefix}/staff/complaints/").get_data(as_text=True)
        assert re.search(r"C0001-\d{4}", queue) and "C0000-" not in queue
        detail = staff.get(dict(staff_pages)["one complaint"]).get_data(as_text=True)
        assert any(story in detail for story in bench_stories())
        for name, path in public_pages:
            page = public.get(path)
            assert page.status_code == 200, (name, path)
            assert "Town 0001" in page.get_data(as_text=True), name
    finally:
        app.extensions["survey.db"]["engine"].dispose()


def bench_stories() -> list[str]:
    from survey.demo import COMPLAINT_STORIES

    return [s.replace("'", "&#39;") for s in COMPLAINT_STORIES] + COMPLAINT_STORIES
