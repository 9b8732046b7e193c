"""Reading the platform's export (CSV + codebook JSON) and the CLI's CSV inputs.

Category values stay strings exactly as written (leading zeros kept); item columns are
converted to numbers with the codebook's missing codes set to NaN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Codebook",
    "codebook_from_dict",
    "export_frame",
    "read_codebook",
    "read_export",
    "read_strings",
    "read_targets",
    "to_numeric",
]

EXPORT_FORMAT = "community-trust-export/1"


@dataclass(frozen=True)
class Codebook:
    """The export's codebook: variables, indexes, waves (in order) and population targets."""

    raw: dict[str, Any]
    variables: dict[str, dict[str, Any]]
    indexes: list[dict[str, Any]]
    waves: list[dict[str, Any]]
    targets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wave_order(self) -> list[str]:
        return [w["slug"] for w in self.waves]

    def label(self, name: str, language: str = "en") -> str:
        """The label of a variable or index in ``language`` (English, then the key, as fallback)."""
        for ix in self.indexes:
            if ix["key"] == name:
                lab = ix.get("label") or {}
                return lab.get(language) or lab.get("en") or name
        var = self.variables.get(name, {})
        lab = var.get("label") or {}
        return lab.get(language) or lab.get("en") or name

    def missing_codes(self, name: str) -> list[float]:
        return [float(c) for c in self.variables.get(name, {}).get("missing_codes", []) or []]

    def items(self) -> list[str]:
        return [n for n, v in self.variables.items() if v.get("kind") in ("item", "multi_option")]

    def target_margins(self) -> dict[str, dict[str, float]]:
        """Targets without a stratum as ``{variable: {category: population}}`` (categories as strings)."""
        out: dict[str, dict[str, float]] = {}
        for t in self.targets:
            if t.get("stratum") not in (None, ""):
                continue
            out.setdefault(str(t["variable"]), {})[str(t["category"])] = float(t["population"])
        return out


def read_codebook(path: str | Path) -> Codebook:
    """Read and check a codebook JSON file."""
    return codebook_from_dict(json.loads(Path(path).read_text(encoding="utf-8")), str(path))


def codebook_from_dict(raw: dict[str, Any], path: str = "codebook") -> Codebook:
    """Check a codebook already parsed from JSON (e.g. built in memory by the platform)."""
    fmt = raw.get("format")
    if fmt != EXPORT_FORMAT:
        raise ValueError(f"codebook {path}: format is {fmt!r}, expected {EXPORT_FORMAT!r}")
    variables = {}
    for v in raw.get("variables", []):
        if "name" not in v:
            raise ValueError(f"codebook {path}: a variable has no 'name'")
        variables[v["name"]] = v
    waves = sorted(raw.get("waves", []), key=lambda w: (w.get("order", 0), w.get("opens", ""), w["slug"]))
    return Codebook(raw, variables, list(raw.get("indexes", [])), waves, list(raw.get("targets", []) or []))


def read_strings(path: str | Path) -> pd.DataFrame:
    """Read a CSV keeping every cell as a string; empty cells become missing (None)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
    frame = frame.astype(object)
    return frame.where(frame != "", None)


def to_numeric(values: Any, name: str, missing_codes: list[float] | None = None) -> np.ndarray:
    """Numbers from strings (empty = NaN); codes in ``missing_codes`` become NaN too."""
    s = pd.Series(values, dtype=object)
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    bad = np.isnan(num) & s.notna().to_numpy()
    if bad.any():  # only cells that did not parse need the (slow) text check
        bad[bad] = (s[bad].astype(str).str.upper() != "NA").to_numpy()
    if bad.any():
        examples = sorted(set(s[bad].astype(str)))[:5]
        raise ValueError(f"column {name!r} has values that are not numbers: {examples}")
    if missing_codes:
        num[np.isin(num, np.asarray(missing_codes, dtype=np.float64))] = np.nan
    return num


def read_export(csv_path: str | Path, codebook_path: str | Path) -> tuple[pd.DataFrame, Codebook]:
    """Read an export: item and multi-option columns become floats (missing codes NaN),
    ``base_weight`` a float (empty = NaN, e.g. open-link responses), everything else strings.
    """
    return export_frame(read_strings(csv_path), read_codebook(codebook_path), str(csv_path))


def export_frame(frame: pd.DataFrame, cb: Codebook, source: str = "export") -> tuple[pd.DataFrame, Codebook]:
    """Type an export table whose cells are strings or None (as :func:`read_strings` gives)."""
    csv_path = source
    for col in ("response_id", "wave"):
        if col not in frame.columns:
            raise ValueError(f"export {csv_path} has no {col!r} column: is it a community-trust export?")
    unknown = sorted(set(frame["wave"].dropna()) - set(cb.wave_order))
    if unknown:
        raise ValueError(f"export has waves {unknown} that the codebook does not list")
    for name, var in cb.variables.items():
        if name not in frame.columns:
            continue
        if var.get("kind") in ("item", "multi_option") and var.get("type") not in ("text", "string"):
            frame[name] = to_numeric(frame[name], name, cb.missing_codes(name))
        elif var.get("kind") == "weighting" and cb.missing_codes(name):
            # Weighting variables stay categorical strings, but "Prefer not to say" and other
            # missing codes are missing for weighting too (never a category of their own).
            missing = {f"{c:g}" for c in cb.missing_codes(name)}
            frame[name] = frame[name].where(~frame[name].isin(missing))
    if "base_weight" in frame.columns:
        frame["base_weight"] = to_numeric(frame["base_weight"], "base_weight")
    return frame, cb


def read_targets(path: str | Path) -> dict[str, dict[str, float]]:
    """Read ``variable,category,population`` rows into ``{variable: {category: population}}``."""
    t = read_strings(path)
    need = {"variable", "category", "population"}
    if not need <= set(t.columns):
        raise ValueError(f"targets file {path} needs the columns variable,category,population; has {list(t.columns)}")
    out: dict[str, dict[str, float]] = {}
    for row in t.itertuples(index=False):
        var, cat, pop = row.variable, row.category, row.population
        if var is None or cat is None or pop is None:
            raise ValueError(f"targets file {path}: a row has an empty variable, category or population")
        try:
            value = float(pop)
        except ValueError:
            raise ValueError(f"targets file {path}: population {pop!r} for {var}={cat} is not a number") from None
        cats = out.setdefault(str(var), {})
        if str(cat) in cats:
            raise ValueError(f"targets file {path}: {var}={cat} appears twice")
        cats[str(cat)] = value
    return out
