"""Filters that show values as `console.display` says: `|size`, `|visible`, `|visible_text`."""

from __future__ import annotations

from django import template

from console.display import human_size, visible_html, visible_text

register = template.Library()


@register.filter
def size(value) -> str:
    try:
        return human_size(float(value))
    except (TypeError, ValueError):
        return ""


@register.filter(is_safe=True)
def visible(value) -> str:
    """A key (or any text holding one) with its invisible characters marked."""
    return visible_html("" if value is None else value)


register.filter("visible_text", visible_text)
