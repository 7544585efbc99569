from __future__ import annotations

from console.tests.matrix import Case, finished_job

CASES = [
    Case("healthz", "public", kwargs=lambda ctx: {}),
    Case("login", "public", kwargs=lambda ctx: {}),
    Case(
        "set_language",
        "public",
        method="post",
        kwargs=lambda ctx: {},
        data=lambda ctx: {"language": "en", "next": "/"},
    ),
    Case("logout", "login", method="post", kwargs=lambda ctx: {}),
    Case("home", "login", kwargs=lambda ctx: {}),
    Case("javascript_catalog", "login", kwargs=lambda ctx: {}),
    Case("audit", "login", kwargs=lambda ctx: {}),
    Case("audit_csv", "login", kwargs=lambda ctx: {}),
    Case("endpoint_add", "staff", kwargs=lambda ctx: {}),
    Case("endpoint_add", "staff", method="post", kwargs=lambda ctx: {}),
    Case("endpoint_detail", "staff"),
    Case("endpoint_edit", "staff"),
    Case("endpoint_edit", "staff", method="post"),
    Case("endpoint_test", "staff", method="post"),
    Case("endpoint_delete", "staff", method="post", data=lambda ctx: {"confirm_name": "nope"}),
    Case("grant_add", "staff", method="post"),
    Case(
        "grant_delete",
        "staff",
        method="post",
        kwargs=lambda ctx: {"code": ctx.endpoint.code, "grant_id": ctx.extra["grant_id"]},
    ),
]


# Jobs: a job owned by the operator on the test endpoint. Its owner,
# the endpoint's managers and staff may see and act on it; nobody else learns
# that it exists.
def _job(ctx):
    if "job" not in ctx.extra:
        ctx.extra["job"] = finished_job(ctx, "hello.txt")
    return ctx.extra["job"]


def _job_kwargs(ctx):
    return {"code": _job(ctx).code}


CASES += [
    Case("jobs", "login", kwargs=lambda ctx: {}),
    Case("job_notice", "login", kwargs=lambda ctx: {}),
    Case("job_detail", "operator", kwargs=_job_kwargs),
    Case("job_errors_csv", "operator", kwargs=_job_kwargs),
    Case("job_pause", "operator", method="post", kwargs=_job_kwargs),
    Case("job_resume", "operator", method="post", kwargs=_job_kwargs),
    Case("job_cancel", "operator", method="post", kwargs=_job_kwargs),
    Case("job_retry", "operator", method="post", kwargs=_job_kwargs),
]
