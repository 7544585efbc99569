"""Restore archived objects (SPEC O9): the form, then the job (objects/restore.py).

The form is reached from an object's page (one key), from the browser's
selection (keys and folders, posted by the listing's action bar) or with
folders in the query. Days and tier are the provider's; starting needs operator
level, like every change to objects.
"""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from console import jobs
from console.access import get_endpoint_for_user
from console.models import Job, Level
from objects import common
from objects.bulk import Plan
from objects.forms import RestoreForm


def _respond(request, ctx, status=200):
    template = "objects/restore.html#panel" if request.htmx else "objects/restore.html"
    return render(request, template, ctx, status=status)


@require_http_methods(["GET", "POST"])
def restore(request, code, bucket):
    """The restore form (GET, or POST from the browser's selection); POST with
    `start` starts the job."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    preset = endpoint.preset
    data = (request.POST if request.method == "POST" else request.GET).copy()
    for name, value in RestoreForm.defaults(preset).items():
        data.setdefault(name, value)
    form = RestoreForm(data, preset=preset)
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "form": form,
        "preset": preset,
        "browse_url": common.url("browse", endpoint, bucket),
    }
    valid = form.is_valid()
    plan = _plan(form.cleaned_data)
    if plan is not None:
        ctx["plan"] = plan
        if len(plan.keys) == 1 and not plan.prefixes:
            ctx["back_url"] = common.url("detail", endpoint, bucket, key=plan.keys[0])
        else:
            ctx["back_url"] = ctx["browse_url"]
    if not valid:
        # With a valid selection the form shows each error beside its field.
        return _respond(request, ctx, status=400)
    if request.method == "POST" and form.cleaned_data["start"]:
        if not preset.archive_classes:
            ctx["refusal"] = True
            return _respond(request, ctx, status=400)
        return _start(request, endpoint, bucket, plan, form.cleaned_data)
    return _respond(request, ctx)


def _plan(cleaned: dict) -> Plan | None:
    """What the form selected, when the selection itself is valid."""
    keys, prefixes = cleaned.get("key"), cleaned.get("prefix")
    if keys is None or prefixes is None or not (keys or prefixes):
        return None
    return Plan(keys=keys, prefixes=prefixes)


def _start(request, endpoint, bucket, plan: Plan, data):
    days, tier = data["days"], data["tier"]
    params = {**plan.params(), "days": days, "tier": tier}
    detail = f"{days} days" + (f", tier {tier}" if tier else "")
    job = jobs.start(
        request, Job.Kind.RESTORE, endpoint, bucket, plan.describe(), detail, params=params
    )
    if not request.htmx:
        return redirect("job_detail", code=job.code)
    job.level = Level.OPERATOR
    response = render(request, "objects/_restore_started.html", {"job": job})
    return trigger_client_event(response, "jobStarted")
