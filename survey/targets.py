"""Population targets (census margins) for weighting: read and check a CSV row by row, and store it.

Used by the staff console's targets page and by the campaign console when it creates an agency.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .db import db
from .instrument_store import definition_of
from .instruments import InstrumentDef
from .models import Instrument, InstrumentVersion, PopulationTarget


def read_upload(upload: Any, pasted: str | None) -> tuple[str, str | None]:
    """The CSV text of an uploaded file (else of the pasted text), and a problem with it or None."""
    text = pasted or ""
    if upload:
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return "", _("The file is not UTF-8 text. Save it as CSV UTF-8 and try again")
    if not text.strip():
        return "", _("Choose a CSV file or paste the CSV")
    return text, None


HEADER = ["variable", "category", "stratum", "population"]
RACE_GROUPS = ["hispanic", "white", "black", "asian", "other"]
TOLERANCE = 0.01


@dataclass(frozen=True)
class TargetRow:
    line: int
    variable: str
    category: str
    stratum: str | None
    population: float


def known_categories(agency_id: int, districts: list[str]) -> dict[str, list[str]]:
    """Weighting variables of the agency's instruments with their categories, plus ``district``
    (with ``districts`` as its categories)."""
    versions = db.session.scalars(
        select(InstrumentVersion).join(Instrument).where(Instrument.agency_id == agency_id)
    ).all()
    return weighting_categories([definition_of(version) for version in versions], districts)


def weighting_categories(definitions: Iterable[InstrumentDef], districts: list[str]) -> dict[str, list[str]]:
    """Weighting variables of these questionnaires with their categories, plus ``district``."""
    variables: dict[str, list[str]] = {}
    for definition in definitions:
        for item in definition.weighting_items():
            if item.weighting == "race_eth":
                variables["race_eth"] = list(RACE_GROUPS)
            else:
                codes = variables.setdefault(item.weighting, [])
                for option in item.options:
                    if not option.missing and str(option.code) not in codes:
                        codes.append(str(option.code))
    variables["district"] = list(districts)
    return variables


def parse_targets(text: str, categories: dict[str, list[str]], strata: list[str]) -> tuple[list[TargetRow], list[str]]:
    """Read and check the CSV; return the rows and a list of problems, each naming its row."""
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        return [], [_("Row 1: the first row must be the header variable,category,stratum,population")]
    rows: list[TargetRow] = []
    seen: dict[tuple[str, str, str | None], int] = {}
    for line, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != 4:
            problems.append(_("Row %(row)d: expected 4 values (variable, category, stratum, population) but found %(n)d", row=line, n=len(record)))
            continue
        variable, category, stratum, population = (cell.strip() for cell in record)
        if variable not in categories:
            problems.append(_("Row %(row)d: unknown variable %(variable)s; use one of %(known)s", row=line, variable=variable or '""', known=", ".join(sorted(categories))))
            continue
        if category not in categories[variable]:
            allowed = ", ".join(categories[variable]) or _("(none yet: create a wave with districts first)")
            problems.append(_("Row %(row)d: %(variable)s has no category %(category)s; use one of %(known)s", row=line, variable=variable, category=category or '""', known=allowed))
            continue
        if stratum and stratum not in strata:
            problems.append(_("Row %(row)d: unknown stratum %(stratum)s; leave it empty for the whole area or use one of %(known)s", row=line, stratum=stratum, known=", ".join(strata) or "-"))
            continue
        try:
            value = float(population.replace(",", "").replace("_", ""))
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            problems.append(_("Row %(row)d: the population %(value)s is not a number of 0 or more", row=line, value=population or '""'))
            continue
        key = (variable, category, stratum or None)
        if key in seen:
            problems.append(_("Row %(row)d: %(variable)s %(category)s is already given in row %(first)d", row=line, variable=variable, category=category, first=seen[key]))
            continue
        seen[key] = line
        rows.append(TargetRow(line, variable, category, stratum or None, value))
    if not rows and not problems:
        problems.append(_("The file has a header but no rows of targets"))
    if problems:
        return rows, problems
    # Every variable's categories must add up to the same population (within 1%) in each stratum.
    totals: dict[str | None, dict[str, list[TargetRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        totals[row.stratum][row.variable].append(row)
    for stratum, by_variable in totals.items():
        if len(by_variable) < 2:
            continue
        sums = {v: sum(r.population for r in rs) for v, rs in by_variable.items()}
        reference = max(sums, key=lambda v: len(by_variable[v]))
        for variable, total in sums.items():
            ref_total = sums[reference]
            if variable != reference and abs(total - ref_total) > TOLERANCE * max(ref_total, total):
                lines = [r.line for r in by_variable[variable]]
                ref_lines = [r.line for r in by_variable[reference]]
                values = {
                    "first": min(lines), "last": max(lines), "variable": variable, "total": f"{total:,.0f}",
                    "rfirst": min(ref_lines), "rlast": max(ref_lines), "reference": reference,
                    "rtotal": f"{ref_total:,.0f}", "stratum": stratum,
                }
                if stratum:
                    problems.append(_("Rows %(first)d to %(last)d (%(variable)s) add up to %(total)s in stratum %(stratum)s, but rows %(rfirst)d to %(rlast)d (%(reference)s) add up to %(rtotal)s: the totals of every variable must agree within 1%%", **values))
                else:
                    problems.append(_("Rows %(first)d to %(last)d (%(variable)s) add up to %(total)s, but rows %(rfirst)d to %(rlast)d (%(reference)s) add up to %(rtotal)s: the totals of every variable must agree within 1%%", **values))
    return rows, problems


def replace_targets(agency_id: int, rows: list[TargetRow], source: str | None) -> None:
    db.session.execute(delete(PopulationTarget).where(PopulationTarget.agency_id == agency_id))
    for row in rows:
        db.session.add(
            PopulationTarget(agency_id=agency_id, variable=row.variable, category=row.category,
                             stratum=row.stratum, population=row.population, source=source or None)
        )
