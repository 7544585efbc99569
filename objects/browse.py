"""Browsing a bucket one folder and one page at a time: the listing,
its paging tokens, the breadcrumbs and the jump box."""

from __future__ import annotations

from urllib.parse import quote_plus

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import ngettext

from console import s3
from console.access import can, get_endpoint_for_user
from console.display import human_size
from console.models import Level
from console.s3 import S3Error
from objects import common
from objects.forms import PAGE_SIZES, BrowseForm, JumpForm

# Previous-page tokens travel in the URL; past this many characters the oldest
# are dropped (a "first page" link always remains).
BACK_STACK_CHARS = 6000


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


def breadcrumbs(endpoint, bucket, prefix, base):
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


def _bytes(size: int) -> str:
    """The exact size in words, for the title beside the binary one: "2,048 bytes"."""
    return ngettext("%(n)s byte", "%(n)s bytes", size) % {
        "n": number_format(size, force_grouping=True)
    }


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
        # Only a provider with archive classes has anything to restore.
        "can_restore": can(endpoint, Level.OPERATOR) and bool(endpoint.preset.archive_classes),
    }
    try:
        page = s3.list_folder(
            endpoint,
            bucket,
            prefix=prefix + opts["filter"],
            token=opts["token"],
            max_keys=opts["size"],
            with_restore=endpoint.preset.lists_restore_status,
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
            "size_exact": _bytes(item.get("Size", 0)),
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
    """Each row's links: its page, and the actions of its menu.

    Copy and delete lead to the same review the selection's buttons lead to, with
    this one row selected (a GET that starts nothing); copies keep the folder's
    relative names, as a selection made here does (`base`)."""
    # reverse() once per page, then only the query changes (up to 1000 rows).
    base = {
        name: reverse(f"objects:{name}", args=[endpoint.code, bucket])
        for name in ("browse", "bulk_delete", "copy_job", "detail", "download", "share")
    }
    here = quote_plus(opts["prefix"], safe="")
    keep = {k: v for k, v in _view_options(opts).items() if v}
    for row in rows:
        quoted = quote_plus(row["key"], safe="")
        if row["kind"] == "folder":
            row["url"] = f"{base['browse']}?{urlencode({'prefix': row['key'], **keep})}"
            row["delete_url"] = f"{base['bulk_delete']}?prefix={quoted}"
            row["copy_url"] = f"{base['copy_job']}?prefix={quoted}&base={here}"
        else:
            row["url"] = f"{base['detail']}?key={quoted}"
            row["download_url"] = f"{base['download']}?key={quoted}"
            row["share_url"] = f"{base['share']}?key={quoted}"
            row["delete_url"] = f"{base['bulk_delete']}?key={quoted}"
            row["copy_url"] = f"{base['copy_job']}?key={quoted}&base={here}"


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
    ctx["crumbs"] = breadcrumbs(endpoint, bucket, opts["prefix"], base)
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
