"""Wave comparisons for the staff console and the public results page: the database side.

The respondent-level table comes from :func:`survey.export.build` (the export contract) and goes
to :mod:`analysis` unchanged; nothing here computes a statistic.

Results are cached on disk under ``instance/cache/results/`` (shared by every app process) in
three layers, so that a comparison costs only what changed since the last one:

- a wave's export rows, keyed by response, updated in place when responses arrive;
- a wave's own tables (:func:`analysis.tables.wave_tables` on that wave alone), keyed by the
  wave, its number of responses, the
  population targets and the questionnaire version. Waves are independent designs, so a closed
  wave's tables are computed once and reused by every comparison that includes it;
- the comparison itself (:func:`analysis.tables.combine_wave_tables`), keyed by its waves' keys.

A new response therefore recomputes one wave and the (cheap) combination; a changed target
recomputes everything. The comparison last read is also kept in the process's memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle  # nosec B403 - only our own files under instance/, written below
import tempfile
from collections import OrderedDict
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
from analysis.tables import GROUP_VARIABLES, WaveTables, combine_wave_tables, wave_tables

from .. import export as export_module
from ..db import db
from ..instrument_store import definition_of
from ..models import PopulationTarget, Response, Wave, WaveMode

#: Bump when the cached objects change shape or meaning.
# 3: changes carry comparable, note, Satterthwaite df, adjusted intervals; small cells withheld
CACHE_VERSION = "results-3"
#: More new responses than this since the rows were cached: rebuild the wave's rows at once.
INCREMENTAL_LIMIT = 500
#: Comparisons kept in each process's memory (each is a few megabytes at 12 waves).
MEMORY_ITEMS = 8


class CompareError(ValueError):
    """The waves cannot be compared; the message (translated) says why and what to do."""


@dataclass
class Comparison:
    """What a comparison page needs: the analysis tables, the codebook and facts from the database
    (the response rates are counted when a page first asks for them)."""

    tables: WaveTables
    codebook: Codebook
    waves: list[Wave]
    key: str = ""
    _rates: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def rates(self) -> dict[str, Any]:
        """RR1 and RR2 of every wave (counted now: invitations change as letters come back)."""
        if self._rates is None:
            self._rates = response_rates(self.waves)
        return self._rates

    def latest_rates(self) -> dict[str, Any]:
        """The last wave's response rates alone (what the public page shows)."""
        return response_rates(self.waves[-1:]).get(self.waves[-1].slug, {})


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
    from ..context import fill, locale_code

    language = locale_code()
    for d in definitions.values():
        for index in d.indexes:
            # The questions by their words in the staff member's language, never by their keys.
            bad = [fill(d.items[m.key].text.get(language) or d.items[m.key].text.get("en") or m.key)
                   if m.key in d.items else m.key for m in index.items if m.key in out]
            if bad:
                out[index.key] = _("uses %(items)s, which cannot be compared",
                                   items="; ".join(f"“{text}”" for text in bad))
    return out


