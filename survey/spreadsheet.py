"""Small helpers for writing spreadsheets (CSV) safely, shared by the staff console and the export writer."""

from __future__ import annotations

#: A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(text: str) -> str:
    """Neutralise a text cell that a spreadsheet would run as a formula, by prefixing a quote.

    Only for text columns: numeric columns (codes such as -9) are written as they are.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text
