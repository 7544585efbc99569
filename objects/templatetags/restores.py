"""`{% restore_section job request as section %}`: a restore job's objects for its page.

The job page includes the kind's section template (jobs.Kind.page_template);
this tag gives it the count of objects in each state and one page of them,
filtered by state, so a job over a folder of millions still renders at once.
"""

from __future__ import annotations

from django import template
from django.core.paginator import Paginator
from django.db.models import Count

register = template.Library()

PER_PAGE = 100


@register.simple_tag
def restore_section(job, request) -> dict:
    from objects.forms import RestoreItemsForm
    from objects.models import RestoreItem

    form = RestoreItemsForm(request.GET)
    # Values the form refuses are ignored: the section then lists every state, page 1.
    valid = form.cleaned_data if form.is_valid() else {}
    state = valid.get("state") or ""
    rows = RestoreItem.objects.filter(job=job)
    counts = dict(rows.values_list("state").annotate(n=Count("pk")).order_by())
    if state:
        rows = rows.filter(state=state)
    page = Paginator(rows.order_by("pk"), PER_PAGE).get_page(valid.get("page") or 1)
    return {
        "counts": [
            {"state": value, "label": label, "n": counts.get(value, 0)}
            for value, label in RestoreItem.State.choices
        ],
        "total": sum(counts.values()),
        "state": state,
        "page": page,
    }
