"""Browsing a bucket one folder and one page at a time, an object's detail page,
download and preview (SPEC O1, O3, O4)."""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from urllib.parse import quote_plus

from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from console import s3
from console.access import can, get_endpoint_for_user
from console.display import human_size
from console.models import Level
from console.s3 import S3Error
from objects import common
from objects.forms import (
    PAGE_SIZES,
    AclForm,
    BrowseForm,
    CopyForm,
    JumpForm,
    MetadataForm,
    ShareForm,
    StorageClassForm,
    TagsForm,
    grants_as_text,
)

# Previous-page tokens travel in the URL; past this many characters the oldest
# are dropped (a "first page" link always remains).
BACK_STACK_CHARS = 6000
CHUNK = 256 * 1024


def _row_sort(rows, sort):
    if not sort:
        return rows
    field, reverse = sort.lstrip("-"), sort.startswith("-")
    key = {
        "name": lambda r: r["key"],
        "size": lambda r: r.get("size", -1),
        "date": lambda r: r.get("modified").timestamp() if r.get("modified") else 0,
    }[field]
    return sorted(rows, key=key, reverse=reverse)


def _restore_state(item, archive_classes):
    status = item.get("RestoreStatus")
    if status:
        if status.get("IsRestoreInProgress"):
            return {"state": "restoring"}
        if status.get("RestoreExpiryDate"):
            return {"state": "restored", "until": status["RestoreExpiryDate"]}
    if item.get("StorageClass") in archive_classes:
        return {"state": "archived"}
    return None


def _crumbs(endpoint, bucket, prefix, base):
    crumbs = [{"label": bucket, "url": common.url("browse", endpoint, bucket, **base)}]
    start = 0
    while True:
        cut = prefix.find("/", start)
        if cut < 0:
            break
        crumbs.append(
            {
                "label": prefix[start:cut],
                "url": common.url("browse", endpoint, bucket, prefix=prefix[: cut + 1], **base),
            }
        )
        start = cut + 1
    return crumbs


def _when(moment) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def _trim(back: list[str]) -> list[str]:
    back = list(back)
    while back and sum(len(t) + 6 for t in back) > BACK_STACK_CHARS:
        back.pop(0)
    return back


DEFAULTS = {
    "prefix": "",
    "token": "",
    "back": [],
    "size": 200,
    "sort": "",
    "etag": False,
    "filter": "",
}
EMPTY_PAGE = {"folders": [], "objects": [], "next_token": ""}


