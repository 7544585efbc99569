"""One URL, two answers: the whole page, or the part of it an htmx link swaps in.

A tab's or a side list's link fetches its part alone and pushes the URL into the
history. Going back to an entry htmx no longer holds asks the same URL for the
whole page (HX-History-Restore-Request), as does a plain request or a reload.
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_part(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_page_or_part(request, template: str, part: str, context: dict, status: int = 200):
    """`template`, or its partial `part` for an htmx swap (see wants_part)."""
    name = f"{template}#{part}" if wants_part(request) else template
    response = render(request, name, context, status=status)
    # The same URL answers with a page or a fragment: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
