"""Every URL × anonymous, outsider, viewer, operator, manager, admin."""

from __future__ import annotations

import importlib

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from console.tests.matrix import ALLOWED, ROLES, Case

APPS = ["console", "buckets", "objects"]
# Django's own admin guards itself (staff only); it is not ours to enumerate.
UNLISTED_NAMESPACES = {"admin"}


def all_cases() -> list[Case]:
    cases = []
    for app in APPS:
        try:
            module = importlib.import_module(f"{app}.tests.url_cases")
        except ModuleNotFoundError:
            continue
        cases.extend(module.CASES)
    return cases


def url_names(resolver=None, prefix="") -> set[str]:
    names = set()
    for item in (resolver or get_resolver()).url_patterns:
        if isinstance(item, URLResolver):
            if item.namespace in UNLISTED_NAMESPACES:
                continue
            inner = f"{prefix}{item.namespace}:" if item.namespace else prefix
            names |= url_names(item, inner)
        elif isinstance(item, URLPattern) and item.name:
            names.add(prefix + item.name)
    return names


def routes(resolver=None, prefix="") -> list[str]:
    found = []
    for item in (resolver or get_resolver()).url_patterns:
        if isinstance(item, URLResolver):
            if item.namespace not in UNLISTED_NAMESPACES:
                found += routes(item, prefix + str(item.pattern))
        else:
            found.append(prefix + str(item.pattern))
    return found


def test_no_two_views_share_a_route():
    # Apps include their URLs under the same /e/<code>/ prefix; a route claimed twice
    # silently sends every request to the first app.
    seen = routes()
    assert sorted({r for r in seen if seen.count(r) > 1}) == []


def test_every_named_url_has_a_permission_case():
    covered = {case.name for case in all_cases()}
    missing = sorted(url_names() - covered)
    assert not missing, f"URLs without a permission case: {missing}"


@pytest.mark.s3
@pytest.mark.parametrize("case", all_cases(), ids=lambda case: case.id)
def test_permission_matrix(case, ctx, client, django_user_model):
    from django.utils.http import urlencode

    url = reverse(case.name, kwargs=case.kwargs(ctx))
    query = case.query(ctx)
    if query:
        url += "?" + urlencode(query)
    users = {u.username: u for u in django_user_model.objects.all()}
    users["admin"] = users.get("admin")
    for role in ROLES:
        client.logout()
        if role != "anonymous":
            client.force_login(users[role])
        call = getattr(client, case.method)
        response = call(url, case.data(ctx)) if case.method != "get" else call(url)
        status = response.status_code
        if role in ALLOWED[case.level]:
            assert status not in (403, 404, 405, 500), f"{role} refused {case.id}: {status}"
        elif role == "anonymous" and case.api:
            assert status == 401, f"anonymous got {status} for {case.id}, expected 401"
        elif role == "anonymous":
            assert status == 302 and "/login/" in response["Location"], (
                f"anonymous reached {case.id}: {status}"
            )
        else:
            assert status == 404, f"{role} got {status} for {case.id}, expected 404"
