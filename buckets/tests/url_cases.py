from __future__ import annotations

from buckets.panels import PANELS
from console.tests.matrix import Case


def _bucket(ctx):
    return {"code": ctx.endpoint.code, "bucket": ctx.bucket}


# POST data is chosen so that an allowed role's request changes nothing the next
# role depends on: an invalid bucket name, a wrong confirmation, an empty form.
CASES = [
    Case("buckets:list", "viewer"),
    Case("buckets:create", "manager"),
    Case("buckets:create", "manager", method="post", data=lambda ctx: {"name": "-not-valid-"}),
    Case("buckets:delete", "manager", kwargs=_bucket),
    Case(
        "buckets:delete",
        "manager",
        method="post",
        kwargs=_bucket,
        data=lambda ctx: {"confirm_name": "not-the-name"},
    ),
    Case("buckets:settings", "viewer", kwargs=_bucket),
]
for _slug, _panel in PANELS.items():
    CASES.append(Case(f"buckets:settings-{_slug}", "viewer", kwargs=_bucket))
    if _panel.actions:
        # "op" names an action; with no other field its form refuses it unsent.
        _op = "save" if "save" in _panel.actions else next(iter(_panel.actions))
        CASES.append(
            Case(
                f"buckets:settings-{_slug}",
                "manager",
                method="post",
                kwargs=_bucket,
                data=lambda ctx, op=_op: {"op": op},
            )
        )