def browse(request, code, bucket):
    """One page of one folder: exactly one ListObjectsV2 call, whatever the bucket holds."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    form = BrowseForm(request.GET)
    form.is_valid()  # bad parameters fall back to their defaults
    opts = {**DEFAULTS, **form.cleaned_data}
    opts["size"] = opts["size"] or 200
    prefix = opts["prefix"]
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "opts": opts,
        "error": None,
        "page_sizes": PAGE_SIZES,
        "can_change": can(endpoint, Level.OPERATOR),
    }
    try:
        page = s3.list_folder(
            endpoint,
            bucket,
            prefix=prefix + opts["filter"],
            token=opts["token"],
            max_keys=opts["size"],
            with_restore=endpoint.provider == "aws",
        )
    except S3Error as err:
        ctx["error"], page = err, EMPTY_PAGE
    ctx["rows"] = _rows(page, prefix, endpoint.preset.archive_classes, opts["sort"])
    _link_rows(ctx["rows"], endpoint, bucket, opts)
    _page_links(ctx, endpoint, bucket, opts, page["next_token"])
    template = "objects/browse.html#listing" if request.htmx else "objects/browse.html"
    return render(request, template, ctx)


def _rows(page, prefix, archive_classes, sort):
    """Folders first, then objects, each sorted within the page as asked."""
    folders = [{"kind": "folder", "key": p, "name": p[len(prefix) :]} for p in page["folders"]]
    objects = [
        {
            "kind": "object",
            "key": item["Key"],
            "name": item["Key"][len(prefix) :],
            "size": item.get("Size", 0),
            "size_h": human_size(item.get("Size", 0)),
            "modified": item.get("LastModified"),
            "modified_s": _when(item.get("LastModified")),
            "storage_class": item.get("StorageClass", "STANDARD"),
            "etag": (item.get("ETag") or "").strip('"'),
            "restore": _restore_state(item, archive_classes),
        }
        for item in page["objects"]
    ]
    return _row_sort(folders, sort) + _row_sort(objects, sort)


def _view_options(opts) -> dict:
    """What every link on the page keeps: the view options, never the position."""
    return {
        "size": opts["size"] if opts["size"] != 200 else "",
        "sort": opts["sort"],
        "etag": "on" if opts["etag"] else "",
    }


def _link_rows(rows, endpoint, bucket, opts):
    # reverse() once per page, then only the query changes (up to 1000 rows).
    browse_base = reverse("objects:browse", args=[endpoint.code, bucket])
    detail_base = reverse("objects:detail", args=[endpoint.code, bucket])
    keep = {k: v for k, v in _view_options(opts).items() if v}
    for row in rows:
        if row["kind"] == "folder":
            row["url"] = f"{browse_base}?{urlencode({'prefix': row['key'], **keep})}"
        else:
            row["url"] = f"{detail_base}?key={quote_plus(row['key'], safe='')}"


def _page_links(ctx, endpoint, bucket, opts, next_token):
    """Next, previous and first page, sort and ETag toggles, breadcrumbs.

    The position is the continuation token plus the stack of tokens of the
    pages before it (`back`), all in the URL: a page is bookmarkable, the
    browser's back button works, and "previous" needs no extra list call."""
    token, back = opts["token"], opts["back"]
    base = _view_options(opts)
    here = {**base, "prefix": opts["prefix"], "filter": opts["filter"]}

    def link(**changes):
        query = {"token": token, "back": back, **here, **changes}
        return common.url("browse", endpoint, bucket, **query)

    ctx["self_url"] = link()
    if next_token:
        ctx["next_url"] = link(token=next_token, back=_trim(back + [token]))
    if token:
        ctx["first_url"] = link(token="", back=[])
        ctx["prev_url"] = link(token=back[-1], back=back[:-1]) if back else ctx["first_url"]
    ctx["page_number"] = len(back) + 1
    ctx["crumbs"] = _crumbs(endpoint, bucket, opts["prefix"], base)
    ctx["sort_urls"] = {
        field: link(sort="-" + field if opts["sort"] == field else field)
        for field in ("name", "size", "date")
    }
    ctx["etag_url"] = link(etag="" if opts["etag"] else "on")


