"""Uploads from the browser: the upload page and the chunk API.

The browser creates an upload (one Job of kind upload), then sends each chunk as
its own PUT with a raw body. Each chunk is streamed to the staging area in 1 MiB
pieces (never a whole chunk in memory), hashed on the way, written to a temporary
name and renamed into place, so a worker only ever sees complete chunks. The
worker (objects/tasks.py) turns chunks into parts while later ones still arrive.
The forms and size rules these views apply live in objects/uploads.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from console import audit, jobs
from console.access import get_endpoint_for_user
from console.display import human_size
from console.models import Job, Level
from objects.models import Upload, UploadChunk
from objects.tasks import WAITING_FOR_BROWSER
from objects.uploads import ChunkForm, PrefixForm, UploadForm, chunk_size_for

PIECE = 1024 * 1024  # read size; a chunk is never held whole in memory


def staging_free() -> int:
    """Bytes the staging disk can still take, after the reserve."""
    root = Path(settings.STAGING_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(root).free - settings.STAGING_RESERVE_BYTES


def _form_errors(form) -> str:
    return " ".join(
        f"{field}: {e}" if field != "__all__" else str(e)
        for field, errors in form.errors.items()
        for e in errors
    )


def _session_required(view):
    """For the upload module's requests: an ended session answers 401 in words,
    not with a redirect to the login page, which a script following it would take
    for a chunk accepted."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse(
                {
                    "error": _(
                        "Your session has ended. Log in again, reload this page and choose "
                        "the file again: the upload carries on where it stopped."
                    )
                },
                status=401,
            )
        return view(request, *args, **kwargs)

    return login_not_required(wrapper)


def _upload_for(request, endpoint, bucket, job_code) -> Upload:
    """The user's own upload on this bucket, or 404.

    Chunks come from the browser that created the upload: nobody else, not even
    another operator or an administrator, can add to it or seal it.
    """
    try:
        return Upload.objects.select_related("job").get(
            job__code=job_code, job__endpoint=endpoint, job__bucket=bucket, job__owner=request.user
        )
    except Upload.DoesNotExist:
        raise Http404("No such upload") from None


def upload_page(request, code, bucket):
    """The upload page: options, a file and folder chooser, a drop zone, the queue."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = PrefixForm(request.GET)
    prefix = form.cleaned_data["prefix"] if form.is_valid() else ""
    return render(
        request, "objects/upload.html", {"endpoint": endpoint, "bucket": bucket, "prefix": prefix}
    )


@_session_required
@require_POST
def upload_create(request, code, bucket):
    """Create an upload job; answer with the chunk size and the URLs to use."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    form = UploadForm(request.POST, endpoint=endpoint)
    if not form.is_valid():
        return JsonResponse({"error": _form_errors(form)}, status=400)
    size = form.cleaned_data["size"]
    key = form.cleaned_data["key"]
    unfinished = _unfinished_upload(request, endpoint, bucket, form)
    if unfinished is not None:
        return _resume_upload(request, endpoint, bucket, unfinished)
    free = staging_free()
    if size > free:
        return JsonResponse(
            {
                "error": _(
                    "Not enough room to stage this upload: %(name)s needs %(size)s, but the "
                    "staging disk has %(free)s free. Try again later or ask an administrator."
                )
                % {"name": key, "size": human_size(size), "free": human_size(max(free, 0))}
            },
            status=507,
        )
    # The task is sent when this block commits, once the upload's row exists.
    with transaction.atomic():
        job = jobs.start(
            request,
            Job.Kind.UPLOAD,
            endpoint,
            bucket,
            key,
            detail=ngettext("%(n)d byte", "%(n)d bytes", size) % {"n": size},
            items_total=1,
            bytes_total=size,
        )
        upload = Upload.objects.create(
            job=job,
            key=key,
            size=size,
            chunk_size=chunk_size_for(size),
            options=form.options(),
            fingerprint=form.cleaned_data["fingerprint"],
        )
        upload.staging_dir.mkdir(parents=True, exist_ok=True)
    return JsonResponse(_upload_answer(endpoint, bucket, upload), status=201)


