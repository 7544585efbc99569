from __future__ import annotations

from django.shortcuts import render

from console.access import get_endpoint_for_user
from console.models import Level


def browse(request, code, bucket):
    """Placeholder for the object browser (the object-browser issue replaces it)."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    return render(request, "objects/browse.html", {"endpoint": endpoint, "bucket": bucket})
