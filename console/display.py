"""How values are shown to people: sizes in binary units, and keys that cannot lie.

Sizes use binary units (KiB, MiB, GiB) everywhere; the upload module in the
browser counts the same way, so a file reads the same size in the upload panel,
the listing and the job card. Their numbers follow the active language ("1.5 KiB",
or "1,5 KiB" where a comma separates decimals), as Django formats numbers.

Object keys may hold characters that are invisible or that reorder the text
around them (a right-to-left override makes "rtl\u202egnp.exe" read as
"rtlexe.png"). Wherever a key is shown, such characters are shown as what they
are, a marked code point, while links carry the real key.
"""

from __future__ import annotations

import unicodedata

from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")

# Not printable in Python's sense (controls, format characters such as bidi
# overrides and zero-width spaces, separators, unassigned and private code
# points, spaces other than " ") but harmless and common in names: the
# ideographic space of CJK text.
HARMLESS = {"\u3000"}


def human_size(size: int | float | None) -> str:
    """1536 -> "1.5 KiB"; computed in Python because a page shows up to 1000 of them."""
    value = float(size or 0)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            # Rounded here: number_format cuts decimals off rather than rounding.
            return f"{number_format(f'{value:.1f}', decimal_pos=1)} {unit}"
        value /= 1024
    return f"{size} B"


def _hidden(char: str) -> bool:
    return not char.isprintable() and char not in HARMLESS


def code_point(char: str) -> str:
    return f"U+{ord(char):04X}"


def visible_html(text: str) -> SafeString:
    """The text escaped for HTML, each hidden character a <mark> naming its code point."""
    text = str(text)
    if text.isprintable():  # the fast path: nearly every key of a listing
        return escape(text)
    parts = []
    for char in text:
        if _hidden(char):
            name = unicodedata.name(char, "") or unicodedata.category(char)
            parts.append(
                format_html('<mark class="ctl" title="{}">{}</mark>', name, code_point(char))
            )
        else:
            parts.append(escape(char))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


def visible_text(text: str) -> str:
    """The same for plain text (a page title, a CSV cell): hidden characters as [U+202E]."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(f"[{code_point(c)}]" if _hidden(c) else c for c in text)
