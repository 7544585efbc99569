from __future__ import annotations

from buckets.panels import PANELS
from console.tests.matrix import Case


def _bucket(ctx):
    return {"code": ctx.endpoint.code, "bucket": ctx.bucket}


def _kept(ctx) -> int:
    """A kept insights result of the test bucket (made once per matrix run)."""
    from django.utils import timezone

    from buckets.insights import Usage
    from buckets.models import Insight

    found = Insight.objects.filter(endpoint=ctx.endpoint, bucket=ctx.bucket).first()
    if found is None:
        found = Insight.objects.create(
            endpoint=ctx.endpoint,
            bucket=ctx.bucket,
            finished_at=timezone.now(),
            object_count=0,
            bytes=0,
            result=Usage().report(),
        )
    return found.pk


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
    Case("buckets:insights", "viewer", kwargs=_bucket),
    # A prefix over 1 024 bytes: refused before a run starts.
    Case(
        "buckets:insights",
        "viewer",
        method="post",
        kwargs=_bucket,
        data=lambda ctx: {"prefix": "é" * 600},
    ),
    Case("buckets:insights_csv", "viewer", kwargs=lambda ctx: {**_bucket(ctx), "pk": _kept(ctx)}),
    Case("buckets:insights_json", "viewer", kwargs=lambda ctx: {**_bucket(ctx), "pk": _kept(ctx)}),
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
