"""Scoring the instrument's indexes (0-100) and their reliability (Cronbach's alpha)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["score_index", "score_indexes", "cronbach_alpha", "index_reliability", "rescaled"]


def _item_spec(item: Mapping[str, Any]) -> tuple[str, float, float, bool]:
    try:
        key, lo, hi = str(item["key"]), float(item["min"]), float(item["max"])
    except KeyError as exc:
        raise ValueError(f"index item {item!r} needs 'key', 'min' and 'max'") from exc
    if not hi > lo:
        raise ValueError(f"index item {key!r}: max ({hi}) must be above min ({lo})")
    return key, lo, hi, bool(item.get("reverse", False))


def rescaled(data: pd.DataFrame, item: Mapping[str, Any]) -> np.ndarray:
    """One item on 0-100: :math:`100(x-\\min)/(\\max-\\min)`, or 100 minus that when reversed."""
    key, lo, hi, rev = _item_spec(item)
    if key not in data.columns:
        raise ValueError(f"index item {key!r} is not a column of the data")
    x = pd.to_numeric(data[key], errors="coerce").to_numpy(dtype=np.float64)
    out_of_range = ~np.isnan(x) & ((x < lo) | (x > hi))
    if out_of_range.any():
        raise ValueError(
            f"item {key!r} has values outside {lo:g}..{hi:g} (e.g. {x[out_of_range][:3].tolist()}): "
            "set missing codes to NaN before scoring"
        )
    s = (x - lo) / (hi - lo) * 100.0
    return 100.0 - s if rev else s


def score_index(data: pd.DataFrame, items: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Index score per respondent on 0-100.

    The mean over answered items of the rescaled items (see :func:`rescaled`), scored only
    when MORE than half of the items are answered (NaN otherwise): with 2 items both are
    needed, with 4 items three.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [10, 5, np.nan], "b": [0, np.nan, np.nan]})
    >>> score_index(df, [{"key": "a", "min": 0, "max": 10}, {"key": "b", "min": 0, "max": 10}]).tolist()
    [50.0, nan, nan]
    """
    if len(items) == 0:
        raise ValueError("an index needs at least one item")
    mat = np.column_stack([rescaled(data, it) for it in items])
    answered = (~np.isnan(mat)).sum(axis=1)
    enough = answered * 2 > len(items)
    sums = np.nansum(mat, axis=1)
    return np.where(enough, sums / np.maximum(answered, 1), np.nan)


def score_indexes(data: pd.DataFrame, indexes: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Scores of every index of a codebook (``{"key", "items": [...]}``), one column per index."""
    out = {}
    for ix in indexes:
        key = ix.get("key")
        if not key:
            raise ValueError(f"index {ix!r} has no key")
        out[key] = score_index(data, ix.get("items") or [])
    return pd.DataFrame(out, index=data.index)


def cronbach_alpha(items: pd.DataFrame | np.ndarray, weights: Any = None) -> float:
    """Cronbach's alpha on complete cases.

    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_j s^2_j}{s^2_T}\\right)`, with item
    variances :math:`s^2_j` and the variance :math:`s^2_T` of the sum score (Cronbach 1951).
    With ``weights``, weighted variances are used (same ratio; the n/(n-1) factors cancel).

    Examples
    --------
    >>> round(cronbach_alpha(np.array([[1, 2], [2, 3], [3, 3], [4, 5]])), 4)
    0.96
    """
    mat = np.asarray(items, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[1] < 2:
        raise ValueError("Cronbach's alpha needs at least two items (columns)")
    ok = ~np.isnan(mat).any(axis=1)
    w = np.ones(mat.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    ok &= np.isfinite(w) & (w > 0)
    mat, w = mat[ok], w[ok]
    if mat.shape[0] < 2:
        raise ValueError("Cronbach's alpha needs at least two respondents who answered every item")
    k = mat.shape[1]

    def var(x: np.ndarray) -> float:
        m = np.average(x, weights=w)
        return float(np.average((x - m) ** 2, weights=w))

    total_var = var(mat.sum(axis=1))
    if total_var <= 0:
        raise ValueError("the sum score does not vary: alpha is undefined")
    item_var = sum(var(mat[:, j]) for j in range(k))
    return float(k / (k - 1) * (1 - item_var / total_var))


def index_reliability(
    data: pd.DataFrame, indexes: Sequence[Mapping[str, Any]], *, by: Sequence[str] = ("wave",), weights: Any = None
) -> pd.DataFrame:
    """Cronbach's alpha of every multi-item index, overall and per group of ``by`` columns.

    Items are rescaled to 0-100 (reversed where the index says) before alpha, so
    reversed items count in the right direction. Returns one row per index and group
    with ``alpha`` and ``n`` (complete cases); groups with fewer than 3 complete cases
    or a constant sum score get ``alpha`` None with a ``note`` saying why.
    """
    w_all = None if weights is None else np.asarray(weights, dtype=np.float64)
    rows = []
    for col in by:
        if col not in data.columns:
            raise ValueError(f"column {col!r} is not in the data")
    groups: list[tuple[dict[str, Any], np.ndarray]] = [(dict.fromkeys(by), np.ones(len(data), bool))]
    if by:
        tuples = np.empty(len(data), dtype=object)
        tuples[:] = list(data[list(by)].itertuples(index=False, name=None))
        combos = {t for t in tuples if not any(v is None or (isinstance(v, float) and np.isnan(v)) for v in t)}
        for combo in sorted(combos, key=lambda t: tuple(str(v) for v in t)):
            mask = np.fromiter((t == combo for t in tuples), dtype=bool, count=len(data))
            groups.append((dict(zip(by, combo, strict=True)), mask))
    for ix in indexes:
        items = ix.get("items") or []
        if len(items) < 2:
            continue
        mat = np.column_stack([rescaled(data, it) for it in items])
        for labels, mask in groups:
            sub = mat[mask]
            ww = None if w_all is None else w_all[mask]
            n = int((~np.isnan(sub).any(axis=1)).sum())
            row = {"index": ix["key"], **labels, "n": n, "alpha": None, "note": ""}
            if n < 3:
                row["note"] = "fewer than 3 respondents answered every item"
            else:
                try:
                    row["alpha"] = cronbach_alpha(sub, ww)
                except ValueError as exc:
                    row["note"] = str(exc)
            rows.append(row)
    return pd.DataFrame(rows)
