"""One audit chain per agency: each verifies alone, a change in one breaks only that one, and the
upgrade to per-agency chains re-links an intact single chain and refuses a broken one."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text, update

from survey import audit, migrate
from survey.db import db
from survey.models import Agency, AuditEvent

ROOT = Path(__file__).resolve().parent.parent


def _two_agencies() -> tuple[int, int]:
    a = Agency(slug="a-town", name="A Town PD", city="A Town")
    b = Agency(slug="b-town", name="B Town PD", city="B Town")
    db.session.add_all([a, b])
    db.session.flush()
    return a.id, b.id


def test_each_agency_has_its_own_chain(app):
    with app.app_context():
        a, b = _two_agencies()
        for n in range(6):
            audit.record(db.session, "complaint.view", "complaint", f"c{n}", agency_id=a if n % 2 else b)
        audit.record(db.session, "key.rotate", "key")
        db.session.commit()
        assert audit.chains(db.session) == [None, a, b]
        assert [audit.verify(db.session, x).checked for x in (a, b, None)] == [3, 3, 1]

        # Deleting A's middle event breaks A's chain and leaves B's intact.
        middle = db.session.scalars(
            select(AuditEvent).where(AuditEvent.agency_id == a, AuditEvent.seq == 2)).one()
        db.session.execute(delete(AuditEvent).where(AuditEvent.id == middle.id))
        db.session.commit()
        broken = audit.verify(db.session, a)
        assert not broken.ok and broken.broken_id == 2 and "missing" in broken.reason
        assert audit.verify(db.session, b).ok

        # Changing B's content breaks B.
        db.session.execute(update(AuditEvent).where(AuditEvent.agency_id == b, AuditEvent.seq == 3)
                           .values(object_id="other"))
        db.session.commit()
        assert audit.verify(db.session, b).broken_id == 3


def _migration_module():
    path = ROOT / "migrations" / "versions" / "0011_campaign.py"
    spec = importlib.util.spec_from_file_location("m0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fill_old_chain(url: str, *, break_at: int | None = None) -> None:
    """Events of two agencies and of no agency, interleaved, hashed as revision 0008's code did."""
    old = _migration_module()
    engine = create_engine(url)
    prev = "0" * 64
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agency (id, slug, name, city, default_language, acknowledge_days, close_days, "
                          "created_at, texts) VALUES (1, 'a', 'A', 'A', 'en', 7, 90, :t, '{}'), "
                          "(2, 'b', 'B', 'B', 'en', 7, 90, :t, '{}')"), {"t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})
        for n in range(1, 9):
            event = {"id": n, "agency_id": [1, 2, None][n % 3], "at": dt.datetime(2026, 1, n, 9, tzinfo=dt.UTC),
                     "staff_user_id": None, "action": "complaint.view", "object_type": "complaint",
                     "object_id": f"c{n}", "detail": {"n": n}}
            from types import SimpleNamespace

            digest = old._old_hash(prev, SimpleNamespace(**event))
            stored = "f" * 64 if n == break_at else digest
            conn.execute(text("INSERT INTO audit_event (id, agency_id, at, staff_user_id, action, object_type, "
                              "object_id, detail, prev_hash, hash) VALUES (:id, :agency_id, :at, :staff_user_id, "
                              ":action, :object_type, :object_id, :detail, :prev, :hash)"),
                         event | {"detail": json.dumps(event["detail"]), "prev": prev, "hash": stored})
            prev = stored
    engine.dispose()


def test_upgrade_relinks_one_chain_into_one_per_agency(database_url, tmp_path):
    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url, "0008_agency_texts")
    _fill_old_chain(database_url)
    migrate.upgrade(database_url)
    from tests.conftest import make_test_app

    app = make_test_app(database_url, tmp_path)
    with app.app_context():
        checks = {agency: audit.verify(db.session, agency) for agency in audit.chains(db.session)}
        assert {agency: (c.ok, c.checked) for agency, c in checks.items()} == {None: (True, 3), 1: (True, 2), 2: (True, 3)}
        # New events go on the right chain.
        audit.record(db.session, "complaint.view", "complaint", "new", agency_id=2)
        db.session.commit()
        assert audit.verify(db.session, 2).checked == 4
    app.extensions["survey.db"]["engine"].dispose()


def test_upgrade_refuses_a_broken_chain(database_url):
    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url, "0008_agency_texts")
    _fill_old_chain(database_url, break_at=5)
    with pytest.raises(RuntimeError, match="broken at event 5"):
        migrate.upgrade(database_url)
    migrate.downgrade(database_url, "base")
    migrate.upgrade(database_url)