def _key(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _signatures(waves: Sequence[Wave]) -> dict[int, list[Any]]:
    """Per wave: how many responses it has (read from the wave index alone), so that any new
    response changes it. A response and its answers are written once, in one transaction, and
    nothing in the platform changes or deletes one afterwards, so the count says all."""
    ids = [w.id for w in waves]
    sigs: dict[int, list[Any]] = {w.id: [0] for w in waves}
    for wid, n in db.session.execute(
        select(Response.wave_id, func.count()).where(Response.wave_id.in_(ids)).group_by(Response.wave_id)
    ).all():
        sigs[wid] = [int(n)]
    return sigs


def _targets_key(agency_id: int) -> str:
    targets = db.session.execute(
        select(PopulationTarget.variable, PopulationTarget.category, PopulationTarget.stratum, PopulationTarget.population)
        .where(PopulationTarget.agency_id == agency_id)
        .order_by(PopulationTarget.variable, PopulationTarget.category, PopulationTarget.stratum)
    ).all()
    return _key([list(map(str, t)) for t in targets])


def cache_dir() -> Path:
    path = Path(current_app.config.get("RESULTS_CACHE_DIR") or Path(current_app.instance_path) / "cache" / "results")
    path.mkdir(parents=True, exist_ok=True)
    return path


_MEMORY: OrderedDict[str, Any] = OrderedDict()


def _read(path: Path, binary: bool) -> Any:
    try:
        if binary:
            with path.open("rb") as fh:
                return pickle.load(fh)  # noqa: S301  # nosec B301 - our own file, see cached()
        return path.read_text(encoding="utf-8")
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return None  # missing, unreadable or from older code: recompute


def _write(path: Path, value: Any, binary: bool) -> None:
    """Write atomically: other processes see the old file or the new one, never half of one."""
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


def cached(name: str, compute: Callable[[], Any], *, binary: bool = True, memory: bool = False) -> Any:
    """Read ``name`` from the cache folder (or, with ``memory``, this process's memory) or
    compute and write it. Names carry their content's key, so an entry never goes stale."""
    if memory and name in _MEMORY:
        _MEMORY.move_to_end(name)
        return _MEMORY[name]
    path = cache_dir() / name
    value = _read(path, binary) if path.exists() else None
    if value is None:
        value = compute()
        _write(path, value, binary)
    if memory:
        _MEMORY[name] = value
        while len(_MEMORY) > MEMORY_ITEMS:
            _MEMORY.popitem(last=False)
    return value


def export_table(waves: Sequence[Wave]) -> tuple[pd.DataFrame, Codebook]:
    """The export of these waves as the typed frame :func:`analysis.io.read_export` would give."""
    result = export_module.build(list(waves))
    return _typed(result.columns, result.rows, result.codebook)


def _typed(columns: list[str], rows: list[list[Any]], raw: dict[str, Any]) -> tuple[pd.DataFrame, Codebook]:
    """The frame :func:`analysis.io.read_export` would read from this export's CSV: text columns
    as strings; number columns go to :func:`analysis.io.export_frame` as the numbers they are."""
    return _typed_frame(pd.DataFrame(rows, columns=columns, dtype=object), raw)


def _typed_frame(frame: pd.DataFrame, raw: dict[str, Any]) -> tuple[pd.DataFrame, Codebook]:
    numbers = {"base_weight"} | {name for name, var in raw_variables(raw).items()
                                 if var.get("kind") in ("item", "multi_option") and var.get("type") not in ("text", "string")}
    for name in frame.columns:
        if name not in numbers:
            frame[name] = frame[name].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return export_frame(frame, codebook_from_dict(raw, "export"), "export")


def raw_variables(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in raw.get("variables", [])}


def _wave_rows(wave: Wave, signature: list[Any]) -> dict[str, Any]:
    """The wave's export rows ({"columns", "rows" by response, "sig"}), from the cache when its
    signature still matches; new responses are added and removed ones dropped without rebuilding."""
    path = cache_dir() / f"rows-{wave.id}-{wave.instrument_version.content_hash[:16]}-{CACHE_VERSION}.pickle"
    stored = _read(path, True) if path.exists() else None
    if stored is not None and stored["sig"] == signature:
        return stored
    if stored is not None:
        ids = {export_module.export_id(rid): rid for rid in db.session.scalars(select(Response.id).where(Response.wave_id == wave.id))}
        have = stored["rows"]
        new = [rid for eid, rid in ids.items() if eid not in have]
        if not new and len(ids) == len(have):  # the same responses (the signature's form changed)
            value = {**stored, "sig": signature}
            _write(path, value, True)
            return value
        if new and len(new) <= INCREMENTAL_LIMIT:
            added = export_module.build([wave], response_ids=new)
            if added.columns == stored["columns"]:
                rows = {eid: row for eid, row in have.items() if eid in ids}
                rows.update((row[0], row) for row in added.rows)
                value = {"columns": stored["columns"], "rows": rows, "sig": signature}
                _write(path, value, True)
                return value
    full = export_module.build([wave])
    value = {"columns": full.columns, "rows": {row[0]: row for row in full.rows}, "sig": signature}
    _write(path, value, True)
    return value


def _codebook(waves: Sequence[Wave], targets: str) -> dict[str, Any]:
    """The export's codebook of these waves (labels in every language take a while to gather)."""
    key = _key([CACHE_VERSION, targets, [(w.id, w.slug, w.title, w.opens_on, w.last_day(), str(w.mode),
                                          w.instrument_version.content_hash, sorted((s.name, s.population) for s in w.strata))
                                         for w in waves]])
    return cached(f"codebook-{key}.pickle", lambda: export_module.build(waves, response_ids=()).codebook, memory=True)


def _wave_part(wave: Wave, signature: list[Any]) -> WaveTables | None:
    """The wave's own tables, every breakdown (None: no responses yet)."""
    stored = _wave_rows(wave, signature)
    if not stored["rows"]:
        return None
    raw = _codebook([wave], _targets_key(wave.agency_id))
    frame, codebook = _typed(stored["columns"], list(stored["rows"].values()), raw)
    try:
        return wave_tables(frame, codebook, waves=[wave.slug], breakdowns=GROUP_VARIABLES)
    except ValueError as exc:
        raise CompareError(str(exc)) from None


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


def _part_keys(waves: Sequence[Wave]) -> tuple[dict[int, str], dict[int, list[Any]]]:
    sigs = _signatures(waves)
    targets = _targets_key(waves[0].agency_id)
    keys = {w.id: _key([CACHE_VERSION, w.id, w.slug, w.instrument_version.content_hash, sigs[w.id], targets])
            for w in waves}
    return keys, sigs


def wave_key(wave: Wave, extra: Any) -> str:
    """A cache key that changes whenever the wave's responses, questionnaire or targets do, with
    ``extra`` (anything JSON can write) for what else the cached value depends on."""
    keys, _sigs = _part_keys([wave])
    return _key([keys[wave.id], extra])


def _parts(waves: Sequence[Wave], keys: dict[int, str], sigs: dict[int, list[Any]]) -> list[WaveTables]:
    parts = [cached(f"wave-{keys[w.id]}.pickle", lambda w=w: _wave_part(w, sigs[w.id])) for w in waves]
    return [p for p in parts if p is not None]


def wave_parts(waves: Sequence[Wave]) -> dict[int, WaveTables]:
    """Each wave's own tables by wave id (waves without responses left out), from the cache. The
    waves may belong to several agencies: each is keyed with its own agency's population targets,
    so the caches of two agencies never mix."""
    by_agency: dict[int, list[Wave]] = {}
    for w in waves:
        by_agency.setdefault(w.agency_id, []).append(w)
    out: dict[int, WaveTables] = {}
    for group in by_agency.values():
        keys, sigs = _part_keys(group)
        for w in group:
            part = cached(f"wave-{keys[w.id]}.pickle", lambda w=w, sig=sigs[w.id]: _wave_part(w, sig))
            if part is not None:
                out[w.id] = part
    return out


def codebook_of(waves: Sequence[Wave]) -> dict[str, Any]:
    """The export's codebook of these waves (of one agency), from the cache."""
    return _codebook(waves, _targets_key(waves[0].agency_id))


def compare(waves: Sequence[Wave], *, breakdowns: Sequence[str] = GROUP_VARIABLES, min_n: int = 10) -> Comparison:
    """The comparison tables of these waves (any number >= 1), from the cache when it has them."""
    if not waves:
        raise CompareError(_("Choose at least one wave."))
    check_same_instrument(waves)
    waves = sorted(waves, key=lambda w: (w.opens_on, w.slug))
    part_keys, sigs = _part_keys(waves)
    exclude = exclusions(waves)
    key = _key([CACHE_VERSION, [part_keys[w.id] for w in waves], list(breakdowns), min_n, exclude, "withheld"])

    def compute() -> tuple[WaveTables, dict[str, Any]]:
        parts = _parts(waves, part_keys, sigs)
        if not parts:
            raise CompareError(_("These waves have no responses yet."))
        raw = _codebook(waves, _targets_key(waves[0].agency_id))
        try:
            tables = combine_wave_tables(parts, codebook_from_dict(raw, "export"), breakdowns=breakdowns,
                                         exclude=exclude, min_n=min_n)
        except ValueError as exc:
            raise CompareError(str(exc)) from None
        # Every page, chart and table made from these tables withholds estimates from fewer than min_n.
        return withhold_small_cells(tables), raw

    tables, raw = cached(f"compare-{key}.pickle", compute, memory=True)
    return Comparison(tables, codebook_from_dict(raw, "export"), list(waves), key)


def report_zip(waves: Sequence[Wave], *, min_n: int, title: str, language: str) -> bytes:
    """The HTML report (charts embedded) and its CSV tables as one zip, made from the cached rows
    of each wave and kept in the cache under the waves' keys (so a second download is immediate)."""
    import io
    import zipfile

    from analysis.report import write_report

    check_same_instrument(waves)
    waves = sorted(waves, key=lambda w: (w.opens_on, w.slug))
    keys, sigs = _part_keys(waves)
    targets = _targets_key(waves[0].agency_id)
    key = _key([CACHE_VERSION, "report", [keys[w.id] for w in waves], min_n, title, language])

    def make() -> bytes:
        raw = _codebook(waves, targets)
        columns = [v["name"] for v in raw["variables"]]
        pieces = []
        for w in waves:
            stored = _wave_rows(w, sigs[w.id])
            pieces.append(pd.DataFrame(list(stored["rows"].values()), columns=stored["columns"], dtype=object)
                          .reindex(columns=columns))
        frame, codebook = _typed_frame(pd.concat(pieces, ignore_index=True).astype(object).where(lambda f: f.notna(), None), raw)
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as tmp:
            try:
                write_report(frame, codebook, tmp, rates=response_rates(waves), translation_status=translation_status(waves),
                             exclude=exclusions(waves), title=title, min_n=min_n)
            except ValueError as exc:
                raise CompareError(str(exc)) from None
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(Path(tmp).rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(tmp).as_posix())
        return buffer.getvalue()

    return cached(f"report-{key}.pickle", make)


def warm(waves: Sequence[Wave]) -> tuple[int, list[tuple[Wave, str]]]:
    """Compute and keep every wave's own tables (after loading data, or from a nightly job), so
    that the first comparison of any of them only puts them together. Returns how many waves
    were cached, and each wave that cannot be weighted with the reason (its pages say the same)."""
    done, failed = 0, []
    for wave in waves:
        try:
            done += len(wave_parts([wave]))
        except CompareError as exc:
            failed.append((wave, str(exc)))
    return done, failed


def forget() -> int:
    """Empty the results cache (after responses were changed outside the platform, say)."""
    _MEMORY.clear()
    removed = 0
    for path in cache_dir().glob("*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def translation_status(waves: Sequence[Wave]) -> dict[str, str]:
    """Review status of each questionnaire language (draft, reviewed, approved), newest version."""
    newest = max(waves, key=lambda w: w.instrument_version.version)
    return dict(newest.instrument_version.language_status())
