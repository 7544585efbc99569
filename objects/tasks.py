"""The worker's side of an upload.

The task runs while the browser is still sending: every staged chunk becomes a
part as soon as it is on disk, a few at a time, each with its Content-MD5, and
its ETag is written to the chunk's row. When the browser has sent the last chunk
and every part is stored, the upload is completed, the object's size checked and
the staged data removed. A task that starts again (another worker, a resume, a
retry) asks the bucket which parts it already holds and carries on.
"""

from __future__ import annotations

import base64
import logging
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, wait

from celery import shared_task
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console import jobs, s3
from console.models import Job
from console.s3 import S3Error
from objects.models import Upload, UploadChunk

log = logging.getLogger("objects.tasks")

State = Job.State
Control = Job.Control
# What an upload waits for when it has stored every chunk that arrived: the
# browser's next chunk, or its "all sent", queues it again.
WAITING_FOR_BROWSER = "browser"
POLL_SECONDS = 0.2
RETRIES = 3
RETRY_SECONDS = 1.0


run_upload = jobs.task("objects.run_upload")


def _b64(md5_hex: str) -> str:
    return base64.b64encode(bytes.fromhex(md5_hex)).decode()


def _same_etag(etag: str, md5_hex: str) -> bool:
    return etag.strip('"').lower() == md5_hex.lower()


def _patiently(call, *args):
    """A call to the bucket, tried again a few times over some seconds when the
    failure is one that passes (500, 503, SlowDown, timeouts): one bad moment of
    the storage service must not fail an upload of many gigabytes."""
    for attempt in range(RETRIES + 1):
        try:
            return call(*args)
        except S3Error as err:
            if not err.retryable or attempt == RETRIES:
                raise
            log.warning("%s failed (%s), trying again", err.operation or call.__name__, err.code)
            time.sleep(RETRY_SECONDS * 2**attempt)


def _send_part(endpoint, upload: Upload, chunk: UploadChunk) -> str:
    """Runs in the part pool: one staged chunk to the bucket."""
    return _patiently(
        s3.upload_part,
        endpoint,
        upload.job.bucket,
        upload.key,
        upload.upload_id,
        chunk.number,
        upload.chunk_path(chunk.number),
        _b64(chunk.md5),
    )


