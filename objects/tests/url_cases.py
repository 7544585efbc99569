from __future__ import annotations

import json

from console.tests.matrix import Case, finished_job


def _b(ctx):
    return {"code": ctx.endpoint.code, "bucket": ctx.bucket}


def _upload(ctx):
    """A real incomplete upload, so the parts page has something to show."""
    answer = ctx.s3.client().create_multipart_upload(Bucket=ctx.bucket, Key=ctx.key)
    return {"key": ctx.key, "upload_id": answer["UploadId"]}


def _key(ctx):
    return {"key": ctx.key}


CASES = [
    Case("objects:browse", "viewer", kwargs=_b),
    Case("objects:jump", "viewer", kwargs=_b, query=lambda ctx: {"to": ctx.key}),
    Case("objects:detail", "viewer", kwargs=_b, query=_key),
    # The object page's other tabs read more (tags, ACL, versions): each is checked.
    *[
        Case(
            "objects:detail",
            "viewer",
            kwargs=_b,
            query=lambda ctx, tab=tab: {"key": ctx.key, "tab": tab},
            label=f"{tab} tab",
        )
        for tab in ("metadata", "permissions", "versions")
    ],
    Case("objects:download", "viewer", kwargs=_b, query=_key),
    Case("objects:preview", "viewer", kwargs=_b, query=_key),
    Case("objects:share", "viewer", kwargs=_b, query=_key),
    Case(
        "objects:share",
        "viewer",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "method": "GET", "expires": 60},
    ),
    Case("objects:share_post", "operator", kwargs=_b),
    Case(
        "objects:share_post",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"prefix": "in/", "expires": 60},
    ),
    Case(
        "objects:folder_create",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"name": "made"},
    ),
    Case(
        "objects:delete",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": "not-there.txt"},
    ),
    Case(
        "objects:copy",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "target_bucket": ctx.bucket, "target_key": "c.txt"},
    ),
    Case(
        "objects:metadata",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "content_type": "text/plain"},
    ),
    Case(
        "objects:storage_class",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "storage_class": "STANDARD"},
    ),
    Case(
        "objects:tags",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "tags": "a=b"},
    ),
    Case(
        "objects:acl",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "canned": "private"},
    ),
    Case("objects:versions", "viewer", kwargs=_b, query=_key),
    Case(
        "objects:version_restore",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": ctx.key, "version": "null"},
    ),
    Case("objects:multipart", "viewer", kwargs=_b),
    Case(
        "objects:multipart_parts",
        "viewer",
        kwargs=_b,
        query=_upload,
    ),
    Case(
        "objects:multipart_abort",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"item": json.dumps([ctx.key, "nope"])},
    ),
    # Bulk delete: the review (its dry run) for a folder, for a selection, and for
    # the whole bucket, which needs manager level. Starting is tested in test_bulk.
    Case("objects:bulk_delete", "operator", kwargs=_b, query=lambda ctx: {"prefix": "in/"}),
    Case(
        "objects:bulk_delete",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": [ctx.key]},
    ),
    Case(
        "objects:bulk_delete",
        "manager",
        kwargs=_b,
        query=lambda ctx: {"everything": "on"},
        label="whole bucket",
    ),
    Case("objects:abort_older", "operator", kwargs=_b, query=lambda ctx: {"days": "7"}),
    # Copy and move: the form (no start, so nothing is queued while the matrix runs).
    Case("objects:copy_job", "operator", kwargs=_b, query=lambda ctx: {"key": ctx.key}),
    Case(
        "objects:copy_job",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": [ctx.key], "dest_bucket": ctx.bucket, "dest_prefix": "c/"},
    ),
    Case(
        "objects:dest_buckets",
        "operator",
        kwargs=_b,
        query=lambda ctx: {"dest_endpoint": str(ctx.endpoint.code)},
    ),
    # Restore: the form for one object, and for the browser's selection. Starting
    # it is tested in test_restore.
    Case("objects:restore", "operator", kwargs=_b, query=_key),
    Case(
        "objects:restore",
        "operator",
        method="post",
        kwargs=_b,
        data=lambda ctx: {"key": [ctx.key], "prefix": ["in/"]},
    ),
]


# A restore job's page carries its objects' section (paged, filtered by state).
def _restore_job(ctx):
    if "restore_job" not in ctx.extra:
        from console.models import Job
        from objects.models import RestoreItem

        job = finished_job(ctx, ctx.key)
        Job.objects.filter(pk=job.pk).update(kind=Job.Kind.RESTORE)
        RestoreItem.objects.create(job=job, key=ctx.key, state=RestoreItem.State.SKIPPED)
        ctx.extra["restore_job"] = job
    return {"code": ctx.extra["restore_job"].code}


CASES += [
    Case("job_detail", "operator", kwargs=_restore_job, label="restore"),
    Case(
        "job_detail",
        "operator",
        kwargs=_restore_job,
        query=lambda ctx: {"state": "skipped", "page": "2"},
        label="restore, a state's second page",
    ),
]


# Uploads: operator level. The upload is a finished one, so nothing
# is sent to the bucket or queued while the matrix runs.
def _upload_kwargs(ctx, **more):
    if "upload" not in ctx.extra:
        from objects.models import Upload

        job = finished_job(ctx, "up.txt")
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
        api=True,
    ),
    # Only the browser that created an upload sends its chunks and seals it.
    Case(
        "objects:upload_chunk",
        "owner",
        method="put",
        kwargs=lambda ctx: _upload_kwargs(ctx, number=1),
        api=True,
    ),
    Case("objects:upload_complete", "owner", method="post", kwargs=_upload_kwargs, api=True),
]
