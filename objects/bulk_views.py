"""Bulk delete and "abort uploads older than": the review and the start of their jobs.

A delete is reviewed before it starts: the page counts what would go (the dry
run) while it waits, up to DRY_RUN_INLINE_ITEMS; a bigger count is a count job
whose card fills in on the review. Deleting the whole bucket, more than
CONFIRM_ABOVE items or an amount not yet counted asks for the bucket's name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from console import jobs, s3
from console.access import get_endpoint_for_user
from console.models import Job, Level
from console.s3 import S3Error
from objects import bulk, common
from objects.forms import AbortOlderForm, BulkDeleteForm

CONFIRM_ABOVE = 1000
SIGNING_SALT = "objects.bulk_delete.counted"


def _plan(data) -> bulk.Plan:
    return bulk.Plan(
        keys=data["key"],
        prefixes=data["prefix"],
        versions=data["versions"],
        uploads=data["uploads"],
        delete_bucket=data["delete_bucket"],
    )


def _respond(request, ctx, status=200):
    template = "objects/bulk_delete.html#review" if request.htmx else "objects/bulk_delete.html"
    return render(request, template, ctx, status=status)


@require_http_methods(["GET", "POST"])
def bulk_delete(request, code, bucket):
    """Review a delete (GET, or POST from the browser's selection), then start it."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = BulkDeleteForm(request.POST if request.method == "POST" else request.GET)
    ctx = {"endpoint": endpoint, "bucket": bucket, "form": form, "error": None}
    ctx["browse_url"] = common.url("browse", endpoint, bucket)
    if not form.is_valid():
        return _respond(request, ctx, status=400)
    data = form.cleaned_data
    plan = _plan(data)
    if plan.whole_bucket:
        # Emptying a bucket, like deleting it, is a manager's decision.
        get_endpoint_for_user(request, code, Level.MANAGER)
    ctx["plan"] = plan
    if request.method == "POST" and data["start"]:
        counted = _counted(request, data["counted"], endpoint, bucket, plan)
        ctx["needs_name"] = _needs_name(plan, counted)
        if ctx["needs_name"] and data["confirm_name"] != bucket:
            form.add_error("confirm_name", _("Type the bucket name exactly to confirm."))
        else:
            return _start(request, endpoint, bucket, plan)
        # The review again as it was, with its figures (from the token it signed).
        ctx.update(counted, counted_token=data["counted"])
        return _respond(request, ctx, status=400)
    try:
        ctx["versioning"] = s3.get_bucket_versioning(endpoint, bucket)
        tally, complete = bulk.count(
            endpoint, bucket, plan, max_items=settings.DRY_RUN_INLINE_ITEMS
        )
    except S3Error as err:
        ctx["error"] = err
        return _respond(request, ctx)
    counted = {"tally": tally, "complete": complete}
    count_job = None
    if not complete:
        target = plan.describe()
        count_job = jobs.start(
            request, Job.Kind.COUNT, endpoint, bucket, target, params=plan.params()
        )
        ctx["count_job"] = count_job
    ctx.update(counted)
    ctx["needs_name"] = _needs_name(plan, counted)
    # What the review showed, signed, so that the review shown again when the start
    # is refused (a name missing) still says what would go.
    ctx["counted_token"] = signing.dumps(
        {
            "plan": _fingerprint(endpoint, bucket, plan),
            "items": tally.items,
            "complete": complete,
            "tally": asdict(tally),
            "versioning": ctx["versioning"],
            "count_job": str(count_job.code) if count_job else "",
        },
        salt=SIGNING_SALT,
    )
    return _respond(request, ctx)


def _fingerprint(endpoint, bucket: str, plan: bulk.Plan) -> str:
    """What a count counted: the plan, in this bucket of this endpoint."""
    what = [str(endpoint.code), bucket, plan.params()]
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def _counted(request, token: str, endpoint, bucket: str, plan: bulk.Plan) -> dict:
    """The dry run's figures as the review signed them; unknown when missing or
    forged, or when they counted another plan (a choice changed on the review
    whose count has not come back yet)."""
    unknown = {"items": None, "complete": False}
    try:
        value = signing.loads(token, salt=SIGNING_SALT, max_age=24 * 3600)
        counted = {"items": int(value["items"]), "complete": bool(value["complete"])}
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return unknown
    if value.get("plan") != _fingerprint(endpoint, bucket, plan):
        return unknown
    try:
        counted["tally"] = bulk.Tally(**value["tally"])
    except (KeyError, TypeError):
        pass
    counted["versioning"] = value.get("versioning") or ""
    if value.get("count_job"):
        counted["count_job"] = Job.objects.filter(
            code=value["count_job"], owner=request.user, endpoint=endpoint, bucket=bucket
        ).first()
    return counted


def _needs_name(plan: bulk.Plan, counted: dict) -> bool:
    tally = counted.get("tally")
    items = tally.items if tally is not None else counted.get("items")
    return plan.whole_bucket or not counted["complete"] or items is None or items > CONFIRM_ABOVE


def _start(request, endpoint, bucket, plan: bulk.Plan):
    kind = Job.Kind.EMPTY_BUCKET if plan.delete_bucket else Job.Kind.DELETE
    job = jobs.start(request, kind, endpoint, bucket, plan.describe(), params=plan.params())
    if not request.htmx:
        return redirect("job_detail", code=job.code)
    job.level = Level.OPERATOR
    return render(request, "objects/_bulk_started.html", {"job": job, "bucket": bucket})


# Counting stops here while the page waits; the page then says "more than".
ABORT_COUNT_LIMIT = 10_000


@require_http_methods(["GET", "POST"])
def abort_older(request, code, bucket):
    """Abort every incomplete upload started more than N days ago, as a job: GET
    counts them first, POST starts the job."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    data = request.POST if request.method == "POST" else request.GET
    form = AbortOlderForm(data if "days" in data else None)
    ctx = {"endpoint": endpoint, "bucket": bucket, "form": form, "error": None}
    ctx["back_url"] = common.url("multipart", endpoint, bucket)
    if not form.is_bound:
        return render(request, "objects/abort_older.html", ctx)
    if not form.is_valid():
        return render(request, "objects/abort_older.html", ctx, status=400)
    days = form.cleaned_data["days"]
    cutoff = timezone.now() - timedelta(days=days)
    if request.method == "POST":
        target = _("incomplete uploads older than %(n)d days") % {"n": days}
        params = {"cutoff": cutoff.isoformat(), "days": days}
        job = jobs.start(request, Job.Kind.ABORT_UPLOADS, endpoint, bucket, target, params=params)
        return redirect("job_detail", code=job.code)
    count = 0
    try:
        for page in bulk.upload_pages(endpoint, bucket):
            count += sum(1 for u in page if u.get("Initiated") and u["Initiated"] < cutoff)
            if count >= ABORT_COUNT_LIMIT:
                ctx["more"] = True
                break
    except S3Error as err:
        ctx["error"] = err
    ctx.update({"days": days, "count": count})
    return render(request, "objects/abort_older.html", ctx)
