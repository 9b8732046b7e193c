"""Public complaint data: small counts hidden, and no hidden count can be worked out from totals.

The attacker here is independent of the code under test: for a one-way table with a published
total, each hidden cell's possible values follow from interval arithmetic on the single equation
``sum(cells) = total`` (exact for integers with box bounds). The attacker knows every published
number, which hidden cells are small (1 to threshold-1) and that a withheld cell is at least the
threshold. It must not be able to narrow any small count to one value (nor to two).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from survey.complaints import stats
from survey.db import db
from survey.models import Channel, Complaint, ComplaintStatus, Disposition
from survey.models import today as app_today

T = 10


def attacker_range(published: list[int | str], total: int | str, i: int, threshold: int = T) -> tuple[int, float]:
    """Values cell i can take given a row of published values ('small', 'withheld' or a number)."""
    def box(value):
        return (1, threshold - 1) if value == "small" else (threshold, float("inf"))

    visible = sum(v for v in published if isinstance(v, int))
    others = [box(v) for j, v in enumerate(published) if j != i and not isinstance(v, int)]
    lo_i, hi_i = box(published[i])
    if isinstance(total, int):
        rest_lo, rest_hi = total - visible, total - visible
    else:
        t_lo, t_hi = box(total)
        rest_lo, rest_hi = t_lo - visible, t_hi - visible
    low = max(lo_i, rest_lo - sum(h for _, h in others))
    high = min(hi_i, rest_hi - sum(lo for lo, _ in others))
    return low, high


def _publish(values: list[int], threshold: int = T) -> tuple[list[int | str], int | str]:
    cells = [stats.Cell(str(n), v) for n, v in enumerate(values)]
    total = stats.Cell("total", sum(values))
    stats.protect(cells, total, threshold)
    def show(c):
        return c.value if c.state == stats.SHOWN else c.state
    return [show(c) for c in cells], show(total)


def _assert_protected(values, published, total, threshold=T):
    for i, value in enumerate(values):
        if 1 <= value < threshold:
            assert published[i] == "small", (values, published)
            low, high = attacker_range(published, total, i, threshold)
            assert low <= value <= high, "the attacker's range must contain the truth"
            assert high - low >= 2, f"cell {i} ({value}) narrowed to {low}..{high}: {values} -> {published}, {total}"
        elif isinstance(published[i], int):
            assert published[i] == value


@pytest.mark.parametrize(
    "values",
    [
        [3, 50, 40],        # one small cell: subtraction from the total would reveal it
        [1, 10, 30],        # the smallest complement (10) would still pin 1
        [1, 1, 100],        # two small cells that sum to 2 pin each other
        [5, 0, 0, 12],      # few cells
        [4, 0, 0],          # small total
        [9, 9, 9, 9],       # every cell small, total shown
        [2, 10],            # nothing left to withhold but the total
        [0, 0, 25],
    ],
)
def test_no_small_count_can_be_worked_out(values):
    published, total = _publish(values)
    assert not any(isinstance(p, int) and 1 <= p < T for p in published)
    assert not (isinstance(total, int) and 1 <= total < T)
    _assert_protected(values, published, total)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 200)), min_size=2, max_size=9))
def test_no_small_count_can_be_worked_out_in_random_tables(values):
    published, total = _publish(values)
    _assert_protected(values, published, total)


def test_attacker_really_solves_an_unprotected_table():
    """The attacker is not toothless: with primary suppression alone it recovers the count."""
    low, high = attacker_range(["small", 50, 40], 93, 0)
    assert low == high == 3


# --- the published page and CSV -----------------------------------------------------------------


def _seed(app, agency, seed=7):
    """A finished quarter with a mix of large, small and zero counts; one category each."""
    rng = random.Random(seed)
    start = app_today().replace(day=1) - dt.timedelta(days=200)
    year, q = stats.quarter_of(start)
    q_start, _q_end = stats.quarter_range(year, q)
    weights = {Channel.WEB: 30, Channel.PHONE: 12, Channel.MAIL: 3, Channel.IN_PERSON: 1}
    categories = ["force"] * 25 + ["discourtesy"] * 14 + ["bias"] * 4 + ["property"] * 2 + ["other"] * 1
    channels = [ch for ch, n in weights.items() for _ in range(n)]
    rng.shuffle(categories)
    dispositions = [Disposition.NOT_SUSTAINED] * 12 + [Disposition.SUSTAINED] * 3 + [Disposition.WITHDRAWN] * 15 + [Disposition.EXONERATED]
    with app.app_context():
        for n, (channel, category) in enumerate(zip(channels, categories, strict=True)):
            received = q_start + dt.timedelta(days=n % 20)
            closed = None
            disposition = None
            if n < len(dispositions):
                disposition = dispositions[n]
                closed = received + dt.timedelta(days=30 if n % 4 else 120)
                if stats.quarter_of(closed) != (year, q):
                    closed = stats.quarter_range(year, q)[1]
            db.session.add(Complaint(
                agency_id=agency.id, reference=f"C-T-{n:04d}", receipt_hash=f"h{n}", channel=channel,
                categories=[category], received_on=received,
                acknowledged_on=received + dt.timedelta(days=n % 6),
                status=ComplaintStatus.CLOSED if closed else ComplaintStatus.UNDER_REVIEW,
                closed_on=closed, disposition=disposition,
            ))
        db.session.commit()
    return f"{year}-Q{q}"


def _parse(csv_text: str):
    tables: dict[tuple[str, str], dict[str, int | str]] = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        if row["table"] == "timeliness":
            tables.setdefault((row["quarter"], "timeliness"), {})[row["item"]] = row["value"]
            continue
        if row["value"]:
            value: int | str = int(row["value"])
        else:
            value = "small" if row["note"].startswith("fewer than") else "withheld"
        tables.setdefault((row["quarter"], row["table"]), {})[row["item"]] = value
    return tables


def test_published_csv_hides_small_counts_and_resists_subtraction(app, client, agency):
    quarter = _seed(app, agency)
    response = client.get("/complaints/data.csv")
    assert response.mimetype == "text/csv"
    tables = _parse(response.get_data(as_text=True))
    with app.app_context():
        complaints = db.session.scalars(select(Complaint)).all()
    truth = {
        "received_by_channel": {ch.value: sum(c.channel == ch for c in complaints) for ch in Channel},
        "received_by_category": {k: sum(k in c.categories for c in complaints) for k in stats._category_keys()},
        "closed_by_disposition": {d.value: sum(c.disposition == d for c in complaints) for d in Disposition},
    }
    checked_small = 0
    for name, true_cells in truth.items():
        table = tables[(quarter, name)]
        keys = list(true_cells)
        published = [table[k] for k in keys]
        values = [true_cells[k] for k in keys]
        # One category per complaint here, so the category table really adds up to the total.
        total = table["total"]
        assert not any(isinstance(p, int) and 1 <= p < T for p in published), (name, published)
        _assert_protected(values, published, total)
        checked_small += sum(1 <= v < T for v in values)
    assert checked_small >= 5, "the seed must include small counts to test anything"
    timeliness = tables[(quarter, "timeliness")]
    assert timeliness["median_days_to_acknowledge"] != ""  # 46 cases
    assert timeliness["median_days_to_close"] != ""  # 31 cases
    closed = [c for c in complaints if c.closed_on]
    late = sum((c.closed_on - c.received_on).days > agency.close_days for c in closed)
    share = timeliness["share_closed_within_deadline"]
    if 1 <= late < T or 1 <= len(closed) - late < T:
        assert share == "", "a share would reveal a small count"
    else:
        assert float(share) == pytest.approx((len(closed) - late) / len(closed), abs=0.001)


def test_share_within_deadline_is_withheld_when_a_part_is_small(app, agency):
    on = app_today()
    received = dt.date(on.year - 1, 1, 5)
    with app.app_context():
        for n in range(20):
            # All closed in the same quarter; 3 of them late (received 100 days earlier): a small count.
            closed = received + dt.timedelta(days=10)
            start = closed - dt.timedelta(days=100) if n < 3 else received
            db.session.add(Complaint(agency_id=agency.id, reference=f"C-S-{n}", receipt_hash=f"s{n}", channel=Channel.WEB,
                                     categories=["force"], received_on=start, closed_on=closed,
                                     status=ComplaintStatus.CLOSED, disposition=Disposition.WITHDRAWN))
        db.session.commit()
        quarters = stats.build(db.session, agency, T)
        assert all(q.share_within_deadline is None for q in quarters)
        assert any(q.median_close_days is not None for q in quarters)


def test_medians_need_enough_cases(app, client, agency):
    with app.app_context():
        received = app_today() - dt.timedelta(days=200)
        for n in range(3):
            db.session.add(Complaint(agency_id=agency.id, reference=f"C-M-{n}", receipt_hash=f"m{n}", channel=Channel.WEB,
                                     categories=["force"], received_on=received,
                                     acknowledged_on=received + dt.timedelta(days=2)))
        db.session.commit()
    csv_text = client.get("/complaints/data.csv").get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(csv_text)) if r["item"] == "median_days_to_acknowledge"]
    assert rows and all(r["value"] == "" for r in rows)
    html = client.get("/complaints/data").get_data(as_text=True)
    assert "shown as <bdi dir=\"ltr\">&lt;10</bdi>" in html and "too few cases to show a figure" in html


def test_current_quarter_is_not_published(app, client, agency):
    with app.app_context():
        for n in range(30):
            db.session.add(Complaint(agency_id=agency.id, reference=f"C-N-{n}", receipt_hash=f"n{n}", channel=Channel.WEB,
                                     categories=["force"], received_on=app_today()))
        db.session.commit()
    csv_text = client.get("/complaints/data.csv").get_data(as_text=True)
    assert csv_text.strip().splitlines() == ["quarter,table,item,value,note"]


def test_threshold_is_configurable(app, client, agency):
    app.config["SMALL_COUNT_THRESHOLD"] = 5
    _seed(app, agency)
    csv_text = client.get("/complaints/data.csv").get_data(as_text=True)
    assert "fewer than 5" in csv_text and "fewer than 10" not in csv_text


def test_data_page_shows_the_tables(app, client, agency):
    _seed(app, agency)
    html = client.get("/complaints/data").get_data(as_text=True)
    assert "<caption>" in html and "withheld" in html and "&lt;10" in html
    # Every total says what it counts.
    assert "All complaints received" in html and "All complaints closed" in html and "Total complaints" not in html
