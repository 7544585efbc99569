from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import trigger_client_event

from buckets.forms import CreateBucketForm, DeleteBucketForm
from buckets.models import Insight
from buckets.panels import PANELS, Action, PanelContext
from console import audit, s3
from console.access import can, get_endpoint_for_user
from console.models import Level
from console.pages import render_page_or_part, wants_part


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
    # What the last insights run of each bucket counted, where one ran.
    counted: dict[str, dict] = {}
    rows = Insight.objects.filter(endpoint=endpoint, prefix="").order_by("bucket", "-finished_at")
    for row in rows.values("bucket", "object_count", "bytes", "finished_at"):
        counted.setdefault(row["bucket"], row)
    for item in ctx["buckets"]:
        found = counted.get(item["name"])
        # A count from before the bucket was (deleted and) created again is of another.
        if found and (not item.get("created") or found["finished_at"] >= item["created"]):
            item["counted"] = found
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
    """Typed confirmation, after showing what stands in the way."""
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


@require_GET
def bucket_settings(request, code, bucket):
    """The settings page: the first panel's page, so older links and bookmarks still work."""
    return bucket_settings_panel(request, code, bucket, slug=next(iter(PANELS)))


def _act(request, action: Action, panel: PanelContext, ctx: dict) -> int:
    """Validate the action's form, then run its change; the answer's status.

    A refused form costs no request. A refused or failed change keeps the bound
    form in `panel.typed`, so the panel shows what was typed.
    """
    form = action.bind(panel)
    if form is not None and not form.is_valid():
        panel.typed = form
        return 400
    change = action.change(panel, form.cleaned_data if form is not None else {})
    try:
        with audit.audited(
            request, change.action, endpoint=panel.endpoint, bucket=panel.bucket
        ) as note:
            change.run()
            note.detail = change.detail
    except ValidationError as exc:
        # Only possible after reading the current state (e.g. a CORS document
        # that would grow past its limit); nothing was changed.
        ctx["refusal"] = " ".join(exc.messages)
        panel.typed = form
    except s3.S3Error as err:
        ctx["error"] = err
        panel.typed = form
    else:
        ctx["message"] = change.message
        ctx["changed"] = True
    return 200


@require_http_methods(["GET", "POST"])
def bucket_settings_panel(request, code, bucket, slug):
    """One settings panel: GET reads it, POST (managers only) changes it."""
    definition = PANELS.get(slug)
    if definition is None:
        raise Http404("No such panel")
    level = Level.MANAGER if request.method == "POST" else Level.VIEWER
    endpoint = get_endpoint_for_user(request, code, level)
    panel = PanelContext(request, endpoint, bucket)
    ctx = {"endpoint": endpoint, "bucket": bucket, "panel": definition, "panels": PANELS.values()}
    ctx["can_edit"] = can(endpoint, Level.MANAGER)
    ctx["fragment"] = wants_part(request)
    status = 200
    if request.method == "POST":
        if not definition.actions:
            return HttpResponseNotAllowed(["GET"])
        action = definition.actions.get(request.POST.get("op", "save"))
        if action is None:
            raise Http404("No such action")
        status = _act(request, action, panel, ctx)
    state = _read(definition, panel, ctx)
    ctx.update(state)
    ctx.update(definition.forms(panel, state))
    if panel.typed is not None:
        ctx[action.form_name] = panel.typed
    response = render_page_or_part(request, "buckets/panel.html", "panel", ctx, status)
    if ctx.get("changed"):
        trigger_client_event(response, "bucketSettingsChanged", {"panel": slug})
    return response


def _read(definition, panel, ctx) -> dict:
    """The panel's current state, and how it stands: ok / not configured / not supported."""
    try:
        # A panel loads with its page: one attempt, so a failing one says so at once.
        with s3.single_attempt():
            state = definition.read(panel)
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