def _unfinished_upload(request, endpoint, bucket, form) -> Upload | None:
    """The user's unfinished upload of the same file to the same key with the same
    options, if there is one: a page reloaded or a browser restarted in the middle
    of an upload carries on where it stopped when the file is chosen again."""
    data = form.cleaned_data
    if not data["fingerprint"]:
        return None
    candidates = Upload.objects.select_related("job").filter(
        job__owner=request.user,
        job__endpoint=endpoint,
        job__bucket=bucket,
        # Waiting too: an upload the browser left for a moment waits for it.
        job__state__in=[Job.State.QUEUED, Job.State.RUNNING, Job.State.WAITING, Job.State.PAUSED],
        key=data["key"],
        size=data["size"],
        fingerprint=data["fingerprint"],
    )
    candidates = candidates.exclude(job__control=Job.Control.CANCEL)
    for upload in candidates.order_by("-job__created_at"):
        if upload.options == form.options():
            return upload
    return None


def _resume_upload(request, endpoint, bucket, upload: Upload):
    """Answer as for a new upload, saying which chunks the console already holds."""
    jobs.resume(upload.job)  # if the user or the browser's silence paused it
    received = [
        chunk.number
        for chunk in upload.chunks.all()
        if chunk.etag or upload.chunk_path(chunk.number).exists()
    ]
    audit.record(
        request,
        "object.upload",
        endpoint=endpoint,
        bucket=bucket,
        key=upload.key,
        outcome="resumed",
        detail=f"{len(received)} of {upload.chunk_count} chunks already received",
    )
    answer = _upload_answer(endpoint, bucket, upload)
    answer["received"] = received
    return JsonResponse(answer, status=200)


def _upload_answer(endpoint, bucket, upload: Upload) -> dict:
    job = upload.job
    base = [endpoint.code, bucket, job.code]
    return {
        "job": str(job.code),
        "key": upload.key,
        "size": upload.size,
        "chunk_size": upload.chunk_size,
        "chunks": upload.chunk_count,
        "chunk_url": reverse("objects:upload_chunk", args=[*base, 1])[:-1],
        "complete_url": reverse("objects:upload_complete", args=base),
        "pause_url": reverse("job_pause", args=[job.code]),
        "resume_url": reverse("job_resume", args=[job.code]),
        "cancel_url": reverse("job_cancel", args=[job.code]),
        "job_url": reverse("job_detail", args=[job.code]),
        "received": [],
    }


class ChecksumMismatch(Exception):
    """The chunk's bytes do not match the SHA-256 its client sent with it."""


