from __future__ import annotations

from console.tests.matrix import Case

CASES = [
    Case(
        "objects:browse",
        "viewer",
        kwargs=lambda ctx: {"code": ctx.endpoint.code, "bucket": ctx.bucket},
    ),
]
