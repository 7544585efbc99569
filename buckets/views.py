from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from buckets.forms import CreateBucketForm, DeleteBucketForm
from buckets.panels import PANELS, Change, Invalid, PanelContext
from console import audit, s3
from console.access import can, get_endpoint_for_user
from console.models import Level


def bucket_list(request, code):
    """Every bucket of the endpoint from one ListBuckets call, filtered here."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    ctx = {"endpoint": endpoint, "buckets": [], "error": None}
    try:
        ctx["buckets"] = s3.list_buckets(endpoint)
    except s3.S3Error as err:
        ctx["error"] = err
    query = request.GET.get("q", "").strip()
    if query:
        ctx["buckets"] = [b for b in ctx["buckets"] if query.lower() in b["name"].lower()]
    ctx["q"] = query
    ctx["can_manage"] = can(endpoint, Level.MANAGER)
    template = "buckets/list.html#buckets" if request.htmx else "buckets/list.html"
    return render(request, template, ctx)


def _create(request, endpoint, form) -> s3.S3Error | None:
    data = form.cleaned_data
    name = data["name"]
    location = data.get("region") or ("" if endpoint.preset.fixed_region else endpoint.region or "")
    try:
        with audit.audited(request, "bucket.create", endpoint=endpoint, bucket=name) as note:
            s3.create_bucket(
                endpoint, name, acl=data["acl"], location=location, object_lock=data["object_lock"]
            )
            note.detail = location
    except s3.S3Error as err:
        return err
    # Object lock turns versioning on by itself.
    if data["versioning"] and not data["object_lock"]:
        try:
            with audit.audited(request, "bucket.versioning", endpoint=endpoint, bucket=name):
                s3.put_bucket_versioning(endpoint, name, "Enabled")
        except s3.S3Error as err:
            messages.warning(
                request,
                _("The bucket was created, but versioning could not be enabled: %(err)s")
                % {"err": err},
            )
    return None


@require_http_methods(["GET", "POST"])
def bucket_create(request, code):
    endpoint = get_endpoint_for_user(request, code, Level.MANAGER)
    form = CreateBucketForm(request.POST or None, endpoint=endpoint)
    error = None
    if request.method == "POST" and form.is_valid():
        error = _create(request, endpoint, form)
        if error is None:
            name = form.cleaned_data["name"]
            messages.success(request, _("Bucket %(name)s created.") % {"name": name})
            return redirect("buckets:settings", endpoint.code, name)
    ctx = {"endpoint": endpoint, "form": form, "error": error}
    return render(request, "buckets/create.html", ctx)


@require_http_methods(["GET", "POST"])
def bucket_delete(request, code, bucket):
    """Typed confirmation, after showing what stands in the way (SPEC B3)."""
    endpoint = get_endpoint_for_user(request, code, Level.MANAGER)
    form = DeleteBucketForm(request.POST or None, bucket=bucket)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            with audit.audited(request, "bucket.delete", endpoint=endpoint, bucket=bucket):
                s3.delete_bucket(endpoint, bucket)
        except s3.S3Error as err:
            error = err
        else:
            messages.success(request, _("Bucket %(name)s deleted.") % {"name": bucket})
            return redirect("buckets:list", endpoint.code)
    blockers = None
    try:
        blockers = s3.bucket_blockers(endpoint, bucket)
    except s3.S3Error as err:
        error = error or err
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "form": form,
        "error": error,
        "blockers": blockers,
    }
    return render(request, "buckets/delete.html", ctx)


def bucket_settings(request, code, bucket):
    """The settings page: every panel loads itself as a fragment."""
    endpoint = get_endpoint_for_user(request, code, Level.VIEWER)
    ctx = {
        "endpoint": endpoint,
        "bucket": bucket,
        "panels": PANELS.values(),
        "can_manage": can(endpoint, Level.MANAGER),
    }
    return render(request, "buckets/settings.html", ctx)


def _run(request, endpoint, bucket, change: Change, ctx: dict) -> None:
    try:
        with audit.audited(request, change.action, endpoint=endpoint, bucket=bucket) as note:
            change.run()
            note.detail = change.detail
    except ValidationError as exc:
        # Only possible after reading the current state (e.g. a CORS document
        # that would grow past its limit); nothing was changed.
        ctx["refusal"] = " ".join(exc.messages)
        if change.form is not None and change.form.is_bound:
            ctx[change.form_name] = change.form  # keeps what was typed
    except s3.S3Error as err:
        ctx["error"] = err
        if change.form is not None and change.form.is_bound:
            ctx[change.form_name] = change.form
    else:
        ctx["message"] = change.message
        ctx["changed"] = True


@require_http_methods(["GET", "POST"])
def panel(request, code, bucket, slug):
    """One settings panel: GET reads it, POST (managers only) changes it."""
    panel = PANELS.get(slug)
    if panel is None:
        raise Http404("No such panel")
    level = Level.MANAGER if request.method == "POST" else Level.VIEWER
    endpoint = get_endpoint_for_user(request, code, level)
    pctx = PanelContext(request, endpoint, bucket)
    ctx = {"endpoint": endpoint, "bucket": bucket, "panel": panel}
    ctx["can_edit"] = can(endpoint, Level.MANAGER)
    overrides: dict = {}
    if request.method == "POST":
        if not panel.actions:
            return HttpResponseNotAllowed(["GET"])
        action = panel.actions.get(request.POST.get("op", "save"))
        if action is None:
            raise Http404("No such action")
        outcome = action(pctx)
        if isinstance(outcome, Invalid):
            pctx.invalid = True
            overrides = outcome.forms
        else:
            _run(request, endpoint, bucket, outcome, overrides)
            pctx.invalid = any(k.endswith("_form") for k in overrides)
    state = _read(panel, pctx, ctx)
    ctx.update(state)
    ctx.update(panel.forms(pctx, state))
    ctx.update(overrides)
    template = "buckets/panel.html#panel" if request.htmx else "buckets/panel.html"
    response = render(request, template, ctx)
    if ctx.get("changed"):
        trigger_client_event(response, "bucketSettingsChanged", {"panel": slug})
    return response


def _read(panel, pctx, ctx) -> dict:
    """The panel's current state, and how it stands: ok / not configured / not supported."""
    try:
        # Panels load with the page: one attempt, so a failing one says so at once.
        with s3.single_attempt():
            state = panel.read(pctx)
        ctx["status"] = "ok"
        return state
    except s3.S3Error as err:
        if err.not_configured:
            ctx["status"] = "not_configured"
        elif err.not_supported:
            ctx["status"] = "not_supported"
            ctx["unsupported"] = err
        else:
            ctx["status"] = "error"
            ctx.setdefault("error", err)
        return {}
