"""The one throttle (survey/throttle.py): every limit per address and per network, its sliding
window, each kind's own clean-up, and what the table holds."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import delete, func, select

from survey import throttle
from survey.db import db
from survey.models import Complaint, ThrottleBucket
from tests.respond.conftest import code, make_invitation, wave  # noqa: F401  (fixtures)

WRONG_CODE = "ABCDE-FGHJK-MNPQR"
WRONG_RECEIPT = "ABCDE-FGHJK-MNPQR-STVW"


def at(app, address: str):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


def rule(app, kind: str):
    return app.config["THROTTLE_RULES"][kind]


def wrong_code(browser):
    return browser.post("/survey/", data={"code": WRONG_CODE}).status_code


def wrong_receipt(browser):
    return browser.post("/complaints/follow-up", data={"code": WRONG_RECEIPT}).status_code


def file_complaint(browser):
    return browser.post("/complaints/new", data={"categories": ["force"], "contact_method": "none"}).status_code


# ------------------------------------------------------------------ the client and its network


@pytest.mark.parametrize(("address", "expected"), [
    ("192.0.2.77", ("192.0.2.77", "192.0.2.0/24")),
    ("::ffff:192.0.2.77", ("192.0.2.77", "192.0.2.0/24")),
    ("2001:db8:1:2:3:4:5:6", ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")),
    ("fe80::1%eth0", ("fe80::1", "fe80::/64")),
    (None, ("unknown", "unknown")),
    ("not an address", ("not an address", "not an address")),
])
def test_client_and_network(address, expected):
    client = throttle.client_of(address)
    assert (client.address, client.prefix) == expected


# ------------------------------------------------------------------ each limit, per address and per network


def test_wrong_access_codes_per_address(app, code):  # noqa: F811
    limit = rule(app, "access_code").per_address
    attacker = at(app, "203.0.113.5")
    assert [wrong_code(attacker) for _ in range(limit + 3)] == [400] * limit + [429] * 3
    assert attacker.post("/survey/", data={"code": code}).status_code == 429, "a right code waits too"
    # A resident at another address of the same network gets in at the first try.
    assert at(app, "203.0.113.6").post("/survey/", data={"code": code}).status_code == 303


def test_wrong_access_codes_per_network(app, code):  # noqa: F811
    limit = rule(app, "access_code").per_prefix
    per_address = rule(app, "access_code").per_address
    statuses = [wrong_code(at(app, f"203.0.113.{n // per_address}")) for n in range(limit + 2)]
    assert statuses == [400] * limit + [429] * 2
    assert at(app, "203.0.113.250").post("/survey/", data={"code": code}).status_code == 429
    assert at(app, "198.51.100.1").post("/survey/", data={"code": code}).status_code == 303


def test_ipv6_clients_are_limited_per_64(app, agency):
    per_address = rule(app, "access_code").per_address
    limit = rule(app, "access_code").per_prefix
    statuses = [wrong_code(at(app, f"2001:db8:0:1::{n // per_address:x}")) for n in range(limit + 1)]
    assert statuses == [400] * limit + [429]
    assert wrong_code(at(app, "2001:db8:0:2::1")) == 400, "the next /64 is another network"


def test_right_codes_do_not_count(app, wave, make_invitation):  # noqa: F811
    limit = rule(app, "access_code").per_address
    resident = at(app, "203.0.113.7")
    for _ in range(limit + 2):
        assert resident.post("/survey/", data={"code": make_invitation(wave)}).status_code == 303
    assert wrong_code(resident) == 400


def test_a_right_code_leaves_no_counter_behind(app, wave, make_invitation):  # noqa: F811
    """A counter that a right code gave back to zero is deleted: no row says in which window (or, to
    someone with the key, from which address) a resident entered their code."""
    resident = at(app, "203.0.113.8")
    assert resident.post("/survey/", data={"code": make_invitation(wave)}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ThrottleBucket)) == 0
    assert wrong_code(resident) == 400  # a wrong one is counted, and kept for its window
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ThrottleBucket)) > 0


def test_wrong_receipt_codes_per_address_and_network(app, agency):
    receipt = rule(app, "receipt")
    assert [wrong_receipt(at(app, "203.0.113.8")) for _ in range(receipt.per_address + 1)] == (
        [200] * receipt.per_address + [429]
    )
    statuses = [wrong_receipt(at(app, f"198.51.100.{n}")) for n in range(receipt.per_prefix + 1)]
    assert statuses == [200] * receipt.per_prefix + [429]


def test_complaint_filing_per_address_keeps_what_was_typed(app, agency):
    limit = rule(app, "complaint").per_address
    resident = at(app, "203.0.113.9")
    assert [file_complaint(resident) for _ in range(limit)] == [303] * limit
    response = resident.post("/complaints/new", data={
        "categories": ["force"], "contact_method": "none", "narrative": "Words the resident typed"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Too many complaints were sent from this network" in html and "Words the resident typed" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == limit, "nothing saved when refused"
    assert file_complaint(at(app, "192.0.2.1")) == 303, "another network files as usual"


def test_complaint_filing_per_network(app, agency):
    app.config["THROTTLE_RULES"]["complaint"] = dataclasses.replace(rule(app, "complaint"), per_prefix=4)
    statuses = [file_complaint(at(app, f"203.0.113.{n}")) for n in range(5)]
    assert statuses == [303] * 4 + [429]


# ------------------------------------------------------------------ the sliding window


def test_the_window_slides(app, agency, monkeypatch):
    app.config["THROTTLE_RULES"]["access_code"] = dataclasses.replace(rule(app, "access_code"), per_address=10, per_prefix=100)
    window = rule(app, "access_code").window
    clock = [1_000 * window + 0.5 * window]  # halfway through a period
    monkeypatch.setattr(throttle, "now", lambda: clock[0])
    attacker = at(app, "203.0.113.10")
    assert [wrong_code(attacker) for _ in range(11)] == [400] * 10 + [429]
    # A quarter into the next period, three quarters of the last one still count: 10 - 7.5 leaves 2.
    clock[0] = 1_001 * window + 0.25 * window
    assert [wrong_code(attacker) for _ in range(3)] == [400, 400, 429], "a new period is no fresh set of tries"
    # Three quarters in, a quarter of them count: 10 - 2.5 - 2 leaves 5.
    clock[0] = 1_001 * window + 0.75 * window
    assert [wrong_code(attacker) for _ in range(6)] == [400] * 5 + [429]
    clock[0] = 1_003 * window
    assert wrong_code(attacker) == 400


# ------------------------------------------------------------------ clean-up: each kind its own rows


def _rows(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(
            select(ThrottleBucket.kind, func.count()).group_by(ThrottleBucket.kind)).all())


def _other_limiters_survive_access_code_clean_up(app, agency, monkeypatch, clean_up=None) -> bool:
    """Complaint, receipt and sign-in counters, then wrong access codes much later: are the
    other counters still there and still enforced?"""
    app.config["THROTTLE_RULES"]["complaint"] = dataclasses.replace(rule(app, "complaint"), per_address=1)
    resident = at(app, "203.0.113.11")
    assert file_complaint(resident) == 303
    wrong_receipt(resident)
    resident.post("/staff/sign-in", data={"email": "someone@example.org", "password": "wrong password here"})
    before = _rows(app)
    assert set(before) == {"complaint", "receipt", "signin"}
    # Two access-code windows later: a clean-up of stale rows runs, the other kinds' windows are longer.
    later = throttle.now() + 2 * rule(app, "access_code").window + 1
    monkeypatch.setattr(throttle, "now", lambda: later)
    if clean_up is not None:
        monkeypatch.setattr(throttle, "clean_up", clean_up)
    wrong_code(at(app, "192.0.2.99"))
    after = _rows(app)
    return all(after.get(kind) == before[kind] for kind in before) and file_complaint(resident) == 429


def test_a_clean_up_deletes_only_its_own_kind(app, agency, monkeypatch):
    assert _other_limiters_survive_access_code_clean_up(app, agency, monkeypatch)


def test_the_clean_up_test_fails_when_a_clean_up_deletes_every_kind(app, agency, monkeypatch):
    # The fault of the three old limiters: the access-code clean-up deleted every key's old windows.
    def delete_every_kind(kind, period=None, *, session=None):
        (session or db.session).execute(delete(ThrottleBucket).where(ThrottleBucket.period < throttle._period(kind, throttle.now()) - 1))

    assert not _other_limiters_survive_access_code_clean_up(app, agency, monkeypatch, delete_every_kind)


def test_each_kind_cleans_its_stale_rows(app, agency, monkeypatch):
    start = throttle.now()
    for kind, make in (("access_code", wrong_code), ("receipt", wrong_receipt)):
        make(at(app, "203.0.113.12"))
        assert _rows(app)[kind] == 2  # address and network
        monkeypatch.setattr(throttle, "now", lambda kind=kind: start + 2 * rule(app, kind).window)
        make(at(app, "192.0.2.12"))
        assert _rows(app)[kind] == 2, "the stale rows of this kind are gone, the new ones counted"
        monkeypatch.setattr(throttle, "now", lambda: start)


# ------------------------------------------------------------------ what the table holds


def test_no_address_email_or_network_is_stored(app, agency):
    wrong_code(at(app, "203.0.113.13"))
    wrong_receipt(at(app, "203.0.113.13"))
    at(app, "203.0.113.13").post("/staff/sign-in", data={"email": "who@example.org", "password": "nope nope nope"})
    with app.app_context():
        rows = db.session.scalars(select(ThrottleBucket)).all()
    assert rows
    for row in rows:
        text = f"{row.key}{row.account or ''}"
        assert "203.0.113" not in text and "who@" not in text and len(row.key) == 64


def test_the_key_is_the_same_in_every_process_and_depends_on_the_code_key(app):
    from survey import create_app

    twin = create_app({**{k: app.config[k] for k in ("DATABASE_URL", "SECRET_KEY", "CODE_HASH_KEY")}, "TESTING": True})
    assert twin.config["THROTTLE_KEY"] == app.config["THROTTLE_KEY"]
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "x" * 40, "CODE_HASH_KEY": "y" * 40})
    assert other.config["THROTTLE_KEY"] != app.config["THROTTLE_KEY"]
    twin.extensions["survey.db"]["engine"].dispose()
    other.extensions["survey.db"]["engine"].dispose()


def test_settings_come_from_the_environment(tmp_path):
    from survey.config import ConfigError, from_environment

    config = from_environment(tmp_path, {"SURVEY_THROTTLE_CODE_PER_ADDRESS": "3", "SURVEY_THROTTLE_SIGNIN_PER_ACCOUNT_PREFIX": "7"})
    assert config["THROTTLE_RULES"]["access_code"].per_address == 3
    assert config["THROTTLE_RULES"]["signin"].per_account_prefix == 7
    assert config["THROTTLE_RULES"]["receipt"].per_prefix == 50
    with pytest.raises(ConfigError, match="SURVEY_THROTTLE_CODE_WINDOW_SECONDS"):
        from_environment(tmp_path, {"SURVEY_THROTTLE_CODE_WINDOW_SECONDS": "0"})
    with pytest.raises(ConfigError, match="SURVEY_THROTTLE_RECEIPT_PER_ADDRESS"):
        from_environment(tmp_path, {"SURVEY_THROTTLE_RECEIPT_PER_ADDRESS": "ten"})


def test_every_limit_is_documented_with_its_numbers():
    from pathlib import Path

    from survey.config import THROTTLE_DEFAULTS

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    security = (root / "SECURITY.md").read_text(encoding="utf-8")
    section = security[security.index("## Rate limits"):]
    section = section[: section.index("\n## ", 4)]
    for _kind, name, window, per_address, per_prefix, account_address, account_prefix in THROTTLE_DEFAULTS:
        assert f"`SURVEY_THROTTLE_{name}_WINDOW_SECONDS` / `_PER_ADDRESS` / `_PER_PREFIX` | `{window}` / `{per_address}` / `{per_prefix}`" in readme
        assert f"`{name}_WINDOW_SECONDS`, `{name}_PER_ADDRESS`, `{name}_PER_PREFIX`" in section
        row = next(line for line in section.splitlines() if f"`{name}_WINDOW_SECONDS`" in line)
        cells = [cell.strip() for cell in row.split("|")]
        assert cells[3].split()[0] == str(per_address) and cells[4].split()[0] == str(per_prefix), row
        if account_address:
            account_row = next(line for line in section.splitlines() if f"`{name}_PER_ACCOUNT_ADDRESS`" in line)
            cells = [cell.strip() for cell in account_row.split("|")]
            assert (cells[3], cells[4]) == (str(account_address), str(account_prefix))
