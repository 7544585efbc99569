"""An object's detail page: its headers, metadata, restore state, tags
and ACL, the preview frame when one fits, and the forms that change it."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from django.shortcuts import render

from console import s3
from console.access import can, get_endpoint_for_user
from console.models import Level
from console.s3 import S3Error
from objects import common
from objects.browse import breadcrumbs
from objects.download import PREVIEW_LIMITS, preview_kind
from objects.forms import (
    AclForm,
    CopyForm,
    MetadataForm,
    ShareForm,
    StorageClassForm,
    TagsForm,
    grants_as_text,
)


def parse_restore(header: str | None):
    """The Restore header: archived object being restored, or restored until a date."""
    if not header:
        return None
    if 'ongoing-request="true"' in header:
        return {"state": "restoring"}
    match = re.search(r'expiry-date="([^"]+)"', header)
    until = None
    if match:
        try:
            until = parsedate_to_datetime(match.group(1))
        except (TypeError, ValueError):
            until = match.group(1)
    return {"state": "restored", "until": until}


def _missing(request, endpoint, bucket, key, err):
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "error": err,
        "parent_url": common.url("browse", endpoint, bucket, prefix=common.parent_prefix(key)),
    }
    return render(request, "objects/missing.html", ctx, status=404)


def detail(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    key, version = common.key_and_version(request.GET)
    try:
        head = s3.head_object(endpoint, bucket, key, version)
    except S3Error as err:
        if err.not_found or err.status == 404:
            return _missing(request, endpoint, bucket, key, err)
        raise
    etag = (head.get("ETag") or "").strip('"')
    parts = etag.rsplit("-", 1)[1] if "-" in etag else ""
    storage_class = head.get("StorageClass", "STANDARD")
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "version": version,
        "head": head,
        "etag": etag,
        "etag_parts": parts,
        "storage_class": storage_class,
        "restore": parse_restore(head.get("Restore")),
        "archived": storage_class in endpoint.preset.archive_classes,
        "metadata": sorted((head.get("Metadata") or {}).items()),
        "parent_url": common.url("browse", endpoint, bucket, prefix=common.parent_prefix(key)),
        "can_change": can(endpoint, Level.OPERATOR),
        "download_url": common.url("download", endpoint, bucket, key=key, version=version),
        "share_url": common.url("share", endpoint, bucket, key=key),
        "versions_url": common.url("versions", endpoint, bucket, key=key),
    }
    kind = preview_kind(key, head.get("ContentType", ""))
    if kind and head.get("ContentLength", 0) <= PREVIEW_LIMITS[kind] and not ctx["archived"]:
        ctx["preview"] = kind
        ctx["preview_url"] = common.url("preview", endpoint, bucket, key=key, version=version)
    elif kind:
        ctx["preview_refused"] = True
    ctx["crumbs"] = breadcrumbs(endpoint, bucket, common.parent_prefix(key), {})
    _side_panels(ctx, endpoint, bucket, key, version)
    if ctx["can_change"] and not version:
        _change_forms(ctx, endpoint, head, key, storage_class)
        if ctx["archived"]:
            ctx["restore_url"] = common.url("restore", endpoint, bucket, key=key)
    return render(request, "objects/detail.html", ctx)


def _side_panels(ctx, endpoint, bucket, key, version):
    """Tags and ACL: each may be refused, unsupported or failing on its own.

    Each is read once, without retries: a side panel that fails says so at once
    rather than holding the page up while the same failure repeats.
    """
    with s3.single_attempt():
        try:
            ctx["tags"] = s3.get_object_tags(endpoint, bucket, key, version)
        except S3Error as err:
            ctx["tags_error"] = err
        if version:
            return
        try:
            ctx["acl"] = s3.get_object_acl(endpoint, bucket, key)
        except S3Error as err:
            ctx["acl_error"] = err
            return
    owner = ctx["acl"].get("Owner") or {}
    ctx["acl_owner"] = owner.get("DisplayName") or owner.get("ID", "")
    ctx["acl_grants"] = [
        {"who": _grantee(g.get("Grantee") or {}), "permission": g.get("Permission", "")}
        for g in ctx["acl"].get("Grants", [])
    ]


def _grantee(grantee: dict) -> str:
    for field in ("URI", "DisplayName", "ID", "EmailAddress"):
        if grantee.get(field):
            return grantee[field]
    return "?"


def _change_forms(ctx, endpoint, head, key, storage_class):
    expires = head.get("Expires")
    ctx["metadata_form"] = MetadataForm(
        initial={
            "key": key,
            "content_type": head.get("ContentType", ""),
            "cache_control": head.get("CacheControl", ""),
            "content_disposition": head.get("ContentDisposition", ""),
            "content_encoding": head.get("ContentEncoding", ""),
            "content_language": head.get("ContentLanguage", ""),
            "expires": expires if not isinstance(expires, str) else None,
            "metadata": "\n".join(f"{k}: {v}" for k, v in ctx["metadata"]),
        }
    )
    classes = list(endpoint.preset.storage_classes)
    if storage_class not in classes:
        classes.insert(0, storage_class)
    ctx["class_form"] = StorageClassForm(
        initial={"key": key, "storage_class": storage_class}, classes=classes
    )
    ctx["tags_form"] = TagsForm(
        initial={
            "key": key,
            "tags": "\n".join(f"{t['Key']}={t['Value']}" for t in ctx.get("tags", [])),
        },
        limit=endpoint.preset.object_tag_limit,
    )
    ctx["acl_form"] = AclForm(
        initial={"key": key, "grants": grants_as_text(ctx.get("acl", {}).get("Grants", []))}
    )
    ctx["copy_form"] = CopyForm(
        initial={"key": key, "target_bucket": ctx["bucket"], "target_key": key}
    )
    ctx["share_form"] = ShareForm(initial={"key": key})
