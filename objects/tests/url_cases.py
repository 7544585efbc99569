from __future__ import annotations

from console.tests.matrix import Case

CASES = [
    Case(
        "objects:browse",
        "viewer",
        kwargs=lambda ctx: {"code": ctx.endpoint.code, "bucket": ctx.bucket},
    ),
]


# Uploads (SPEC O6): operator level. The upload is a finished one, so nothing
# is sent to the bucket or queued while the matrix runs.
def _upload_kwargs(ctx, **more):
    if "upload" not in ctx.extra:
        from django.contrib.auth import get_user_model

        from console.models import Job
        from objects.models import Upload

        job = Job.objects.create(
            kind=Job.Kind.UPLOAD,
            state=Job.State.SUCCEEDED,
            owner=get_user_model().objects.get(username="operator"),
            endpoint=ctx.endpoint,
            bucket=ctx.bucket,
            target="up.txt",
        )
        ctx.extra["upload"] = Upload.objects.create(job=job, key="up.txt", size=2, chunk_size=2)
    upload = ctx.extra["upload"]
    return {"code": ctx.endpoint.code, "bucket": ctx.bucket, "job": upload.job.code, **more}


CASES += [
    Case(
        "objects:upload",
        "operator",
        kwargs=lambda ctx: {"code": ctx.endpoint.code, "bucket": ctx.bucket},
    ),
    Case(
        "objects:upload_create",
        "operator",
        method="post",
        kwargs=lambda ctx: {"code": ctx.endpoint.code, "bucket": ctx.bucket},
    ),
    Case(
        "objects:upload_chunk",
        "operator",
        method="put",
        kwargs=lambda ctx: _upload_kwargs(ctx, number=1),
    ),
    Case("objects:upload_complete", "operator", method="post", kwargs=_upload_kwargs),
]
