"""Spreadsheet-safe cells (OWASP "CSV Injection"): plain Python, no Django import.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by
spreadsheet programs; such a cell is prefixed with a single quote, which makes it text. A genuine
negative number in a numeric column (study day -1) is a number, not a formula, and is kept. The
IPD export writes its files with it, and `kernel.csv_download` the product's CSV pages.
"""

from __future__ import annotations

from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object, *, numeric: bool = False) -> str:
    """The cell text for `value`; `numeric` says the column holds numbers."""
    if value is None:
        return ""
    if numeric and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
