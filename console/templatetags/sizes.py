"""`{{ value|size }}`: a byte count in binary units, as `console.sizes.human_size`."""

from __future__ import annotations

from django import template

from console.sizes import human_size

register = template.Library()


@register.filter
def size(value) -> str:
    try:
        return human_size(float(value))
    except (TypeError, ValueError):
        return ""
