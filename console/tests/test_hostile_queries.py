"""Every query parameter is input: hostile values get a 400 or are ignored, never a 500.

Each GET URL of the permission matrix is requested by an administrator with every
query parameter the console reads set to one hostile value at a time.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from console.tests.test_permissions import all_cases

HOSTILE_VALUES = [
    "99999999999999999999999",
    "1e308",
    "-1e12",
    "253402300800",
    "inf",
    "nan",
    "-1",
    "0x10",
    "",
    " ",
    "<script>alert(1)</script>",
    "%00%zz",
    "\x00",
    "a\r\nSet-Cookie: x=1",
    "../../etc/passwd",
    "//evil.example/",
    "rtl\u202egnp.exe",
    "\U0001f600" * 3,
    "x" * 5000,
    "2026-13-45",
]


def query_names() -> list[str]:
    """The names of every query parameter a GET view reads."""
    from buckets.forms import InsightsForm
    from buckets.panels.forms import PolicyTemplateForm
    from console.forms import AuditFilterForm
    from console.job_views import JobListForm, NoticeForm
    from objects.forms import (
        AbortOlderForm,
        BrowseForm,
        BulkDeleteForm,
        CopyJobForm,
        MultipartListForm,
        ObjectTabForm,
        PartsForm,
        RestoreForm,
        RestoreItemsForm,
        VersionsForm,
    )
    from objects.uploads import PrefixForm

    names = {"page", "q", "next", "provider", "name", "key", "version"}
    for form in (
        InsightsForm,
        PolicyTemplateForm,
        AuditFilterForm,
        JobListForm,
        NoticeForm,
        BrowseForm,
        MultipartListForm,
        ObjectTabForm,
        PartsForm,
        VersionsForm,
        PrefixForm,
        BulkDeleteForm,
        AbortOlderForm,
        CopyJobForm,
        RestoreForm,
        RestoreItemsForm,
    ):
        names |= set(form.base_fields)
    return sorted(names)


GET_CASES = [case for case in all_cases() if case.method == "get"]


@pytest.mark.s3
@pytest.mark.parametrize("case", GET_CASES, ids=lambda case: case.id)
def test_hostile_query_values_never_give_a_500(case, ctx, client, admin_user):
    client.force_login(admin_user)
    url = reverse(case.name, kwargs=case.kwargs(ctx))
    base = case.query(ctx)
    names = query_names()
    failures = []
    for value in HOSTILE_VALUES:
        query = {**base, **dict.fromkeys(names, value)}
        response = client.get(url + "?" + urlencode(query), headers={"HX-Request": "true"})
        if response.status_code >= 500:
            failures.append((value[:40], response.status_code))
    assert not failures, f"{case.id}: {failures}"
