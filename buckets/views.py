from __future__ import annotations

from django.shortcuts import render

from console.access import get_endpoint_for_user
from console.models import Level
from console.s3 import S3Error, list_buckets


def bucket_list(request, code):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    ctx = {"endpoint": endpoint, "buckets": [], "error": None}
    try:
        ctx["buckets"] = list_buckets(endpoint)
    except S3Error as err:
        ctx["error"] = err
    query = request.GET.get("q", "").strip()
    if query:
        ctx["buckets"] = [b for b in ctx["buckets"] if query.lower() in b["name"].lower()]
    ctx["q"] = query
    template = "buckets/list.html#buckets" if request.htmx else "buckets/list.html"
    return render(request, template, ctx)
