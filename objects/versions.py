"""Versions of objects and incomplete multipart uploads."""

from __future__ import annotations

import json

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from console import audit, s3
from console.access import can, get_endpoint_for_user
from console.models import Level
from console.s3 import S3Error
from objects import common
from objects.forms import AbortForm, KeyForm, MultipartListForm, PartsForm, VersionsForm


def versions(request, code, bucket):
    """One page of ListObjectVersions, for a key or a prefix; markers in the URL."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    form = VersionsForm(request.GET)
    form.is_valid()
    data = {"key": "", "prefix": "", "key_marker": "", "version_marker": "", **form.cleaned_data}
    key = data["key"]
    prefix = key or data["prefix"]
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "prefix": prefix,
        "can_change": can(endpoint, Level.OPERATOR),
        "error": None,
    }
    try:
        page = s3.list_versions(
            endpoint,
            bucket,
            prefix=prefix,
            key_marker=data["key_marker"],
            version_marker=data["version_marker"],
        )
    except S3Error as err:
        ctx["error"] = err
        page = {"versions": [], "markers": [], "next_key": ""}
    # With a key, its prefix may also match longer keys: show the key alone.
    if key:
        page["versions"] = [v for v in page["versions"] if v["Key"] == key]
        page["markers"] = [m for m in page["markers"] if m["Key"] == key]
    ctx["versions"] = page["versions"]
    ctx["markers"] = page["markers"]
    if page["next_key"]:
        ctx["next_url"] = common.url(
            "versions",
            endpoint,
            bucket,
            key=key,
            prefix="" if key else prefix,
            key_marker=page["next_key"],
            version_marker=page.get("next_version", ""),
        )
    if data["key_marker"]:
        ctx["first_url"] = common.url(
            "versions", endpoint, bucket, key=key, prefix="" if key else prefix
        )
    ctx["browse_url"] = common.url(
        "browse", endpoint, bucket, prefix=common.parent_prefix(key) if key else prefix
    )
    return render(request, "objects/versions.html", ctx)


@require_POST
def version_restore(request, code, bucket):
    """Make an old version current again by copying it over the key."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = KeyForm(request.POST)
    back = common.url("versions", endpoint, bucket, key=request.POST.get("key", ""))
    if not form.is_valid() or not form.cleaned_data["version"]:
        return common.refused(request, _("Give a key and a version id."), back)
    key, version = form.cleaned_data["key"], form.cleaned_data["version"]
    try:
        with audit.audited(
            request,
            "object.version_restore",
            endpoint=endpoint,
            bucket=bucket,
            key=key,
            detail=version,
        ) as note:
            common.refuse_large_copy(
                s3.head_object(endpoint, bucket, key, version),
                _(
                    "This version is larger than 5 GiB: restoring it needs a multipart copy job, "
                    "which is coming in a later version."
                ),
            )
            note.answer = s3.copy_object(endpoint, bucket, key, bucket, key, version_id=version)
    except (S3Error, common.Refused) as err:
        return common.refused(request, str(err), back)
    return common.done(
        request, _("Version %(v)s is the current version again.") % {"v": version}, back
    )


def multipart(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    form = MultipartListForm(request.GET)
    form.is_valid()
    data = {"key_marker": "", "upload_marker": "", **form.cleaned_data}
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "error": None,
        "uploads": [],
        "can_change": can(endpoint, Level.OPERATOR),
    }
    try:
        page = s3.list_multipart(
            endpoint, bucket, key_marker=data["key_marker"], upload_marker=data["upload_marker"]
        )
    except S3Error as err:
        ctx["error"] = err
        page = {"uploads": [], "next_key": ""}
    ctx["uploads"] = [
        {
            **u,
            "item": json.dumps([u["Key"], u["UploadId"]]),
            "parts_url": common.url(
                "multipart_parts", endpoint, bucket, key=u["Key"], upload_id=u["UploadId"]
            ),
        }
        for u in page["uploads"]
    ]
    if page["next_key"]:
        ctx["next_url"] = common.url(
            "multipart",
            endpoint,
            bucket,
            key_marker=page["next_key"],
            upload_marker=page.get("next_upload", ""),
        )
    if data["key_marker"]:
        ctx["first_url"] = common.url("multipart", endpoint, bucket)
    ctx["browse_url"] = common.url("browse", endpoint, bucket)
    return render(request, "objects/multipart.html", ctx)


def multipart_parts(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    form = PartsForm(request.GET)
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "error": None,
        "parts": [],
        "back_url": common.url("multipart", endpoint, bucket),
    }
    if not form.is_valid():
        return render(
            request, "objects/parts.html", {**ctx, "form_errors": form.errors}, status=400
        )
    data = form.cleaned_data
    ctx.update(key=data["key"], upload_id=data["upload_id"])
    try:
        page = s3.list_parts(
            endpoint, bucket, data["key"], data["upload_id"], data["part_marker"] or 0
        )
        ctx["parts"] = page["parts"]
        ctx["total"] = sum(p.get("Size", 0) for p in page["parts"])
        if page["next_part"]:
            ctx["next_url"] = common.url(
                "multipart_parts",
                endpoint,
                bucket,
                key=data["key"],
                upload_id=data["upload_id"],
                part_marker=page["next_part"],
            )
    except S3Error as err:
        ctx["error"] = err
    return render(
        request,
        "objects/parts.html",
        ctx,
        status=404 if ctx["error"] and ctx["error"].not_found else 200,
    )


@require_POST
def multipart_abort(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = AbortForm(request.POST)
    back = common.url("multipart", endpoint, bucket)
    if not form.is_valid():
        return common.refused(request, common.form_errors(form), back)
    failed = []
    for key, upload_id in form.cleaned_data["item"]:
        try:
            with audit.audited(
                request,
                "multipart.abort",
                endpoint=endpoint,
                bucket=bucket,
                key=key,
                detail=upload_id,
            ) as note:
                note.answer = s3.abort_multipart(endpoint, bucket, key, upload_id)
        except S3Error as err:
            failed.append(f"{key}: {err}")
    count = len(form.cleaned_data["item"]) - len(failed)
    text = _("%(n)d incomplete uploads aborted.") % {"n": count}
    if failed:
        return common.done(
            request, text + " " + _("Failed: ") + "; ".join(failed), back, level="error", status=502
        )
    return common.done(request, text, back)
