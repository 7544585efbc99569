from __future__ import annotations

import csv
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from console import audit, outage, s3
from console.access import endpoints_for, staff_required
from console.exports import csv_row
from console.forms import (
    AuditFilterForm,
    ConnectionTestForm,
    DeleteEndpointForm,
    EndpointForm,
    GrantForm,
)
from console.models import AuditEntry, Endpoint, Grant
from console.providers import Provider

log = logging.getLogger("console.views")


@login_not_required
@require_POST
def set_language(request):
    """The language switch of every page (the login page too): the choice is kept
    in a cookie and wins over the browser's own preference from then on."""
    return django_set_language(request)


@login_not_required
def healthz(request):
    """200 "ok" when the database, the cache and the broker answer; else 503 naming
    the one that does not."""
    results = outage.checks()
    down = {name: state for name, state in results.items() if state != "ok"}
    if not down:
        return HttpResponse("ok", content_type="text/plain")
    text = "\n".join(f"{name}: {state}" for name, state in results.items())
    response = HttpResponse(text, status=503, content_type="text/plain")
    response["Retry-After"] = str(outage.RETRY_AFTER_SECONDS)
    return response


def _throttle_keys(request) -> list[str]:
    username = request.POST.get("username", "").strip().lower()[:150]
    return [f"login-fail:user:{username}", f"login-fail:ip:{request.META.get('REMOTE_ADDR')}"]


def _throttle(action, default=None):
    """A step of the login throttle, whose counts live in the cache (Redis). With
    the cache away, logging in still works: the throttle counts nothing meanwhile."""
    try:
        return action()
    except outage.redis_errors() as exc:
        log.warning("login throttle off: the cache is unreachable (%s)", type(exc).__name__)
        return default


def _locked(keys) -> bool:
    return bool(
        _throttle(lambda: any(cache.get(k, 0) >= settings.LOGIN_FAILURE_LIMIT for k in keys))
    )


def _count_failure(keys) -> None:
    def count():
        for key in keys:
            cache.add(key, 0, settings.LOGIN_LOCKOUT_SECONDS)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)

    _throttle(count)


@login_not_required
@sensitive_post_parameters("password")
@never_cache
@csrf_protect
def login_view(request):
    """Django's authentication form, with a pause after repeated failures."""
    form = AuthenticationForm(request, data=request.POST or None)
    locked = False
    if request.method == "POST":
        keys = _throttle_keys(request)
        locked = _locked(keys)
        if locked:
            form = AuthenticationForm(request)
        elif form.is_valid():
            # Only the account's own count starts afresh: clearing the address's
            # too would let one valid account reset the limit between guesses at
            # others.
            _throttle(lambda: cache.delete(keys[0]))
            auth_login(request, form.get_user())
            target = request.POST.get("next") or request.GET.get("next")
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = settings.LOGIN_REDIRECT_URL
            return redirect(target)
        else:
            _count_failure(keys)
    ctx = {
        "form": form,
        "locked": locked,
        "lockout_minutes": max(1, -(-settings.LOGIN_LOCKOUT_SECONDS // 60)),
        "next": request.GET.get("next", ""),
    }
    return render(request, "registration/login.html", ctx, status=429 if locked else 200)


def home(request):
    endpoints = endpoints_for(request.user)
    return render(request, "console/home.html", {"endpoints": endpoints})


def _save_endpoint(request, form, action):
    endpoint = form.save(commit=False)
    if endpoint.pk is None:
        endpoint.created_by = request.user
    endpoint.save()
    s3.forget(endpoint)
    audit.record(request, action, endpoint=endpoint)
    return endpoint


# Error reports (500 mails, debug pages) leave these out of the request they show.
SECRET_FIELDS = ("secret_key", "session_token")


@staff_required
@sensitive_post_parameters(*SECRET_FIELDS)
def endpoint_add(request):
    provider = request.GET.get("provider") or Provider.MINIO
    if provider not in Provider.values:
        provider = Provider.OTHER
    initial = EndpointForm.initial_for(provider)
    initial["name"] = request.GET.get("name", "")
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        endpoint = _save_endpoint(request, form, "endpoint.create")
        messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint.name})
        return redirect("endpoint_detail", endpoint.code)
    template = "console/endpoint_form.html"
    if request.htmx and request.method == "GET":
        template += "#fields"
    return render(request, template, {"form": form, "endpoint": None})


