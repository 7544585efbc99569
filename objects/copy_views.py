"""Copy and move as a job: the form with its destination picker, and the start.

The destination is any bucket of an endpoint where the user holds operator
level; the picker lists those endpoints, then (htmx) the buckets of the one
chosen and the folders of the bucket. Grants are checked again on the server
when the job starts: nothing moves before both sides are allowed.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from console import jobs, s3
from console.access import endpoints_for, get_endpoint_for_user
from console.models import Job, Level
from console.s3 import S3Error
from objects import common
from objects.copy import CopyPlan
from objects.forms import CopyJobForm


def writable_endpoints(user):
    return [e for e in endpoints_for(user) if e.level >= Level.OPERATOR]


@require_http_methods(["GET", "POST"])
def copy_job(request, code, bucket):
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    data = request.POST if request.method == "POST" else request.GET
    targets = writable_endpoints(request.user)
    form = CopyJobForm(data, endpoints=targets, initial={"dest_endpoint": str(endpoint.code)})
    ctx = {"endpoint": endpoint, "bucket": bucket, "form": form, "error": None}
    # The first showing of the form is not a refusal: its errors wait for a Start.
    ctx["show_errors"] = bool(data.get("start"))
    ctx["browse_url"] = common.url("browse", endpoint, bucket)
    if not form.is_valid():
        return _respond(request, ctx, status=400 if data.get("start") else 200)
    values = form.cleaned_data
    if request.method != "POST" or not values["start"]:
        return _respond(request, ctx)
    target = get_endpoint_for_user(request, values["dest_endpoint"], Level.OPERATOR)
    try:
        s3.head_bucket(target, values["dest_bucket"])
    except S3Error as err:
        ctx["error"] = err
        return _respond(request, ctx, status=400)
    plan = CopyPlan(
        keys=values["key"],
        prefixes=values["prefix"],
        base=values["base"],
        dest_endpoint=target.pk,
        dest_bucket=values["dest_bucket"],
        dest_prefix=values["dest_prefix"],
        move=values["move"],
        on_exists=values["on_exists"],
        storage_class=values["storage_class"],
    )
    verb = "move" if plan.move else "copy"
    detail = f"{verb} to {target.name} › {plan.dest_bucket}/{plan.dest_prefix}"
    job = jobs.start(
        request, Job.Kind.COPY, endpoint, bucket, plan.describe(), detail, params=plan.params()
    )
    if not request.htmx:
        return redirect("job_detail", code=job.code)
    job.level = Level.OPERATOR
    return render(request, "objects/_job_started.html", {"job": job})


def _respond(request, ctx, status=200):
    template = "objects/copy.html#copy-form" if request.htmx else "objects/copy.html"
    return render(request, template, ctx, status=status)


def dest_buckets(request, code, bucket):
    """The picker's bucket list for the endpoint chosen (htmx)."""
    get_endpoint_for_user(request, code, Level.OPERATOR)
    choice = request.GET.get("dest_endpoint", "")
    ctx = {"buckets": [], "error": None}
    target = next((e for e in writable_endpoints(request.user) if str(e.code) == choice), None)
    if target is not None:
        try:
            ctx["buckets"] = s3.list_buckets(target)
        except S3Error as err:
            ctx["error"] = err
    return render(request, "objects/_dest_buckets.html", ctx)