class UploadRunner(jobs.Runner):
    audit_action = "object.upload"
    crash_message = gettext_lazy("The upload stopped on an internal error.")

    def __init__(self, job: Job):
        super().__init__(job)
        self.upload = Upload.objects.select_related("job").get(job=job)
        self.endpoint = job.endpoint
        self.idle_since = time.monotonic()

    @property
    def audit_key(self) -> str:
        return self.upload.key

    def work(self) -> None:
        if self.upload.single_request:
            self.run_single()
        else:
            self.run_multipart()

    def on_cancel(self) -> None:
        discard(self.upload)

    def succeed(self) -> None:
        size = s3.head_object(self.endpoint, self.job.bucket, self.upload.key)["ContentLength"]
        if size != self.upload.size:
            raise S3Error(
                "SizeMismatch",
                f"The stored object has {size} bytes, but {self.upload.size} were sent.",
            )
        shutil.rmtree(self.upload.staging_dir, ignore_errors=True)
        self.progress.bytes_done = self.upload.size
        self.progress.items_done = 1
        self.done()

    def idle(self) -> bool:
        """Wait a moment for the browser's next chunk; False once the job has
        given up its worker to wait for it (a chunk or "all sent" wakes it)."""
        if time.monotonic() - self.idle_since <= settings.UPLOAD_IDLE_SECONDS:
            time.sleep(POLL_SECONDS)
            return True
        if self.wait(WAITING_FOR_BROWSER) and self.news():
            # A chunk (or "all sent") came while the row was being written, and
            # saw the job still running: nobody else will wake it.
            jobs.wake(self.job, WAITING_FOR_BROWSER)
        return False

    def news(self) -> bool:
        """A staged chunk not yet sent, or the last one sent and the upload sealed."""
        if UploadChunk.objects.filter(upload=self.upload, etag="").exists():
            return True
        return Upload.objects.filter(pk=self.upload.pk, sealed=True).exists()

    # Small files: one PutObject.

    def run_single(self) -> None:
        while True:
            control = self.progress.tick()
            if control:
                return self.stop(control)
            chunk = UploadChunk.objects.filter(upload=self.upload, number=1).first()
            if chunk is not None:
                break
            if not self.idle():
                return
        s3.put_object_file(
            self.endpoint,
            self.job.bucket,
            self.upload.key,
            self.upload.chunk_path(1),
            _b64(chunk.md5),
            self.upload.options,
        )
        self.succeed()

    # Everything else: a multipart upload fed as chunks arrive.

    def start_or_resume(self) -> dict[int, str]:
        """The parts already stored, number -> ETag, after reconciling with the bucket."""
        upload = self.upload
        if not upload.upload_id:
            upload.upload_id = s3.create_multipart_upload(
                self.endpoint, self.job.bucket, upload.key, upload.options
            )
            upload.save(update_fields=["upload_id"])
            return {}
        try:
            stored = s3.stored_parts(self.endpoint, self.job.bucket, upload.key, upload.upload_id)
        except S3Error as err:
            if err.code != "NoSuchUpload":
                raise
            # Completed just before a crash? Then the object is there, whole.
            recorded = upload.chunks.exclude(etag="").count()
            if upload.sealed and recorded == upload.chunk_count:
                return {c.number: c.etag for c in upload.chunks.all()}
            raise
        done: dict[int, str] = {}
        for chunk in upload.chunks.all():
            etag = stored.get(chunk.number, "")
            if etag and _same_etag(etag, chunk.md5):
                done[chunk.number] = etag
                if chunk.etag != etag:
                    UploadChunk.objects.filter(pk=chunk.pk).update(etag=etag)
            elif chunk.etag:
                # Recorded but not in the bucket (or different bytes): send it again,
                # which needs its staged copy.
                if not upload.chunk_path(chunk.number).exists():
                    raise S3Error(
                        "PartLost",
                        f"Part {chunk.number} is missing from the bucket and no longer "
                        "staged; upload the file again.",
                    )
                UploadChunk.objects.filter(pk=chunk.pk).update(etag="")
        return done

    def run_multipart(self) -> None:
        upload = self.upload
        done = self.start_or_resume()
        sizes = dict(upload.chunks.values_list("number", "size"))
        self.progress.bytes_done = sum(sizes.get(n, 0) for n in done)
        if done and upload.sealed and len(done) == upload.chunk_count and not self._pending():
            if self._complete(done):
                return
        width = max(1, settings.UPLOAD_PART_CONCURRENCY)
        in_flight: dict = {}
        failure: S3Error | None = None
        with jobs.pool(width, f"upload-{self.job.pk}") as pool:
            while True:
                control = self.progress.tick()
                finished, _ = wait(list(in_flight), timeout=0) if in_flight else ((), ())
                for future in finished:
                    chunk = in_flight.pop(future)
                    try:
                        etag = future.result()
                    except S3Error as err:
                        failure = failure or err
                        continue
                    UploadChunk.objects.filter(pk=chunk.pk).update(etag=etag)
                    upload.chunk_path(chunk.number).unlink(missing_ok=True)
                    done[chunk.number] = etag
                    self.progress.add(chunk.size)
                    self.idle_since = time.monotonic()
                if control or failure:
                    if in_flight:
                        wait(list(in_flight), timeout=POLL_SECONDS)
                        continue
                    if failure:
                        raise failure
                    return self.stop(control)
                busy = {c.number for c in in_flight.values()}
                for chunk in self._pending(exclude=busy | set(done), limit=width - len(in_flight)):
                    in_flight[pool.submit(_send_part, self.endpoint, upload, chunk)] = chunk
                if in_flight:
                    wait(list(in_flight), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                    continue
                upload.refresh_from_db(fields=["sealed"])
                if upload.sealed and len(done) == upload.chunk_count:
                    self._complete(done)
                    return
                if not self.idle():
                    return

    def _pending(self, exclude=(), limit: int = 1):
        if limit <= 0:
            return []
        rows = UploadChunk.objects.filter(upload=self.upload, etag="").exclude(number__in=exclude)
        return list(rows.order_by("number")[:limit])

    def _complete(self, done: dict[int, str]) -> bool:
        upload = self.upload
        try:
            _patiently(
                s3.complete_multipart_upload,
                self.endpoint,
                self.job.bucket,
                upload.key,
                upload.upload_id,
                done,
            )
        except S3Error as err:
            # Already completed by a worker that died before writing it down.
            if err.code != "NoSuchUpload":
                raise
        self.succeed()
        return True


def discard(upload: Upload) -> None:
    """Abort the multipart upload and delete the staged chunks (cancel)."""
    if upload.upload_id:
        s3.abort_multipart(
            upload.job.endpoint, upload.job.bucket, upload.key, upload.upload_id, missing_ok=True
        )
    shutil.rmtree(upload.staging_dir, ignore_errors=True)


def discard_job(job: Job) -> None:
    """Clean up after an upload job canceled while no worker held it."""
    upload = Upload.objects.select_related("job", "job__endpoint").filter(job=job).first()
    if upload is not None:
        discard(upload)


@shared_task(name="objects.purge_uploads", ignore_result=True)
def purge_uploads() -> int:
    """Beat runs this hourly: uploads failed or paused for longer than
    UPLOAD_KEEP_SECONDS give up their staged chunks and their multipart upload,
    whose parts the provider bills until they are aborted."""
    from datetime import timedelta

    from django.utils import timezone

    cutoff = timezone.now() - timedelta(seconds=settings.UPLOAD_KEEP_SECONDS)
    count = 0
    stale = Upload.objects.select_related("job", "job__endpoint").filter(
        job__state__in=[State.FAILED, State.PAUSED, State.WAITING], job__heartbeat_at__lt=cutoff
    )
    for upload in stale:
        job = upload.job
        with jobs.speaking(job):
            note = _("The staged data was discarded after waiting too long; upload the file again.")
        taken = Job.objects.filter(pk=job.pk, state=job.state, heartbeat_at__lt=cutoff).update(
            state=State.FAILED if job.state == State.FAILED else State.CANCELED,
            error=note,
            finished_at=timezone.now(),
        )
        if not taken:
            continue
        try:
            discard(upload)
        except S3Error as err:
            log.warning("could not abort upload of job %s: %s", job.pk, err)
        count += 1
    return count
