"""The insights page of a bucket (or a prefix of it): the last run's result as
charts and tables, what changed since the run before, and a run started from
here; and its exports (CSV, JSON)."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from urllib.parse import urlencode

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from buckets import charts, insights
from buckets.forms import InsightsForm
from buckets.models import Insight
from console.access import can, get_endpoint_for_user
from console.display import human_size
from console.exports import csv_row
from console.models import Level
from objects.common import url

# Incomplete uploads older than this are worth a look (and an abort).
OLD_UPLOAD_DAYS = 7
# A folder holding at least this share of the bytes is pointed out.
BIG_SHARE = 25.0


def _page_url(endpoint, bucket: str, prefix: str) -> str:
    page = reverse("buckets:insights", args=[endpoint.code, bucket])
    return f"{page}?{urlencode({'prefix': prefix})}" if prefix else page


@require_http_methods(["GET", "POST"])
def insights_page(request, code, bucket):
    """GET shows the last result of the bucket or `prefix`, and the run under way;
    POST starts a run (or finds the one under way) and shows the page again."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    form = InsightsForm(request.POST if request.method == "POST" else request.GET)
    valid = form.is_valid()
    prefix = form.cleaned_data["prefix"] if valid else ""
    if request.method == "POST" and valid:
        if insights.active_run(endpoint, bucket, prefix) is None:
            insights.start(request, endpoint, bucket, prefix)
        return redirect(_page_url(endpoint, bucket, prefix))
    ctx = report_context(endpoint, bucket, prefix)
    ctx["form"] = form
    template = "buckets/insights.html#report" if request.htmx else "buckets/insights.html"
    return render(request, template, ctx, status=200 if valid else 400)


def report_context(endpoint, bucket: str, prefix: str) -> dict:
    kept = list(Insight.objects.filter(endpoint=endpoint, bucket=bucket, prefix=prefix)[:2])
    latest = kept[0] if kept else None
    previous = kept[1] if len(kept) > 1 else None
    job = insights.active_run(endpoint, bucket, prefix)
    if job is not None:
        job.level = endpoint.level  # the card shows pause and cancel to operators
    return {
        "endpoint": endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "job": job,
        "latest": latest,
        "report": build_report(endpoint, bucket, prefix, latest, previous) if latest else None,
        "self_url": _page_url(endpoint, bucket, prefix),
    }


def build_report(endpoint, bucket: str, prefix: str, latest: Insight, previous) -> dict:
    result = latest.result
    whole = result["bytes"]
    classes = sorted(result["classes"].items(), key=lambda item: (-item[1][1], item[0]))
    folders = []
    for depth, ranked in enumerate(result["top"], start=1):
        rows = [
            (
                name[len(prefix) :],
                size,
                human_size(size),
                url("browse", endpoint, bucket, prefix=name),
            )
            for size, name, _objects in ranked
        ]
        chart = charts.bars(rows, whole)
        for bar, (_size, _name, objects) in zip(chart.bars, ranked, strict=True):
            bar.count = objects
        folders.append({"depth": depth, "chart": chart, "id": f"chart-folders-{depth}"})
    class_chart = charts.bars(
        [(name, totals[1], human_size(totals[1]), "") for name, totals in classes], whole
    )
    for bar, (_name, totals) in zip(class_chart.bars, classes, strict=True):
        bar.count = totals[0]
    report = {
        "result": result,
        "classes": class_chart,
        "folders": folders,
        "ages": _histogram(insights.AGE_BANDS, result["ages"]),
        "sizes": _histogram(insights.SIZE_BANDS, result["sizes"]),
        "largest": [
            {"key": key, "size": size, "url": url("detail", endpoint, bucket, key=key)}
            for size, key in result["largest"]
        ],
        "oldest_upload": parse_datetime(result["oldest_upload"] or "") or None,
        "findings": _findings(endpoint, bucket, prefix, result, folders),
    }
    if previous is not None:
        report["previous"] = previous
        objects = latest.object_count - previous.object_count
        size = latest.bytes - previous.bytes
        report["objects_change"] = f"{objects:+,}"
        report["bytes_change"] = ("+" if size >= 0 else "−") + human_size(abs(size))
    return report


def _histogram(bands, counted) -> charts.Chart:
    total = sum(count for count, _size in counted)
    rows = [
        (str(label), count, f"{count:,}")
        for (_limit, label), (count, _size) in zip(bands, counted, strict=True)
    ]
    chart = charts.columns(rows, total)
    for bar, (_count, size) in zip(chart.bars, counted, strict=True):
        bar.count = size  # the table's bytes column
    return chart


