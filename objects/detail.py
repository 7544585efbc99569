"""An object's page: a summary (name, size, class, date and the actions) above
tabs: the overview with the preview, metadata and tags, permissions, versions.
Each tab has its own URL and reads only what it shows; the forms that change
the object sit on the tab of what they change."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime

from django.shortcuts import render

from console import s3
from console.access import can, get_endpoint_for_user
from console.models import Level
from console.pages import render_page_or_part, wants_part
from console.s3 import S3Error
from objects import common
from objects.browse import breadcrumbs
from objects.download import PREVIEW_LIMITS, preview_kind
from objects.forms import (
    OBJECT_TABS,
    AclForm,
    CopyForm,
    MetadataForm,
    ObjectTabForm,
    StorageClassForm,
    TagsForm,
    grants_as_text,
)

# The versions tab lists the newest few; the versions page has them all.
VERSIONS_SHOWN = 10


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
    response = render(request, "objects/missing.html", ctx, status=404)
    if request.htmx:
        # A tab's link to an object gone meanwhile: the whole page says so, not
        # a page inside the tab panel.
        response["HX-Refresh"] = "true"
    return response


def detail(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    key, version = common.key_and_version(request.GET)
    tab = _tab(request.GET)
    # The summary needs the HEAD whatever the tab, and it tells a missing object.
    try:
        head = s3.head_object(endpoint, bucket, key, version)
    except S3Error as err:
        if err.not_found or err.status == 404:
            return _missing(request, endpoint, bucket, key, err)
        raise
    ctx = _summary(endpoint, bucket, key, version, head)
    ctx["tab"] = tab
    ctx["tabs"] = _tab_links(endpoint, bucket, key, version)
    TAB_READERS[tab](ctx, endpoint, bucket, key, version, head)
    # The panel a tab's link brings takes the focus (htmx focuses [autofocus]).
    ctx["focus_panel"] = wants_part(request)
    return render_page_or_part(request, "objects/detail.html", "tabs", ctx)


def _tab(data) -> str:
    """The tab asked for; an unknown one (an old bookmark, a typo) shows the overview."""
    form = ObjectTabForm(data)
    return (form.is_valid() and form.cleaned_data["tab"]) or "overview"


def _tab_links(endpoint, bucket, key, version) -> list[dict]:
    """Each tab's link keeps the key and the version; the overview's is the page's
    plain URL, the one the listing and every other page link to."""
    return [
        {
            "slug": slug,
            "label": label,
            "url": common.url(
                "detail",
                endpoint,
                bucket,
                key=key,
                version=version,
                tab="" if slug == "overview" else slug,
            ),
        }
        for slug, label in OBJECT_TABS
    ]


def _summary(endpoint, bucket, key, version, head) -> dict:
    etag = (head.get("ETag") or "").strip('"')
    storage_class = head.get("StorageClass", "STANDARD")
    can_change = can(endpoint, Level.OPERATOR)
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "key": key,
        "version": version,
        "head": head,
        "etag": etag,
        "etag_parts": etag.rsplit("-", 1)[1] if "-" in etag else "",
        "storage_class": storage_class,
        "restore": parse_restore(head.get("Restore")),
        "archived": storage_class in endpoint.preset.archive_classes,
        "can_change": can_change,
        "download_url": common.url("download", endpoint, bucket, key=key, version=version),
        "share_url": common.url("share", endpoint, bucket, key=key),
        "versions_url": common.url("versions", endpoint, bucket, key=key),
        "crumbs": breadcrumbs(endpoint, bucket, common.parent_prefix(key), {}),
    }
    # Changes apply to the current version: a page showing an older one offers none.
    if can_change and not version:
        # The copy job keeps the name under the folder chosen as destination.
        ctx["copy_url"] = common.url(
            "copy_job", endpoint, bucket, key=key, base=common.parent_prefix(key)
        )
        ctx["delete_url"] = common.url("bulk_delete", endpoint, bucket, key=key)
        if ctx["archived"]:
            ctx["restore_url"] = common.url("restore", endpoint, bucket, key=key)
    return ctx


def _overview(ctx, endpoint, bucket, key, version, head):
    kind = preview_kind(key, head.get("ContentType", ""))
    if kind and head.get("ContentLength", 0) <= PREVIEW_LIMITS[kind] and not ctx["archived"]:
        ctx["preview"] = kind
        ctx["preview_url"] = common.url("preview", endpoint, bucket, key=key, version=version)
    elif kind:
        ctx["preview_refused"] = True
    if ctx["can_change"] and not version:
        ctx["copy_form"] = CopyForm(
            initial={"key": key, "target_bucket": bucket, "target_key": key}
        )


def _metadata(ctx, endpoint, bucket, key, version, head):
    """Headers, user metadata and tags. The tags are read once, without retries:
    when they fail the tab says so at once rather than holding the page up."""
    ctx["metadata"] = sorted((head.get("Metadata") or {}).items())
    with s3.single_attempt():
        try:
            ctx["tags"] = s3.get_object_tags(endpoint, bucket, key, version)
        except S3Error as err:
            ctx["tags_error"] = err
    if ctx["can_change"] and not version:
        _metadata_forms(ctx, endpoint, head, key)


def _permissions(ctx, endpoint, bucket, key, version, head):
    """The ACL of the current version (read once, like the tags)."""
    if version:
        ctx["current_permissions_url"] = common.url(
            "detail", endpoint, bucket, key=key, tab="permissions"
        )
        return
    with s3.single_attempt():
        try:
            acl = s3.get_object_acl(endpoint, bucket, key)
        except S3Error as err:
            ctx["acl_error"] = err
            return
    owner = acl.get("Owner") or {}
    ctx["acl"] = acl
    ctx["acl_owner"] = owner.get("DisplayName") or owner.get("ID", "")
    ctx["acl_grants"] = [
        {"who": _grantee(g.get("Grantee") or {}), "permission": g.get("Permission", "")}
        for g in acl.get("Grants", [])
    ]
    if ctx["can_change"]:
        ctx["acl_form"] = AclForm(
            initial={"key": key, "grants": grants_as_text(acl.get("Grants", []))}
        )


def _versions(ctx, endpoint, bucket, key, version, head):
    """The newest versions of this key, each a link to its page."""
    with s3.single_attempt():
        try:
            page = s3.list_versions(endpoint, bucket, prefix=key, max_keys=VERSIONS_SHOWN)
        except S3Error as err:
            ctx["versions_error"] = err
            return
    # The prefix also matches longer keys: only this key's versions are shown.
    ctx["versions"] = [
        {
            **v,
            "viewing": v["VersionId"] == version if version else v.get("IsLatest", False),
            "url": common.url(
                "detail",
                endpoint,
                bucket,
                key=key,
                version="" if v.get("IsLatest") else v["VersionId"],
            ),
        }
        for v in page["versions"]
        if v["Key"] == key
    ]


TAB_READERS = {
    "overview": _overview,
    "metadata": _metadata,
    "permissions": _permissions,
    "versions": _versions,
}


def _grantee(grantee: dict) -> str:
    for field in ("URI", "DisplayName", "ID", "EmailAddress"):
        if grantee.get(field):
            return grantee[field]
    return "?"


def _metadata_forms(ctx, endpoint, head, key):
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
    if ctx["storage_class"] not in classes:
        classes.insert(0, ctx["storage_class"])
    ctx["class_form"] = StorageClassForm(
        initial={"key": key, "storage_class": ctx["storage_class"]}, classes=classes
    )
    ctx["tags_form"] = TagsForm(
        initial={
            "key": key,
            "tags": "\n".join(f"{t['Key']}={t['Value']}" for t in ctx.get("tags", [])),
        },
        limit=endpoint.preset.object_tag_limit,
    )
