from __future__ import annotations

from console.tests.matrix import Case

CASES = [
    Case("healthz", "public", kwargs=lambda ctx: {}),
    Case("login", "public", kwargs=lambda ctx: {}),
    Case("logout", "login", method="post", kwargs=lambda ctx: {}),
    Case("home", "login", kwargs=lambda ctx: {}),
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
