"""What every CSV download shares: cells a spreadsheet shows as text, never runs."""

from __future__ import annotations

# A spreadsheet opening an export would run a cell that starts like a formula
# (bucket names and keys are chosen by users, error messages by the endpoint);
# a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(values) -> list[str]:
    return [csv_cell(value) for value in values]
