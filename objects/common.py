"""Small helpers the object views share: URLs with keys in the query, names, headers."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_htmx.http import trigger_client_event

from console import s3
from objects.forms import KeyForm


def url(name: str, endpoint, bucket: str, **query) -> str:
    """A named object URL with its keys in the query string (never in the path)."""
    base = reverse(f"objects:{name}", args=[endpoint.code, bucket])
    query = {k: v for k, v in query.items() if v not in (None, "", [], False)}
    return f"{base}?{urlencode(query, doseq=True)}" if query else base


def key_and_version(data) -> tuple[str, str]:
    """The key (and version id, or '') a request is about; 404 without a valid key."""
    form = KeyForm(data)
    if not form.is_valid():
        raise Http404("No key")
    return form.cleaned_data["key"], form.cleaned_data["version"]


def parent_prefix(key: str) -> str:
    """The folder a key is listed in: everything up to its last "/" (keys ending
    in "/" are listed in their parent)."""
    cut = key[:-1].rfind("/") if key.endswith("/") else key.rfind("/")
    return key[: cut + 1] if cut >= 0 else ""


def file_name(key: str) -> str:
    name = key.rstrip("/").rsplit("/", 1)[-1]
    return name or "download"


def attachment(key: str) -> str:
    """Content-Disposition for a download, RFC 6266: an ASCII fallback plus
    filename* in UTF-8 for every other name."""
    name = file_name(key)
    fallback = re.sub(r'[^\x20-\x7e]|["\\%]', "_", name) or "download"
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def survives_in_url(key: str) -> bool:
    """Whether a key reaches the bucket intact as the path of a URL a browser opens.

    Browsers (and curl) resolve "." and ".." path segments before sending (even
    percent-encoded ones), and proxies fold "//"; a presigned URL for such a key
    then asks for another object, or fails its signature. Those keys are
    streamed through the console instead.
    """
    segments = key.split("/")
    return "//" not in key and not key.startswith("/") and not ({".", ".."} & set(segments))


def form_errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def done(request, message: str, next_url: str, *, level: str = "success", status: int = 200):
    """After a change: an htmx caller gets a message fragment plus the
    objectsChanged event (the listing refreshes itself); a plain form a redirect."""
    from django.contrib import messages

    if request.htmx:
        response = render(
            request, "objects/_message.html", {"text": message, "level": level}, status=status
        )
        return trigger_client_event(response, "objectsChanged")
    getattr(messages, level)(request, message)
    return HttpResponseRedirect(next_url)


def refused(request, message: str, next_url: str):
    return done(request, message, next_url, level="error", status=400)


class Refused(Exception):
    """A change refused in words before its S3 request: nothing changed, no audit row."""


def refuse_large_copy(head: dict, message: str) -> None:
    """CopyObject takes at most 5 GiB; larger objects need a multipart copy job."""
    if head.get("ContentLength", 0) > s3.COPY_LIMIT:
        raise Refused(message)


def not_supported_text(err) -> str:
    return _("Not supported by this endpoint.") if err.not_supported else str(err)
