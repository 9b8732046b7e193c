"""Small shared helpers: input checking and category coding used by every analysis module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_weights",
    "code_categories",
    "column",
    "factorize",
    "n_rows",
]


def n_rows(data: Any) -> int:
    """Number of rows of a DataFrame or of a mapping of equal-length columns."""
    if isinstance(data, pd.DataFrame):
        return len(data)
    lengths = {len(np.asarray(v)) for v in data.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"columns have different lengths {sorted(lengths)}: give every column one value per respondent"
        )
    return lengths.pop() if lengths else 0


def column(data: Any, name: str) -> np.ndarray:
    """Return column ``name`` of ``data`` as a numpy array, with a clear error when absent."""
    try:
        values = data[name]
    except (KeyError, IndexError, TypeError):
        raise ValueError(
            f"column {name!r} is not in the data: check the spelling or add the column"
        ) from None
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, pd.CategoricalDtype):
            return np.asarray(values.astype(object))
        if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            return values.to_numpy(dtype=object, na_value=None)
        return values.to_numpy()
    return np.asarray(values)


def as_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    """Validate weights: float64, length ``n``, finite and non-negative (ones when None)."""
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"{name} must be a 1-d array with one value per row ({n}), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contain missing or infinite values: fill or drop those rows first")
    if np.any(w < 0):
        raise ValueError(f"{name} contain negative values: weights must be zero or positive")
    return w


def _is_missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fc":
        return np.isnan(values)
    if values.dtype.kind in "iub":
        return np.zeros(values.shape, dtype=bool)
    return np.asarray(pd.isna(values), dtype=bool)


def factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes 0..k-1 in sorted order of the distinct values, -1 for missing."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        uniq, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64), uniq.tolist()
    codes, uniques = pd.factorize(pd.Series(arr, dtype=object if arr.dtype.kind not in "fc" else arr.dtype), sort=True)
    return codes.astype(np.int64), list(uniques)


def code_categories(values: Any, categories: Sequence[Any], name: str) -> np.ndarray:
    """Map ``values`` onto positions in ``categories`` (int64 codes).

    Values equal to no category raise ValueError naming ``name`` and the stray values;
    missing values raise too. Integer data with integer categories take a lookup-table
    fast path (no hashing), so a million rows code in a few milliseconds.
    """
    arr = np.asarray(values)
    cats = list(categories)
    if len(cats) == 0:
        raise ValueError(f"margin {name!r} has no target categories: give at least one")
    if arr.dtype.kind in "iu" and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in cats):
        keys = np.asarray(cats, dtype=np.int64)
        if arr.size and np.array_equal(keys, np.arange(len(keys))):
            # Categories are already the codes 0..k-1: only check the range.
            lo_v, hi_v = int(arr.min()), int(arr.max())
            if lo_v >= 0 and hi_v < len(keys):
                return arr
        lo = int(min(keys.min(), arr.min())) if arr.size else int(keys.min())
        hi = int(max(keys.max(), arr.max())) if arr.size else int(keys.max())
        if hi - lo < 10_000_000:
            lut = np.full(hi - lo + 1, -1, dtype=np.int64)
            lut[keys - lo] = np.arange(len(keys))
            codes = lut[arr.astype(np.int64) - lo]
            bad = codes < 0
            if bad.any():
                stray = sorted(set(np.unique(arr[bad]).tolist()))[:10]
                raise ValueError(
                    f"column {name!r} has values with no target: {stray}; add a target for each "
                    "or recode those rows into a category that has one"
                )
            return codes
    missing = _is_missing(arr)
    if missing.any():
        raise ValueError(
            f"column {name!r} has {int(missing.sum())} missing values: impute them or give them "
            "their own category (with a target) before weighting"
        )
    if arr.dtype.kind in "iuf" and all(isinstance(c, str) for c in cats):
        # Numeric data with categories written as text ("1", "2"): compare as numbers.
        try:
            num_keys = [float(c) for c in cats]
        except ValueError:
            num_keys = None
        if num_keys is not None:
            codes = pd.Index(num_keys, dtype=np.float64).get_indexer(arr.astype(np.float64))
            bad = codes < 0
            if bad.any():
                stray = sorted({str(v) for v in np.unique(arr[bad])})[:10]
                raise ValueError(
                    f"column {name!r} has values with no target: {stray}; add a target for each "
                    "or recode those rows into a category that has one"
                )
            return codes.astype(np.int64)
    obj = pd.Series(arr.astype(object) if arr.dtype.kind not in "O" else arr, dtype=object)
    cat_keys = [str(c) for c in cats] if arr.dtype.kind in "OUS" and all(isinstance(v, str) for v in obj.head(100)) else cats
    if len(set(cat_keys)) != len(cat_keys):
        raise ValueError(f"margin {name!r} lists a category twice: give each category once")
    codes = pd.Index(cat_keys, dtype=object).get_indexer(obj).astype(np.int64)
    bad = codes < 0
    if bad.any():
        stray = sorted({str(v) for v in obj[bad].unique()})[:10]
        raise ValueError(
            f"column {name!r} has values with no target: {stray}; add a target for each "
            "or recode those rows into a category that has one"
        )
    return codes


def as_mapping(targets: Mapping[str, Mapping[Any, float]], name: str = "targets") -> dict[str, dict[Any, float]]:
    """Validate a targets mapping {column: {category: population total}}."""
    if not isinstance(targets, Mapping) or len(targets) == 0:
        raise ValueError(f"{name} must map at least one column to {{category: population total}}")
    out: dict[str, dict[Any, float]] = {}
    for col, cats in targets.items():
        if not isinstance(cats, Mapping) or len(cats) == 0:
            raise ValueError(f"margin {col!r}: give a mapping {{category: population total}} with at least one entry")
        vals = {}
        for k, v in cats.items():
            fv = float(v)
            if not np.isfinite(fv) or fv < 0:
                raise ValueError(f"margin {col!r}, category {k!r}: population total {v!r} must be a finite number >= 0")
            vals[k] = fv
        out[col] = vals
    return out