def jump(request, code, bucket):
    """Jump to a prefix (ends in "/": its folder page) or to a key (its detail page)."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    form = JumpForm(request.GET)
    if not form.is_valid():
        return redirect(common.url("browse", endpoint, bucket))
    target = form.cleaned_data["to"]
    if target.endswith("/"):
        return redirect(common.url("browse", endpoint, bucket, prefix=target))
    return redirect(common.url("detail", endpoint, bucket, key=target))


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


PREVIEW_LIMITS = {
    "text": 10 * 1024**2,
    "image": 50 * 1024**2,
    "pdf": 50 * 1024**2,
    "audio": 1024**3,
    "video": 1024**3,
}
TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-yaml",
    "application/yaml",
    "application/x-sh",
    "application/toml",
    "image/svg+xml",
)
TEXT_EXTENSIONS = (
    ".txt",
    ".md",
    ".csv",
    ".log",
    ".json",
    ".xml",
    ".yaml",
    ".yml",
    ".ini",
    ".conf",
    ".py",
    ".js",
    ".css",
    ".html",
    ".htm",
    ".svg",
    ".sh",
    ".toml",
)


def preview_kind(key: str, content_type: str) -> str:
    """What kind of preview fits, by content type first and then the file name."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype.startswith("text/") or ctype in TEXT_TYPES:
        return "text"
    if ctype.startswith("image/"):
        return "image"
    if ctype == "application/pdf":
        return "pdf"
    if ctype.startswith("audio/"):
        return "audio"
    if ctype.startswith("video/"):
        return "video"
    lower = key.lower()
    if lower.endswith(TEXT_EXTENSIONS):
        return "text"
    for kind, exts in (
        ("image", (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")),
        ("pdf", (".pdf",)),
        ("audio", (".mp3", ".ogg", ".wav", ".m4a")),
        ("video", (".mp4", ".webm", ".mov")),
    ):
        if lower.endswith(exts):
            return kind
    return ""


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
    ctx["crumbs"] = _crumbs(endpoint, bucket, common.parent_prefix(key), {})
    _side_panels(ctx, endpoint, bucket, key, version)
    if ctx["can_change"] and not version:
        _change_forms(ctx, endpoint, head, key, storage_class)
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


# Download and preview.

RANGE = re.compile(r"^bytes=\d*-\d*$")


def _stream(body):
    try:
        yield from body.iter_chunks(CHUNK)
    finally:
        body.close()


def _streamed(endpoint, bucket, key, version, request, *, content_type=None, disposition=""):
    """GetObject relayed in chunks; a single Range passes through as 206."""
    range_header = request.META.get("HTTP_RANGE", "")
    if not RANGE.match(range_header):
        range_header = ""
    try:
        answer = s3.get_object_stream(
            endpoint, bucket, key, range_header=range_header, version_id=version
        )
    except S3Error as err:
        if err.code == "InvalidRange":
            return HttpResponse(err.message, status=416, content_type="text/plain")
        raise
    response = StreamingHttpResponse(
        _stream(answer["Body"]),
        content_type=content_type or answer.get("ContentType") or "application/octet-stream",
        status=206 if answer.get("ContentRange") else 200,
    )
    response["Content-Length"] = str(answer.get("ContentLength", ""))
    response["Accept-Ranges"] = "bytes"
    if answer.get("ContentRange"):
        response["Content-Range"] = answer["ContentRange"]
    if answer.get("ETag"):
        response["ETag"] = answer["ETag"]
    if disposition:
        response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    return response


def download(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    key, version = common.key_and_version(request.GET)
    disposition = common.attachment(key)
    if endpoint.presigned_downloads and common.survives_in_url(key):
        target = s3.presign_get(
            endpoint, bucket, key, expires=300, disposition=disposition, version_id=version
        )
        return HttpResponseRedirect(target)
    return _streamed(
        endpoint,
        bucket,
        key,
        version,
        request,
        content_type="application/octet-stream",
        disposition=disposition,
    )


# The preview frame may show an image, play media or display text, and nothing
# else: no script, no forms, no plugins, no navigation of the page around it.
PREVIEW_CSP = (
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'"
)
PDF_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
MEDIA_TYPES = {"image": "image/", "audio": "audio/", "video": "video/"}


@xframe_options_sameorigin
def preview(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    key, version = common.key_and_version(request.GET)
    head = s3.head_object(endpoint, bucket, key, version)
    ctype = (head.get("ContentType") or "").split(";")[0].strip().lower()
    kind = preview_kind(key, ctype)
    if not kind or head.get("ContentLength", 0) > PREVIEW_LIMITS[kind]:
        response = HttpResponse(_("No preview for this object."), content_type="text/plain")
    elif kind == "text":
        response = _text_preview(endpoint, bucket, key, version, ctype)
    else:
        if kind == "pdf":
            ctype = "application/pdf"
        elif not ctype.startswith(MEDIA_TYPES[kind]) or ctype == "image/svg+xml":
            ctype = "application/octet-stream"
        response = _streamed(endpoint, bucket, key, version, request, content_type=ctype)
        response["Content-Disposition"] = "inline"
    response["Content-Security-Policy"] = PDF_CSP if kind == "pdf" else PREVIEW_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _text_preview(endpoint, bucket, key, version, ctype):
    """Text as text/plain, whatever it claims to be: HTML and SVG never become active."""
    answer = s3.get_object_stream(endpoint, bucket, key, version_id=version)
    try:
        data = answer["Body"].read(PREVIEW_LIMITS["text"])
    finally:
        answer["Body"].close()
    text = data.decode("utf-8", errors="replace")
    if ctype == "application/json" or key.lower().endswith(".json"):
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return HttpResponse(text, content_type="text/plain; charset=utf-8")