@staff_required
@sensitive_post_parameters(*SECRET_FIELDS)
def endpoint_edit(request, code):
    endpoint = get_object_or_404(Endpoint, code=code)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        _save_endpoint(request, form, "endpoint.update")
        messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint.name})
        return redirect("endpoint_detail", endpoint.code)
    return render(request, "console/endpoint_form.html", {"form": form, "endpoint": endpoint})


@staff_required
def endpoint_detail(request, code):
    endpoint = get_object_or_404(Endpoint, code=code)
    ctx = {
        "endpoint": endpoint,
        "grants": endpoint.grants.select_related("user", "group").order_by("-level"),
        "grant_form": GrantForm(),
        "test_form": ConnectionTestForm(),
        "delete_form": DeleteEndpointForm(endpoint=endpoint),
    }
    return render(request, "console/endpoint_detail.html", ctx)


@staff_required
@require_POST
def endpoint_test(request, code):
    endpoint = get_object_or_404(Endpoint, code=code)
    form = ConnectionTestForm(request.POST)
    bucket = form.cleaned_data["bucket"] if form.is_valid() else ""
    result = s3.check_connection(endpoint, bucket=bucket)
    audit.record(
        request,
        "endpoint.test",
        endpoint=endpoint,
        bucket=bucket,
        outcome=AuditEntry.Outcome.OK if result.ok else AuditEntry.Outcome.FAILED,
        request_id=result.request_id,
        detail=result.message if result.ok else f"{result.message} [{result.code}]",
    )
    template = "console/endpoint_detail.html#test-result"
    if not request.htmx:
        template = "console/test_result_page.html"
    return render(request, template, {"endpoint": endpoint, "result": result})


@staff_required
@require_POST
def endpoint_delete(request, code):
    endpoint = get_object_or_404(Endpoint, code=code)
    form = DeleteEndpointForm(request.POST, endpoint=endpoint)
    if not form.is_valid():
        messages.error(request, _("The endpoint was not deleted: the name did not match."))
        return redirect("endpoint_detail", endpoint.code)
    audit.record(request, "endpoint.delete", endpoint=endpoint)
    s3.forget(endpoint)
    name = endpoint.name
    endpoint.delete()
    messages.success(request, _("Endpoint %(name)s deleted.") % {"name": name})
    return redirect("home")


@staff_required
@require_POST
def grant_add(request, code):
    endpoint = get_object_or_404(Endpoint, code=code)
    form = GrantForm(request.POST)
    if form.is_valid():
        user, group = form.cleaned_data["user"], form.cleaned_data["group"]
        lookup = {"user": user} if user else {"group": group}
        grant, _created = Grant.objects.update_or_create(
            endpoint=endpoint, **lookup, defaults={"level": form.cleaned_data["level"]}
        )
        audit.record(
            request,
            "grant.set",
            endpoint=endpoint,
            detail=f"{grant.grantee}: {grant.get_level_display()}",
        )
        messages.success(request, _("Access granted."))
    else:
        for error in form.errors.get("__all__", []) or [_("The grant was not valid.")]:
            messages.error(request, error)
    return redirect("endpoint_detail", endpoint.code)


@staff_required
@require_POST
def grant_delete(request, code, grant_id):
    endpoint = get_object_or_404(Endpoint, code=code)
    grant = get_object_or_404(Grant, pk=grant_id, endpoint=endpoint)
    audit.record(request, "grant.revoke", endpoint=endpoint, detail=str(grant.grantee))
    grant.delete()
    messages.success(request, _("Access revoked."))
    return redirect("endpoint_detail", endpoint.code)


def _audit_queryset(request):
    entries = AuditEntry.objects.all()
    if not request.user.is_staff:
        entries = entries.filter(user=request.user)
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        entries = form.filter(entries)
    return form, entries


def audit_log(request):
    form, entries = _audit_queryset(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    ctx = {"form": form, "page": page, "query": query.urlencode()}
    template = "console/audit.html#entries" if request.htmx else "console/audit.html"
    return render(request, template, ctx)


class _Echo:
    def write(self, value):
        return value


def audit_csv(request):
    _form, entries = _audit_queryset(request)
    writer = csv.writer(_Echo())
    header = [
        "time",
        "user",
        "endpoint",
        "bucket",
        "key",
        "action",
        "outcome",
        "request_id",
        "detail",
        "ip",
    ]

    def rows():
        yield writer.writerow(header)
        for e in entries.iterator(chunk_size=1000):
            yield writer.writerow(
                csv_row(
                    [
                        e.at.isoformat(),
                        e.username,
                        e.endpoint_name,
                        e.bucket,
                        e.key,
                        e.action,
                        e.outcome,
                        e.request_id,
                        e.detail,
                        e.ip or "",
                    ]
                )
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
