"""Sizes in words, in binary units (KiB, MiB, GiB), everywhere the console shows one.

The upload module in the browser counts the same way, so a file reads the same
size in the upload panel, the listing and the job card.
"""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int | float | None) -> str:
    """1536 -> "1.5 KiB"; computed in Python because a page shows up to 1000 of them."""
    value = float(size or 0)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
