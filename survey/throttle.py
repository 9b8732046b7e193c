"""Rate limits on guessing and flooding, shared by every worker and app server, with no address stored.

One throttle for the whole platform. Each throttled event (a wrong access code, a wrong receipt
code, a complaint filed, a failed staff sign-in) has a :class:`~survey.config.ThrottleRule` in
``config.THROTTLE_RULES``: at most so many events from one client address, and from its network
prefix (IPv4 /24, IPv6 /64), in any window (a sliding window: this period's count plus the previous
period's, weighted by how much of it still lies inside the window). Staff sign-in also counts per
(account, address) and (account, prefix): that is the lock-out, so an attacker elsewhere cannot lock
the owner out.

Counters live in the ``throttle_bucket`` table, so every gunicorn worker and every app server sees
the same numbers. A row's key is HMAC-SHA256 under ``THROTTLE_KEY`` (derived from the code key) of
(kind, scope, client, period): the table never holds an address, a prefix or an email, and the rows of
one period cannot be linked to another's without the key. Rows of a kind are deleted by that kind's
own clean-up once they can no longer count; staff accounts' rows also carry a keyed hash of the
account so that an administrator can lift its lock-outs.

The client is ``request.remote_addr``: behind the trusted proxies that create_app configures it is
the real client's address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app, request
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .config import ThrottleRule
from .db import db
from .models import ThrottleBucket

ACCESS_CODE = "access_code"
RECEIPT = "receipt"
COMPLAINT = "complaint"
SIGNIN = "signin"


def now() -> float:
    """The clock (tests replace it)."""
    return time.time()


@dataclass(frozen=True)
class Client:
    address: str
    prefix: str


def client_of(remote_addr: str | None) -> Client:
    """The address and its network: IPv4 /24, IPv6 /64 (an IPv4-mapped IPv6 address counts as IPv4)."""
    raw = (remote_addr or "").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        return Client(raw or "unknown", raw or "unknown")
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    network = ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 64}", strict=False)
    return Client(str(ip), str(network))


def rule(kind: str) -> ThrottleRule:
    return current_app.config["THROTTLE_RULES"][kind]


def _hash(*parts: object) -> str:
    message = "\0".join(str(p) for p in parts).encode()
    return hmac.new(current_app.config["THROTTLE_KEY"], message, hashlib.sha256).hexdigest()


def account_hash(account: str) -> str:
    """The keyed hash that marks a staff account's rows (for an administrator's "unlock")."""
    return _hash("account", account.strip().lower())


def _scopes(kind: str, account: str | None) -> list[tuple[str, str, int]]:
    """(scope name, client value, limit) for this request; limits of 0 are left out."""
    current = rule(kind)
    client = client_of(request.remote_addr)
    scopes = [("address", client.address, current.per_address), ("prefix", client.prefix, current.per_prefix)]
    if account is not None:
        account = account.strip().lower()
        scopes += [
            ("account-address", f"{account}\0{client.address}", current.per_account_address),
            ("account-prefix", f"{account}\0{client.prefix}", current.per_account_prefix),
        ]
    return [scope for scope in scopes if scope[2] > 0]


def _period(kind: str, moment: float) -> int:
    return int(moment // rule(kind).window)


def _keys(kind: str, account: str | None, period: int) -> list[tuple[str, str, str, int]]:
    """(scope, key in this period, key in the previous period, limit) for this request."""
    return [
        (scope, _hash(kind, scope, value, period), _hash(kind, scope, value, period - 1), limit)
        for scope, value, limit in _scopes(kind, account)
    ]


def take(kind: str, account: str | None = None) -> bool:
    """Count one attempt if every limit allows it: True when allowed (and counted), False when
    a limit is reached (and nothing is counted).

    Exact whatever the number of workers and app servers: the counters are raised first, in a
    write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: the upsert locks the rows until the
    commit), then read back; over a limit, the transaction is rolled back. So two attempts at the
    same moment cannot both take the last place. An attempt that turns out right is given back
    with :func:`refund` (only wrong ones count), except complaint filing, where every one counts.

    The sliding window: this period's count plus the previous period's, weighted by how much of
    the previous period still lies inside the window.
    """
    moment = now()
    window = rule(kind).window
    period = int(moment // window)
    weight = 1 - (moment % window) / window
    keys = _keys(kind, account, period)
    if not keys:
        return True
    marker = account_hash(account) if account is not None else None
    session = db.write()
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(ThrottleBucket).values([
        {"kind": kind, "key": current, "period": period, "count": 1,
         "account": marker if scope.startswith("account") else None}
        for scope, current, _previous, _limit in keys
    ])
    session.execute(statement.on_conflict_do_update(
        index_elements=[ThrottleBucket.kind, ThrottleBucket.key, ThrottleBucket.period],
        set_={"count": ThrottleBucket.count + 1},
    ))
    counts = dict(session.execute(
        select(ThrottleBucket.key, ThrottleBucket.count).where(
            ThrottleBucket.kind == kind,
            ThrottleBucket.key.in_([k for _s, cur, prev, _l in keys for k in (cur, prev)]),
        )
    ).all())
    for _scope, current, previous, limit in keys:
        if counts.get(current, 0) + weight * counts.get(previous, 0) > limit:
            session.rollback()
            return False
    clean_up(kind, period, session=session)
    session.commit()
    return True


def refund(kind: str, account: str | None = None) -> None:
    """Give back the attempt that :func:`take` counted, because it turned out right (commits)."""
    period = _period(kind, now())
    keys = [current for _scope, current, _previous, _limit in _keys(kind, account, period)]
    session = db.write()
    session.execute(
        update(ThrottleBucket)
        .where(ThrottleBucket.kind == kind, ThrottleBucket.key.in_(keys), ThrottleBucket.count > 0)
        .values(count=ThrottleBucket.count - 1)
    )
    # A counter back at zero goes: a resident's right code leaves no row saying in which window
    # (and, to someone with the key, from which address) a code was entered.
    session.execute(delete(ThrottleBucket).where(
        ThrottleBucket.kind == kind, ThrottleBucket.key.in_(keys), ThrottleBucket.count <= 0))
    session.commit()


def clean_up(kind: str, period: int | None = None, *, session=None) -> int:
    """Delete this kind's rows older than the previous period (they no longer count); no other kind's."""
    session = session or db.session
    if period is None:
        period = _period(kind, now())
    result = session.execute(delete(ThrottleBucket).where(ThrottleBucket.kind == kind, ThrottleBucket.period < period - 1))
    return result.rowcount or 0


def forget_account(kind: str, account: str, *, everywhere: bool = False) -> None:
    """Lift an account's lock-out: from this client (after a right password), or from every client
    (an administrator's unlock). The caller commits. Address and prefix counters stay."""
    condition = [ThrottleBucket.kind == kind, ThrottleBucket.account == account_hash(account)]
    if not everywhere:
        period = _period(kind, now())
        keys = [_hash(kind, scope, value, p) for scope, value, _limit in _scopes(kind, account)
                if scope.startswith("account") for p in (period, period - 1)]
        condition.append(ThrottleBucket.key.in_(keys))
    db.session.execute(delete(ThrottleBucket).where(*condition))


def locked_accounts(kind: str, accounts: Iterable[str]) -> set[str]:
    """Which of these accounts have a counter from some client that reached its account limit now."""
    current = rule(kind)
    by_hash = {account_hash(a): a for a in accounts}
    limit = min(x for x in (current.per_account_address, current.per_account_prefix) if x > 0)
    period = _period(kind, now())
    rows = db.session.execute(
        select(ThrottleBucket.account).where(
            ThrottleBucket.kind == kind, ThrottleBucket.account.in_(by_hash),
            ThrottleBucket.period >= period - 1, ThrottleBucket.count >= limit,
        )
    ).scalars()
    return {by_hash[h] for h in rows}
