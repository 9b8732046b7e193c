"""Public complaint statistics by quarter, with small counts hidden so they cannot be worked out.

Each quarter publishes three one-way tables (received by channel, received by category, closed by
disposition), each with its total, plus medians and the share closed within the deadline.

Disclosure control, per table:

* a count from 1 to ``threshold - 1`` is shown as "fewer than <threshold>" (primary suppression);
* if the table's total is itself small, it is hidden too (every non-zero cell is then small);
* otherwise more cells are hidden ("withheld", complementary suppression) until an attacker who
  knows the published total and every rule here, including that a withheld cell is at least
  the threshold, still cannot narrow any small count to fewer than ``MIN_RANGE + 1`` values.
  The attacker's bounds are computed exactly with a linear program (one equality with integer
  bounds has integral vertices, so the LP bounds are the integer bounds). If no cell is left to
  withhold, the total is withheld.

Only finished quarters are published: a running count that changes daily would let a reader
subtract yesterday's page from today's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from scipy.optimize import linprog
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Agency, Channel, Complaint, Disposition, today

SHOWN, SMALL, WITHHELD = "shown", "small", "withheld"
#: A hidden small count must stay compatible with at least MIN_RANGE + 1 values.
MIN_RANGE = 2


@dataclass
class Cell:
    key: str
    value: int
    state: str = SHOWN

    @property
    def published(self) -> int | None:
        return self.value if self.state == SHOWN else None


@dataclass
class Table:
    name: str
    cells: list[Cell]
    total: Cell
    # False when cells need not add up to the total (a complaint may have several categories);
    # such a table is still protected as if they did, which is the stricter case.
    additive: bool = True


@dataclass
class Quarter:
    label: str
    start: dt.date
    end: dt.date
    tables: list[Table] = field(default_factory=list)
    median_ack_days: float | None = None
    median_close_days: float | None = None
    share_within_deadline: float | None = None


def bounds(cells: Sequence[Cell], total: Cell, threshold: int, index: int) -> tuple[int, int]:
    """The smallest and largest value of hidden cell ``index`` that fit what is published."""
    hidden = [i for i, c in enumerate(cells) if c.state != SHOWN]
    visible_sum = sum(c.value for c in cells if c.state == SHOWN)
    ranges = []
    for i in hidden:
        ranges.append((1, threshold - 1) if cells[i].state == SMALL else (threshold, None))
    a_eq = [[1.0] * len(hidden)]
    if total.state == SHOWN:
        b_eq = [total.value - visible_sum]
    else:
        # The total is one more unknown: sum(hidden) - total = -visible_sum.
        a_eq = [[1.0] * len(hidden) + [-1.0]]
        b_eq = [-visible_sum]
        ranges.append((1, threshold - 1) if total.state == SMALL else (threshold, None))
    target = hidden.index(index)
    objective = [0.0] * len(a_eq[0])
    results = []
    for sign in (1.0, -1.0):
        objective[target] = sign
        res = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=ranges, method="highs")
        if res.status == 3:  # unbounded above
            results.append(float("inf"))
        else:
            results.append(sign * res.fun)
    low, high = results
    return round(low), high if high == float("inf") else round(high)


def protect(cells: list[Cell], total: Cell, threshold: int, min_range: int = MIN_RANGE) -> None:
    """Mark small cells and enough complementary cells (see the module docstring). In place."""
    for cell in [*cells, total]:
        cell.state = SMALL if 1 <= cell.value < threshold else SHOWN
    if total.state == SMALL:
        return  # every non-zero cell is small and hidden; the total is unknown, so nothing adds up
    need = min(min_range, threshold - 2)
    while True:
        small = [i for i, c in enumerate(cells) if c.state == SMALL]
        weak = [i for i in small if (lambda lo_hi: lo_hi[1] - lo_hi[0])(bounds(cells, total, threshold, i)) < need]
        if not weak:
            return
        candidates = sorted((c for c in cells if c.state == SHOWN and c.value > 0), key=lambda c: c.value)
        if candidates:
            candidates[0].state = WITHHELD
        else:
            total.state = WITHHELD
            return


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_range(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * (q - 1) + 1, 1)
    end = dt.date(year + (q == 4), (3 * q) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def _median(values: list[int], threshold: int) -> float | None:
    return float(statistics.median(values)) if len(values) >= threshold else None


def build(session: Session, agency: Agency, threshold: int, on: dt.date | None = None) -> list[Quarter]:
    """Every finished quarter from the first complaint on, newest first."""
    on = on or today()
    complaints = session.scalars(select(Complaint).where(Complaint.agency_id == agency.id)).all()
    if not complaints:
        return []
    first = min(c.received_on for c in complaints)
    year, q = quarter_of(first)
    quarters: list[Quarter] = []
    while True:
        start, end = quarter_range(year, q)
        if end >= on:
            break
        quarters.append(_quarter(complaints, agency, threshold, year, q, start, end))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return list(reversed(quarters))


def _quarter(complaints, agency, threshold, year, q, start, end) -> Quarter:
    received = [c for c in complaints if start <= c.received_on <= end]
    closed = [c for c in complaints if c.closed_on and start <= c.closed_on <= end]
    quarter = Quarter(f"{year}-Q{q}", start, end)

    channels = [Cell(ch.value, sum(c.channel == ch for c in received)) for ch in Channel]
    by_channel = Table("received_by_channel", channels, Cell("total", len(received)))
    cats = [Cell(key, sum(key in (c.categories or []) for c in received)) for key in _category_keys()]
    # Protected against the sum of mentions (the stricter assumption); published total is N.
    by_category = Table("received_by_category", cats, Cell("total", sum(x.value for x in cats)), additive=False)
    dispositions = [Cell(d.value, sum(c.disposition == d for c in closed)) for d in Disposition]
    by_disposition = Table("closed_by_disposition", dispositions, Cell("total", len(closed)))
    for table in (by_channel, by_category, by_disposition):
        protect(table.cells, table.total, threshold)
    # The category table's shown total is the number of complaints, not the sum of mentions.
    by_category.total = Cell("total", by_channel.total.value, by_channel.total.state)
    quarter.tables = [by_channel, by_category, by_disposition]

    quarter.median_ack_days = _median(
        [(c.acknowledged_on - c.received_on).days for c in received if c.acknowledged_on], threshold
    )
    quarter.median_close_days = _median([(c.closed_on - c.received_on).days for c in closed], threshold)
    within = sum((c.closed_on - c.received_on).days <= agency.close_days for c in closed)
    late = len(closed) - within
    # A share is a count in disguise: publish it only when neither part is a small count.
    if len(closed) >= threshold and not 1 <= within < threshold and not 1 <= late < threshold:
        quarter.share_within_deadline = within / len(closed)
    return quarter


def _category_keys() -> list[str]:
    from .forms import CATEGORIES

    return [key for key, _label in CATEGORIES]


def to_csv(quarters: list[Quarter], threshold: int) -> str:
    """One row per published figure; a hidden count has an empty value and a note saying why."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["quarter", "table", "item", "value", "note"])
    small_note = f"fewer than {threshold}"
    for quarter in quarters:
        for table in quarter.tables:
            for cell in [*table.cells, table.total]:
                note = {SHOWN: "", SMALL: small_note, WITHHELD: "withheld to protect small counts"}[cell.state]
                writer.writerow([quarter.label, table.name, cell.key, "" if cell.published is None else cell.published, note])
        for item, value in (
            ("median_days_to_acknowledge", quarter.median_ack_days),
            ("median_days_to_close", quarter.median_close_days),
            ("share_closed_within_deadline", None if quarter.share_within_deadline is None else round(quarter.share_within_deadline, 3)),
        ):
            writer.writerow([quarter.label, "timeliness", item, "" if value is None else value,
                             "" if value is not None else f"withheld: fewer than {threshold} cases or a small count"])
    return out.getvalue()


def cell_text(cell: Cell, threshold: int) -> str:
    if cell.state == SMALL:
        return _("fewer than %(num)d", num=threshold)
    if cell.state == WITHHELD:
        return _("withheld")
    return str(cell.value)
