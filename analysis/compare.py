"""Wave-over-wave changes and trends of every index and item, as ``python -m analysis compare`` prints them.

A view of :func:`analysis.tables.wave_tables`, the one engine behind the report, the staff
console and the public results: the same changes (Satterthwaite df, see
:func:`analysis.changes.wave_change`), the same trend (:func:`analysis.changes.linear_trend`) and
the same Holm and Benjamini-Hochberg families, with a plain sentence per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .changes import holm_bh
from .io import Codebook
from .tables import describe_change, wave_tables

__all__ = ["compare_waves", "adjust_pvalues"]


def adjust_pvalues(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Holm and Benjamini-Hochberg adjusted p-values: :func:`analysis.changes.holm_bh`."""
    return holm_bh(p)


def _label(codebook: Codebook, row: dict) -> str:
    label = codebook.label(str(row["measure"]))
    cat = row.get("category")
    if isinstance(cat, str) and cat:
        names = {str(v["code"]): (v.get("label") or {}).get("en", str(v["code"]))
                 for v in codebook.variables.get(str(row["measure"]), {}).get("values", []) or []}
        label = f"{label}: share answering {names.get(cat, cat)!r}"
    dom = row.get("domain")
    if isinstance(dom, str) and dom != "":
        label = f"{label} ({row['by']} {dom})"
    return label


def compare_waves(
    frame: pd.DataFrame,
    codebook: Codebook,
    *,
    by: str | None = None,
    rake: bool | None = None,
    level: float = 0.95,
    min_n: int = 10,
    alpha: float = 0.05,
    progress: bool = True,
    max_iter: int = 100,
) -> pd.DataFrame:
    """Every index and item, each wave against the one before (overall and by ``by``), plus trends.

    Parameters
    ----------
    frame, codebook
        An export as :func:`analysis.io.read_export` reads it.
    by : str, optional
        A column to break every comparison down by (e.g. ``"district"``).
    rake : bool, optional
        Rake each wave to the codebook's population targets; None (default) rakes when the
        codebook has targets, as the report and the console do.
    level : float
        Confidence level of the intervals.
    min_n : int
        A change whose smaller wave has fewer respondents than this is reported as too few to
        compare and left out of the adjustment.
    alpha : float
        Holm-adjusted p below this is called detectable.
    progress : bool
        Show progress on standard error.
    max_iter : int
        Raking sweeps per wave before giving up.

    Returns
    -------
    pandas.DataFrame
        The ``changes`` of :class:`analysis.tables.WaveTables` (``comparison`` "step" for wave
        against wave, "trend" for the trend) with ``label`` and a ``verdict`` sentence.

    Notes
    -----
    With two waves the one change is the step between them. Holm and BH run within the
    report's families (comparison type x breakdown x indexes or items), so the p-values here
    are the report's and the console's.
    """
    waves = [w for w in codebook.wave_order if (frame["wave"] == w).any()]
    if len(waves) < 2:
        raise ValueError(f"comparisons need at least two waves with responses; found {waves}")
    tables = wave_tables(frame, codebook, breakdowns=[by] if by else [], rake=rake, level=level, min_n=min_n,
                         alpha=alpha, progress=progress, max_iter=max_iter)
    if by is not None and by not in tables.breakdowns:
        raise ValueError(f"--by column {by!r} is not in the export or nobody answered it")
    ch = tables.changes
    ch = ch.assign(comparison="step") if len(waves) == 2 else ch[ch["comparison"] != "first_last"]
    ch = ch.reset_index(drop=True)
    records = ch.to_dict(orient="records")
    ch["label"] = [_label(codebook, r) for r in records]
    ch["verdict"] = [
        describe_change(r, lab, level=level, alpha=alpha) for r, lab in zip(records, ch["label"], strict=True)]
    return ch