def _receive(request, path: Path, length: int, sha256: str):
    """Stream the body to a temporary file beside `path`; return (temp, md5).

    Returns temp=None when the body ended before `length` bytes (a cut
    connection), and raises ChecksumMismatch when the client sent a SHA-256 of the
    chunk that the bytes do not match. The MD5 is what the part is later sent
    with, so the bucket checks that the bytes it stores are the ones that
    arrived here; a chunk damaged on the staging disk (no fsync) cannot reach it.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256() if sha256 else None
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    remaining = length
    try:
        with open(temp, "wb") as out:
            while remaining:
                piece = request.read(min(PIECE, remaining))
                if not piece:
                    break
                md5.update(piece)
                if sha:
                    sha.update(piece)
                out.write(piece)
                remaining -= len(piece)
        if remaining:
            temp.unlink()
            return None, ""
        if sha and sha.hexdigest() != sha256:
            raise ChecksumMismatch
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, md5.hexdigest()


@_session_required
@require_http_methods(["PUT"])
def upload_chunk(request, code, bucket, job, number):
    """One chunk, raw body. Idempotent: the browser may send a chunk again.

    A client may send the chunk's SHA-256 in X-Chunk-SHA256 to have it checked
    here; the browser does not (TLS already guards the way to the console).
    """
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    upload = _upload_for(request, endpoint, bucket, job)
    form = ChunkForm(
        {
            "number": number,
            "length": request.META.get("CONTENT_LENGTH") or "",
            "sha256": request.headers.get("X-Chunk-SHA256", ""),
        },
        upload=upload,
    )
    if not form.is_valid():
        return JsonResponse({"error": _form_errors(form)}, status=400)
    if upload.job.finished:
        return JsonResponse({"error": _("This upload has ended.")}, status=409)
    length = form.cleaned_data["length"]
    if length > staging_free():
        return JsonResponse(
            {"error": _("The staging disk is full; try again in a moment.")}, status=507
        )
    path = upload.chunk_path(number)
    try:
        temp, md5 = _receive(request, path, length, form.cleaned_data["sha256"].lower())
    except FileNotFoundError:
        # The staging folder is gone: the upload was canceled meanwhile.
        return JsonResponse({"error": _("This upload has ended.")}, status=409)
    except ChecksumMismatch:
        return JsonResponse(
            {"error": _("The chunk was damaged on the way (checksum mismatch); send it again.")},
            status=400,
        )
    except OSError:
        return JsonResponse(
            {"error": _("The staging disk could not take this chunk; try again.")}, status=507
        )
    if temp is None:
        return JsonResponse(
            {"error": _("The chunk arrived incomplete (the connection was cut); send it again.")},
            status=400,
        )
    sent = UploadChunk.objects.filter(upload=upload, number=number, md5=md5).exclude(etag="")
    if sent.exists():
        temp.unlink(missing_ok=True)  # the same bytes are already in the bucket
    else:
        try:
            os.replace(temp, path)
        except FileNotFoundError:
            # A cancel removed the staging folder (and our temporary file in it)
            # while the body was arriving.
            return JsonResponse({"error": _("This upload has ended.")}, status=409)
        UploadChunk.objects.bulk_create(
            [UploadChunk(upload=upload, number=number, size=length, md5=md5, etag="")],
            update_conflicts=True,
            unique_fields=["upload", "number"],
            update_fields=["size", "md5", "etag", "received_at"],
        )
    row = Job.objects.filter(pk=upload.job_id).values_list("state", "waiting_for").first()
    state, waiting_for = row or (Job.State.CANCELED, "")  # a deleted job has ended too
    if state == Job.State.CANCELED:
        # Canceled while we wrote: what we wrote must not stay behind.
        shutil.rmtree(upload.staging_dir, ignore_errors=True)
        return JsonResponse({"error": _("This upload has ended.")}, status=409)
    if state == Job.State.WAITING and waiting_for == WAITING_FOR_BROWSER:
        jobs.wake(upload.job, WAITING_FOR_BROWSER)  # the worker carries on with this chunk
    return JsonResponse({"number": number, "md5": md5})


@_session_required
@require_POST
def upload_complete(request, code, bucket, job):
    """The browser has sent every chunk; the worker completes the upload."""
    endpoint = get_endpoint_for_user(request, code, Level.OPERATOR)
    upload = _upload_for(request, endpoint, bucket, job)
    if upload.job.finished and upload.job.state != Job.State.SUCCEEDED:
        return JsonResponse(
            {
                "error": _("This upload has ended (%(state)s).")
                % {"state": upload.job.get_state_display().lower()}
            },
            status=409,
        )
    have = set(upload.chunks.values_list("number", flat=True))
    missing = [n for n in range(1, upload.chunk_count + 1) if n not in have]
    if missing:
        shown = ", ".join(str(n) for n in missing[:10])
        return JsonResponse(
            {"error": _("Chunks not received yet: %(list)s.") % {"list": shown}}, status=400
        )
    Upload.objects.filter(pk=upload.pk).update(sealed=True)
    jobs.wake(upload.job, WAITING_FOR_BROWSER)
    return JsonResponse({"job": str(upload.job.code), "state": upload.job.state})
