"""Helpers for the R comparison tests: the api data and the values R printed for them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
DATA = HERE / "data"
REFERENCE = HERE / "r" / "reference.json"
RTOL = 1e-6

POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def ref(key: str) -> list[float]:
    """Values R printed for ``key``; the R call is in reference.json beside them."""
    return reference()[key]["value"]


@cache
def _api(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / f"{name}.csv", dtype={"cds": str}, keep_default_na=True, na_values=["NA"])


def api(name: str) -> pd.DataFrame:
    return _api(name).copy()
