"""Download and preview: an object streamed through the console or
handed to the browser as a presigned URL, and the preview frame with the tables
that say what may be previewed and how."""

from __future__ import annotations

import json
import re

from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from console import s3
from console.access import get_endpoint_for_user
from console.models import Level
from console.s3 import S3Error
from objects import common

CHUNK = 256 * 1024

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
