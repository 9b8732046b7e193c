"""Wave comparisons for the staff console and the public results page: the database side.

The respondent-level table comes from :func:`survey.export.build` (the export contract) and goes
to :mod:`analysis` unchanged; nothing here computes a statistic. Results are cached on disk under
``instance/cache/results/`` keyed by the wave ids, each wave's response count and last response
date, the population targets and the settings, so every app process shares the cache and a new
response (or a changed target) simply makes a new key. A miss recomputes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle  # nosec B403 - only our own files under instance/, written below
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from analysis.io import Codebook, codebook_from_dict, export_frame
from analysis.report import withhold_small_cells
from analysis.tables import GROUP_VARIABLES, WaveTables, wave_tables

from .. import export as export_module
from ..db import db
from ..instrument_store import definition_of
from ..models import Answer, PopulationTarget, Response, Wave, WaveMode

#: Bump when the cached objects change shape or meaning.
CACHE_VERSION = "results-2"  # 2: changes carry comparable, note, Satterthwaite df, adjusted intervals


class CompareError(ValueError):
    """The waves cannot be compared; the message (translated) says why and what to do."""


@dataclass
class Comparison:
    """What a comparison page needs: the analysis tables, the codebook and facts from the database."""

    tables: WaveTables
    codebook: Codebook
    waves: list[Wave]
    rates: dict[str, Any] = field(default_factory=dict)
    key: str = ""


def check_same_instrument(waves: Sequence[Wave]) -> None:
    keys = sorted({w.instrument_version.instrument.key for w in waves})
    if len(keys) > 1:
        raise CompareError(
            _("These waves use different questionnaires (%(keys)s). Choose waves of one questionnaire: "
              "their questions and scores are not the same, so they cannot be compared.", keys=", ".join(keys)))


def exclusions(waves: Sequence[Wave]) -> dict[str, str]:
    """Items (and indexes) whose key is missing from a wave's questionnaire version, or whose
    wording or scale differs between the versions, with the reason in words."""
    definitions = {w.slug: definition_of(w.instrument_version) for w in waves}
    out: dict[str, str] = {}
    keys = list(dict.fromkeys(k for d in definitions.values() for k in d.items))
    for key in keys:
        missing = [f"{slug} (v{d.version})" for slug, d in definitions.items() if key not in d.items]
        present = [(slug, d.version, d.items[key]) for slug, d in definitions.items() if key in d.items]
        reason = None
        if missing:
            reason = _("not asked in %(waves)s: that questionnaire version has no such question", waves=", ".join(missing))
        else:
            first = present[0][2]
            for _slug, version, item in present[1:]:
                if item.text.get("en") != first.text.get("en") or item.type != first.type or item.codes() != first.codes():
                    reason = _("the wording or answer scale changed between versions %(a)s and %(b)s",
                               a=present[0][1], b=version)
                    break
        if reason:
            item = (present[0][2] if present else None)
            if item is not None and item.type == "multi":
                for option in item.options:
                    out[f"{key}__{option.code}"] = reason
            out[key] = reason
    for d in definitions.values():
        for index in d.indexes:
            bad = [m.key for m in index.items if m.key in out]
            if bad:
                out[index.key] = _("uses %(items)s, which cannot be compared", items=", ".join(bad))
    return out


def _fingerprint(waves: Sequence[Wave], extra: dict[str, Any]) -> str:
    ids = [w.id for w in waves]
    # Responses per wave and stratum with the last date, and answers per wave: any new, removed
    # or corrected response changes the key.
    counts: dict[int, list[Any]] = {}
    for wid, stratum, n, last in db.session.execute(
        select(Response.wave_id, Response.stratum, func.count(), func.max(Response.submitted_on))
        .where(Response.wave_id.in_(ids)).group_by(Response.wave_id, Response.stratum)
        .order_by(Response.wave_id, Response.stratum)
    ).all():
        counts.setdefault(wid, []).append([str(stratum), int(n), str(last)])
    for wid, n in db.session.execute(
        select(Response.wave_id, func.count(Answer.item_key)).join(Answer, Answer.response_id == Response.id)
        .where(Response.wave_id.in_(ids)).group_by(Response.wave_id)
    ).all():
        counts.setdefault(wid, []).append(["answers", int(n)])
    targets = db.session.execute(
        select(PopulationTarget.variable, PopulationTarget.category, PopulationTarget.stratum, PopulationTarget.population)
        .where(PopulationTarget.agency_id == waves[0].agency_id)
        .order_by(PopulationTarget.variable, PopulationTarget.category, PopulationTarget.stratum)
    ).all()
    payload = {
        "v": CACHE_VERSION,
        "waves": [(w.id, w.slug, w.instrument_version.content_hash, counts.get(w.id, [])) for w in waves],
        "targets": [list(map(str, t)) for t in targets],
        **extra,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def cache_dir() -> Path:
    path = Path(current_app.config.get("RESULTS_CACHE_DIR") or Path(current_app.instance_path) / "cache" / "results")
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached(name: str, compute: Callable[[], Any], *, binary: bool = True) -> Any:
    """Read ``name`` from the cache folder or compute and write it (atomically: other processes
    see the old file or the new one, never half of one)."""
    path = cache_dir() / name
    if path.exists():
        try:
            if binary:
                with path.open("rb") as fh:
                    return pickle.load(fh)  # noqa: S301  # nosec B301 - our own file, see cached()
            return path.read_text(encoding="utf-8")
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            pass  # unreadable or from older code: recompute
    value = compute()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as fh:
            if binary:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            else:
                fh.write(value)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
    return value


def export_table(waves: Sequence[Wave]) -> tuple[pd.DataFrame, Codebook]:
    """The export of these waves as the typed frame :func:`analysis.io.read_export` would give."""
    result = export_module.build(list(waves))
    frame = pd.DataFrame(result.rows, columns=result.columns, dtype=object)
    frame = frame.map(lambda v: None if v is None else (repr(v) if isinstance(v, float) else str(v)))
    return export_frame(frame, codebook_from_dict(result.codebook, "export"), "export")


def response_rates(waves: Sequence[Wave]) -> dict[str, Any]:
    """RR1 and RR2 per invitation wave, from the staff console's response-rate code."""
    from ..rates import invitation_rates

    out = {}
    for w in waves:
        if w.mode == WaveMode.INVITATION:
            total, _strata = invitation_rates(w)
            out[w.slug] = {"invited": total.invited, "completes": total.completes, "eligible": total.eligible,
                           "rr1": total.rr1, "rr2": total.rr2}
    return out


