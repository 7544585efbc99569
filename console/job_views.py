"""Job pages: the list, one job, its controls and its error CSV.

A user sees their own jobs; staff see all of them, and an endpoint's managers see
the jobs on that endpoint. Acting on a job needs operator level on its endpoint.
Cards poll once a second while their job is unfinished (STYLE 8): the polled
element is the replaced element and a finished card renders without a trigger.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

from django import forms
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from console import audit, jobs
from console.access import level_for
from console.exports import csv_row
from console.models import Job, Level

NOTICE_LIMIT = 3
# The id of the element a kind's page section (jobs.Kind.page_template) renders.
SECTION_ID = "job-section"


def visible_jobs(user):
    if user.is_staff:
        return Job.objects.all()
    from console.models import Grant

    managed = Grant.objects.filter(
        Q(user=user) | Q(group__in=user.groups.all()), level__gte=Level.MANAGER
    ).values("endpoint_id")
    return Job.objects.filter(Q(owner=user) | Q(endpoint_id__in=managed))


def get_job_for_user(request, code, level: int = Level.VIEWER) -> Job:
    """The job `code` if the user may see it (and holds `level` on its endpoint), else 404."""
    try:
        job = Job.objects.select_related("endpoint", "owner").get(code=code)
    except (Job.DoesNotExist, ValueError):
        raise Http404("No such job") from None
    held = level_for(request.user, job.endpoint)
    mine = job.owner_id == request.user.pk
    if held is None or held < level or not (mine or held >= Level.MANAGER):
        raise Http404("No such job")
    job.level = held
    return job


class JobListForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), ("active", _("Unfinished"))] + Job.State.choices,
    )


def job_list(request):
    form = JobListForm(request.GET)
    items = visible_jobs(request.user).select_related("endpoint", "owner")
    if form.is_valid() and form.cleaned_data["state"]:
        state = form.cleaned_data["state"]
        if state == "active":
            items = items.exclude(state__in=Job.FINISHED_STATES)
        else:
            items = items.filter(state=state)
    items = list(items[:100])
    levels: dict[int, int | None] = {}
    for job in items:
        if job.endpoint_id not in levels:
            levels[job.endpoint_id] = level_for(request.user, job.endpoint)
        job.level = levels[job.endpoint_id] or 0
    return render(request, "console/jobs.html", {"jobs": items, "form": form})


def job_detail(request, code):
    job = get_job_for_user(request, code)
    kind = jobs.KINDS.get(job.kind)
    section = kind.page_template if kind else ""
    context = {"job": job, "errors": job.current_errors[:100], "section_template": section}
    if request.htmx and section and request.htmx.target == SECTION_ID:
        # The kind's own section of the page, refreshing itself.
        return render(request, section, context)
    if request.htmx:
        # The answer that shows a job's end also says so in the page's live
        # region (base.html), which a screen reader reads out.
        # Only the card's own poll (or its buttons) sees the end happen: a card
        # loaded after the end (the upload panel's) says nothing.
        context["announce"] = job.finished and request.htmx.target == f"job-{job.code}"
        response = render(request, "console/_job_card.html", context)
        if job.finished:
            # The card that shows the end of a job also tells the page: a listing
            # on it refreshes itself (the notice does the same for jobs whose card
            # is not on the page).
            trigger_client_event(response, "objectsChanged")
        return response
    return render(request, "console/job.html", context)


def _act(request, code, action):
    job = get_job_for_user(request, code, Level.OPERATOR)
    message = action(job)
    audit.record(
        request,
        f"job.{action.__name__}",
        endpoint=job.endpoint,
        bucket=job.bucket,
        key=job.target,
        detail=f"{job.get_kind_display()} {job.code}: {message}",
    )
    if not request.htmx:
        return redirect("job_detail", code=job.code)
    job.refresh_from_db()
    response = render(request, "console/_job_card.html", {"job": job, "message": message})
    return trigger_client_event(response, "jobChanged")


@require_POST
def job_pause(request, code):
    return _act(request, code, jobs.pause)


@require_POST
def job_resume(request, code):
    return _act(request, code, jobs.resume)


@require_POST
def job_cancel(request, code):
    return _act(request, code, jobs.cancel)


@require_POST
def job_retry(request, code):
    return _act(request, code, jobs.retry_failed)


def job_errors_csv(request, code):
    job = get_job_for_user(request, code)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.code}-errors.csv"'
    writer = csv.writer(response)
    writer.writerow(["key", "code", "message", "request_id", "at"])
    for error in job.current_errors.iterator():
        row = [error.key, error.code, error.message, error.request_id, error.at.isoformat()]
        writer.writerow(csv_row(row))
    return response


class NoticeForm(forms.Form):
    # A Unix time between 1970 and the last second of year 9999: anything else
    # cannot be a moment a page opened, and datetime could not hold it anyway.
    since = forms.FloatField(label=_("Since"), required=False, min_value=0, max_value=253402300799)
    seen = forms.IntegerField(label=_("Seen"), required=False, min_value=0, max_value=2**31)


def job_notice(request):
    """The notice in every page: jobs of this user that finished since the page opened.

    It polls only while the user has unfinished jobs; when another job finishes it
    raises `objectsChanged`, so the object listing on the page refreshes itself.
    """
    # Values the form refuses are ignored: the notice then counts from now.
    form = NoticeForm(request.GET)
    valid = form.cleaned_data if form.is_valid() else {}
    since_ts = valid.get("since")
    since = datetime.fromtimestamp(since_ts, tz=UTC) if since_ts else timezone.now()
    mine = Job.objects.filter(owner=request.user)
    finished = mine.filter(finished_at__gt=since).order_by("-finished_at")
    count = finished.count()
    seen = valid.get("seen") or 0
    context = {
        "since": since.timestamp(),
        "count": count,
        "recent": finished[:NOTICE_LIMIT],
        "polling": mine.exclude(state__in=Job.FINISHED_STATES).exists(),
    }
    response = render(request, "console/_job_notice.html", context)
    if count > seen:
        trigger_client_event(response, "objectsChanged")
    return response