def _findings(endpoint, bucket: str, prefix: str, result: dict, folders: list) -> list[dict]:
    """What the numbers suggest doing, each with a link to where it is done."""
    found = []
    if result["noncurrent"]:
        found.append(
            {
                "text": _(
                    "%(n)s older versions hold %(size)s. A lifecycle rule can expire "
                    "noncurrent versions after some days."
                )
                % {
                    "n": f"{result['noncurrent']:,}",
                    "size": human_size(result["noncurrent_bytes"]),
                },
                "url": reverse("buckets:settings-lifecycle", args=[endpoint.code, bucket]),
                "action": _("Lifecycle rules"),
            }
        )
    oldest = parse_datetime(result["oldest_upload"] or "")
    if oldest and timezone.now() - oldest > timedelta(days=OLD_UPLOAD_DAYS):
        found.append(
            {
                "text": _(
                    "%(n)s incomplete multipart uploads hold %(size)s in their parts; "
                    "the oldest began on %(date)s."
                )
                % {
                    "n": f"{result['uploads']:,}",
                    "size": human_size(result["upload_bytes"]),
                    "date": oldest.strftime("%Y-%m-%d"),
                },
                "url": url("abort_older", endpoint, bucket, days=OLD_UPLOAD_DAYS),
                "action": _("Abort old incomplete uploads"),
            }
        )
    if can(endpoint, Level.OPERATOR) and folders and folders[0]["chart"].bars:
        biggest = folders[0]["chart"].bars[0]
        if biggest.share >= BIG_SHARE and biggest.label:
            found.append(
                {
                    "text": _("The folder %(name)s holds %(size)s, %(share)s%% of the bytes.")
                    % {
                        "name": biggest.label,
                        "size": biggest.text,
                        "share": f"{biggest.share:.0f}",
                    },
                    "url": url("bulk_delete", endpoint, bucket, prefix=prefix + biggest.label),
                    "action": _("What deleting it would remove (a dry run)"),
                }
            )
    return found


def _kept(request, code, bucket, pk) -> tuple:
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    insight = Insight.objects.filter(pk=pk, endpoint=endpoint, bucket=bucket).first()
    if insight is None:
        raise Http404(_("No such insights result."))
    return endpoint, insight


def _filename(insight: Insight, ext: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", insight.bucket)
    return f"insights-{name}-{insight.finished_at:%Y%m%d-%H%M%S}.{ext}"


def insights_csv(request, code, bucket, pk):
    _endpoint, insight = _kept(request, code, bucket, pk)
    result = insight.result
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(insight, "csv")}"'
    writer = csv.writer(response)
    writer.writerow(["section", "name", "objects", "bytes"])
    rows = [
        ("total", "current objects", result["objects"], result["current_bytes"]),
        ("total", "noncurrent versions", result["noncurrent"], result["noncurrent_bytes"]),
        ("total", "delete markers", result["markers"], 0),
        ("total", "all versions", result["objects"] + result["noncurrent"], result["bytes"]),
        ("total", "incomplete uploads", result["uploads"], result["upload_bytes"]),
    ]
    rows += [("class", name, n, size) for name, (n, size) in sorted(result["classes"].items())]
    rows += [("here", insight.prefix, *result["here"])]
    for depth, ranked in enumerate(result["top"], start=1):
        rows += [(f"folder depth {depth}", name, n, size) for size, name, n in ranked]
    for section, bands, counted in (
        ("age", insights.AGE_BANDS, result["ages"]),
        ("size", insights.SIZE_BANDS, result["sizes"]),
    ):
        rows += [
            (section, str(label), n, size)
            for (_limit, label), (n, size) in zip(bands, counted, strict=True)
        ]
    rows += [("largest", key, 1, size) for size, key in result["largest"]]
    for row in rows:
        writer.writerow(csv_row(row))
    return response


def insights_json(request, code, bucket, pk):
    endpoint, insight = _kept(request, code, bucket, pk)
    data = {
        "endpoint": endpoint.name,
        "bucket": insight.bucket,
        "prefix": insight.prefix,
        "finished_at": insight.finished_at.isoformat(),
        "result": insight.result,
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Disposition"] = f'attachment; filename="{_filename(insight, "json")}"'
    return response
