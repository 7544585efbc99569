"""Share links: presigned GET or PUT URLs and a presigned POST form.

An administrator may turn them off per endpoint (`Endpoint.share_links`): a
presigned URL leaves the console for good, and on an endpoint with temporary
credentials it carries the session token.
"""

from __future__ import annotations

import shlex

from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from console import audit, s3
from console.access import can, get_endpoint_for_user
from console.models import Level
from console.s3 import S3Error
from objects import common
from objects.forms import KeyField, PostPolicyForm, ShareForm


def share(request, code, bucket):
    """Viewers may make download links; upload (PUT) links need the operator level."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    key = request.POST.get("key") or request.GET.get("key", "")
    try:
        key = KeyField().clean(key)
    except Exception:
        raise Http404("No key") from None
    form = ShareForm(request.POST or None, initial={"key": key})
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "form": form,
        "detail_url": common.url("detail", endpoint, bucket, key=key),
        "can_change": can(endpoint, Level.OPERATOR),
        "post_form": PostPolicyForm(initial={"key": key}),
        "url_unsafe": not common.survives_in_url(key),
    }
    status = 200
    if request.method == "POST" and not endpoint.share_links:
        # The page says links are off; nothing is presigned.
        status = 403
    elif request.method == "POST" and form.is_valid():
        method, expires = form.cleaned_data["method"], form.cleaned_data["expires"]
        if method == "PUT" and not ctx["can_change"]:
            form.add_error("method", _("Upload links need the operator level on this endpoint."))
            status = 400
        else:
            try:
                if method == "GET":
                    link = s3.presign_get(endpoint, bucket, key, expires=expires)
                else:
                    link = s3.presign_put(endpoint, bucket, key, expires=expires)
                ctx["link"] = link
                ctx["link_method"] = method
                ctx["expires"] = expires
                audit.record(
                    request,
                    "object.share",
                    endpoint=endpoint,
                    bucket=bucket,
                    key=key,
                    detail=f"{method} {expires}s",
                )
            except S3Error as err:
                ctx["error"] = err
                status = 502
    elif request.method == "POST":
        status = 400
    return render(request, "objects/share.html", ctx, status=status)


def share_post(request, code, bucket):
    """A presigned POST policy: URL, fields, a ready HTML form and a curl command."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = PostPolicyForm(request.POST or None, initial={"key": request.GET.get("key", "")})
    ctx = {"endpoint": endpoint, "bucket": bucket, "post_form": form}
    status = 200
    if request.method == "POST" and not endpoint.share_links:
        status = 403
    elif request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                policy = s3.presign_post(
                    endpoint,
                    bucket,
                    key=data["key"],
                    prefix=data["prefix"],
                    min_size=data["min_size"] or 0,
                    max_size=data["max_size"],
                    content_type=data["content_type"],
                    expires=data["expires"],
                )
                ctx["policy"] = policy
                # Plain text (not SafeString): the page shows the form as text to copy.
                ctx["html_form"] = "".join(
                    [render_to_string("objects/_post_form.txt", {"policy": policy})]
                )
                ctx["curl"] = _curl(policy)
                audit.record(
                    request,
                    "object.share_post",
                    endpoint=endpoint,
                    bucket=bucket,
                    key=data["key"] or data["prefix"],
                    detail=f"{data['expires']}s",
                )
            except S3Error as err:
                ctx["error"] = err
                status = 502
        else:
            status = 400
    return render(request, "objects/share_post.html", ctx, status=status)


def _curl(policy: dict) -> str:
    parts = ["curl"]
    for name, value in policy["fields"].items():
        parts += ["-F", shlex.quote(f"{name}={value}")]
    parts += ["-F", "file=@./your-file", shlex.quote(policy["url"])]
    return " ".join(parts)
