"""The permission matrix: every URL the console has, by who may use it.

Each app lists its URLs in `<app>/tests/url_cases.py` as `CASES = [Case(...), ...]`.
`console/tests/test_permissions.py` runs every case for anonymous, outsider, viewer,
operator, manager and admin, and fails when a named URL has no case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ["anonymous", "outsider", "viewer", "operator", "manager", "admin"]

# Who passes each access level (the level names a Case uses).
ALLOWED = {
    "public": set(ROLES),
    "login": {"outsider", "viewer", "operator", "manager", "admin"},
    "viewer": {"viewer", "operator", "manager", "admin"},
    "operator": {"operator", "manager", "admin"},
    "manager": {"manager", "admin"},
    "staff": {"admin"},
    # What only the owner of a job may do; the matrix's jobs are the operator's.
    "owner": {"operator"},
}


@dataclass
class Ctx:
    """What a case may point at: an endpoint with a bucket holding one object."""

    endpoint: Any
    bucket: str
    key: str
    s3: Any
    extra: dict = field(default_factory=dict)


def finished_job(ctx: Ctx, target: str):
    """A succeeded upload job of the operator's on the test endpoint: URLs about jobs
    can point at it without anything being queued or sent while the matrix runs."""
    from django.contrib.auth import get_user_model

    from console.models import Job

    return Job.objects.create(
        kind=Job.Kind.UPLOAD,
        state=Job.State.SUCCEEDED,
        owner=get_user_model().objects.filter(username="operator").first(),
        endpoint=ctx.endpoint,
        bucket=ctx.bucket,
        target=target,
    )


@dataclass
class Case:
    name: str  # the URL name, e.g. "buckets:list"
    level: str  # a key of ALLOWED
    method: str = "get"
    # URL kwargs from the context; default: the endpoint's code.
    kwargs: Callable[[Ctx], dict] = lambda ctx: {"code": ctx.endpoint.code}
    query: Callable[[Ctx], dict] = lambda ctx: {}
    data: Callable[[Ctx], dict] = lambda ctx: {}
    # A JSON API for scripts (the upload module): 401 for anonymous, not the login page.
    api: bool = False
    # A label when one URL name appears in several cases.
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name}{' ' + self.label if self.label else ''}"