def compare(waves: Sequence[Wave], *, breakdowns: Sequence[str] = GROUP_VARIABLES, min_n: int = 10) -> Comparison:
    """The comparison tables of these waves (any number >= 1), from the cache when it has them."""
    if not waves:
        raise CompareError(_("Choose at least one wave."))
    check_same_instrument(waves)
    waves = sorted(waves, key=lambda w: (w.opens_on, w.slug))
    key = _fingerprint(waves, {"breakdowns": list(breakdowns), "min_n": min_n, "withheld": True})

    def compute() -> tuple[WaveTables, dict[str, Any]]:
        frame, codebook = export_table(waves)
        if frame.empty:
            raise CompareError(_("These waves have no responses yet."))
        try:
            tables = wave_tables(frame, codebook, breakdowns=breakdowns, min_n=min_n, exclude=exclusions(waves))
        except ValueError as exc:
            raise CompareError(str(exc)) from None
        # Every page, chart and table made from these tables withholds estimates from fewer than min_n.
        return withhold_small_cells(tables), codebook.raw

    tables, raw = cached(f"{key}.pickle", compute)
    return Comparison(tables, codebook_from_dict(raw, "export"), list(waves), response_rates(waves), key)


def translation_status(waves: Sequence[Wave]) -> dict[str, str]:
    """Review status of each questionnaire language (draft, reviewed, approved), newest version."""
    newest = max(waves, key=lambda w: w.instrument_version.version)
    return dict(newest.instrument_version.language_status())
