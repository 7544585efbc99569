"""Who may do what on which endpoint.

Every view and task reaches an endpoint through `get_endpoint_for_user`, which
answers 404 when the user has no grant at the level asked for, so a guessed URL
tells nothing about endpoints the user cannot see.
"""

from __future__ import annotations

from functools import wraps

from django.db.models import Max, Q
from django.http import Http404

from console.models import Endpoint, Grant, Level


def level_for(user, endpoint: Endpoint) -> int | None:
    """The highest level the user holds on the endpoint, directly or through a group."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_staff:
        return Level.MANAGER
    best = (
        Grant.objects.filter(endpoint=endpoint)
        .filter(Q(user=user) | Q(group__in=user.groups.all()))
        .aggregate(best=Max("level"))["best"]
    )
    return best


def endpoints_for(user):
    """The endpoints a user may see, each with `.level` set."""
    endpoints = list(Endpoint.objects.all())
    if user.is_staff:
        for endpoint in endpoints:
            endpoint.level = Level.MANAGER
        return endpoints
    levels: dict[int, int] = {}
    grants = Grant.objects.filter(Q(user=user) | Q(group__in=user.groups.all()))
    for endpoint_id, level in grants.values_list("endpoint_id", "level"):
        levels[endpoint_id] = max(level, levels.get(endpoint_id, 0))
    visible = [e for e in endpoints if e.pk in levels]
    for endpoint in visible:
        endpoint.level = levels[endpoint.pk]
    return visible


def get_endpoint_for_user(request_or_user, code, level: int = Level.VIEWER) -> Endpoint:
    """The endpoint `code` if the user holds at least `level` on it, else 404.

    The returned endpoint carries `.level` (what the user may do), which templates
    read to show or hide actions; the views check it again on every POST.
    """
    user = getattr(request_or_user, "user", request_or_user)
    try:
        endpoint = Endpoint.objects.get(code=code)
    except (Endpoint.DoesNotExist, ValueError, TypeError):
        raise Http404("No such endpoint") from None
    held = level_for(user, endpoint)
    if held is None or held < level:
        raise Http404("No such endpoint")
    endpoint.level = held
    return endpoint


def staff_required(view):
    """Administrators only; anyone else gets the same 404 as for a missing page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise Http404("Not found")
        return view(request, *args, **kwargs)

    return wrapper


def can(endpoint: Endpoint, level: int) -> bool:
    return getattr(endpoint, "level", 0) >= level
