"""Copy and move objects as a job: to another prefix, another bucket, or a bucket of
another endpoint.

Within an endpoint an object is copied by the endpoint itself: CopyObject up to
COPY_MULTIPART_THRESHOLD, UploadPartCopy above it. Between endpoints its bytes
travel through the worker as ranged GETs sent on as parts, COPY_PARTS_IN_FLIGHT
at a time for the whole job, so the worker's memory is bounded by parts in
flight times the part size. Headers, user metadata and tags come along.

The job lists its sources a page at a time and copies COPY_OBJECTS_IN_FLIGHT
objects of a page at once. A page's counts are committed with the cursor past
it; a task that starts again redoes the page it was in (objects copied already
are copied again, or skipped when the plan says so) and carries on with a
multipart copy from the parts the destination already holds (their upload ids
are in the row). A move deletes each source only once its copy is verified:
the same size, and the same ETag where both sides compute it the same way.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from console import jobs, s3
from console.models import Endpoint, Job, JobError
from console.s3 import S3Error
from objects import bulk

log = logging.getLogger("objects.copy")

SKIP, OVERWRITE, DIFFERENT = "skip", "overwrite", "different"
MAX_PARTS = 10_000

run_copy = jobs.task("objects.run_copy")


@dataclass
class CopyPlan(bulk.InParams):
    keys: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    # The folder the sources were picked in: what follows it in a key is kept
    # below the destination prefix ("a/b/c.txt" picked in "a/" → dest + "b/c.txt").
    base: str = ""
    dest_endpoint: int = 0
    dest_bucket: str = ""
    dest_prefix: str = ""
    move: bool = False
    on_exists: str = OVERWRITE
    storage_class: str = ""

    def sources(self) -> bulk.Plan:
        return bulk.Plan(keys=self.keys, prefixes=self.prefixes)

    def destination(self, key: str) -> str:
        rest = key[len(self.base) :] if key.startswith(self.base) else key
        return self.dest_prefix + rest

    def describe(self) -> str:
        return self.sources().describe()


def simple_etag(etag: str) -> str:
    """An ETag that is the MD5 of the bytes (not a multipart one), else ""."""
    etag = (etag or "").strip('"').lower()
    return etag if etag and "-" not in etag else ""


def part_size(size: int) -> int:
    """The configured part size, grown so that no object needs more than 10 000 parts."""
    chosen = settings.COPY_PART_SIZE
    while -(-size // chosen) > MAX_PARTS:
        chosen *= 2
    return chosen


def runs(numbers: list[int]) -> list[list[int]]:
    """Ascending part numbers cut into unbroken runs: [1, 2, 4, 5, 6] → [[1, 2], [4, 5, 6]]."""
    found: list[list[int]] = []
    for number in numbers:
        if found and found[-1][-1] == number - 1:
            found[-1].append(number)
        else:
            found.append([number])
    return found


@dataclass(frozen=True)
class PartedCopy:
    """One multipart copy under way: its source, its destination and its parts' size."""

    key: str
    etag: str
    dest: str
    upload_id: str
    size: int
    chunk: int

    def span(self, number: int) -> tuple[int, int]:
        """The first and last byte (inclusive) of part `number`."""
        first = (number - 1) * self.chunk
        return first, min(self.size, first + self.chunk) - 1


class Skipped(Exception):
    """The destination already holds this object, and the plan says to keep it."""


class CopyRunner(jobs.Runner):
    audit_action = "object.copy"
    crash_message = gettext_lazy("The copy stopped on an internal error.")

    def __init__(self, job: Job):
        super().__init__(job)
        self.plan = CopyPlan.of(job.params)
        self.source = job.endpoint
        self.target = Endpoint.objects.get(pk=self.plan.dest_endpoint)
        self.same_endpoint = self.target.pk == self.source.pk
        if self.plan.move:
            self.audit_action = "object.move"
        self.lock = threading.Lock()
        # Parts of the job in memory (read, or being read, and not yet sent).
        self.room = threading.BoundedSemaphore(max(1, settings.COPY_PARTS_IN_FLIGHT))
        self.skipped = 0
        cursor = self.progress.cursor
        if cursor:
            self.restore_committed(cursor)
        else:
            cursor = {"target": 0, "after": ""}
        self.pages = bulk.walk(
            self.source, job.bucket, self.plan.sources(), cursor["target"], cursor["after"], True
        )

    # Counts: live while a page is copied, committed with the cursor past the page.

    def restore_committed(self, cursor: dict) -> None:
        """A task that starts again counts from the last committed page, and drops
        the errors recorded after it (the page is done again)."""
        committed = cursor.get("committed", {})
        self.progress.items_done = committed.get("done", 0)
        self.progress.items_failed = committed.get("failed", 0)
        self.progress.bytes_done = committed.get("bytes", 0)
        self.skipped = committed.get("skipped", 0)
        JobError.objects.filter(
            job=self.job, attempt=self.job.attempt, id__gt=cursor.get("errors_upto", 0)
        ).delete()

    def commit(self, number: int, position) -> None:
        last_error = JobError.objects.filter(job=self.job).order_by("-id").first()
        self.progress.params["skipped"] = self.skipped
        self.progress.cursor = {
            "target": number,
            "after": position or "",
            "committed": {
                "done": self.progress.items_done,
                "failed": self.progress.items_failed,
                "bytes": self.progress.bytes_done,
                "skipped": self.skipped,
            },
            "errors_upto": last_error.pk if last_error else 0,
        }
        self.progress.tick(force=True)

    def add(self, nbytes: int = 0, items: int = 0) -> None:
        with self.lock:
            self.progress.add(nbytes=nbytes, items=items)

    # The work.

    def work(self) -> None:
        if not self.progress.cursor:
            self.count()
        objects = max(1, settings.COPY_OBJECTS_IN_FLIGHT)
        parts = max(1, settings.COPY_PARTS_IN_FLIGHT)
        with (
            jobs.pool(objects, f"copy-{self.job.pk}") as pool,
            jobs.pool(parts, f"part-{self.job.pk}") as self.parts,
        ):
            while True:
                control = self.progress.tick()
                if control:
                    return self.stop(control)
                page = next(self.pages, None)
                if page is None:
                    break
                number, items, position = page
                control = self.copy_page(pool, items)
                if control:
                    return self.stop(control)
                self.commit(number, position)
        self.done(note=self.skipped_note())

    def count(self) -> None:
        """Totals first, for the progress bar and the ETA (a listing costs little)."""
        tally, _complete = bulk.count(self.source, self.job.bucket, self.plan.sources())
        Job.objects.filter(pk=self.job.pk).update(items_total=tally.items, bytes_total=tally.bytes)

    def copy_page(self, pool, items: list[dict]) -> str:
        """Copy a page's objects, a few at once; the control request that stopped it.
        Only as many are handed to the pool as it runs, so that waiting for the
        next one to end costs little however long the page."""
        width = max(1, settings.COPY_OBJECTS_IN_FLIGHT)
        queue = iter(items)
        pending: dict = {}
        control = ""
        while True:
            while not control and len(pending) < width:
                item = next(queue, None)
                if item is None:
                    break
                pending[pool.submit(self.copy_item, item)] = item["Key"]
            if not pending:
                return control
            done, _still = wait(list(pending), timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                self.count_outcome(pending.pop(future), future)
            control = control or self.progress.tick()

    def count_outcome(self, key: str, future) -> None:
        """In the job's own thread, which owns the row and the error list."""
        if future.cancelled():
            return
        outcome = future.result()
        if isinstance(outcome, S3Error):
            self.fail_item(key, outcome)
        elif outcome == SKIP:
            self.skipped += 1
            self.add(items=1)
        else:
            self.add(items=1)

    def skipped_note(self) -> str:
        if not self.skipped:
            return ""
        return ngettext(
            "%(n)d object was already at the destination and was skipped.",
            "%(n)d objects were already at the destination and were skipped.",
            self.skipped,
        ) % {"n": self.skipped}

    def stop(self, control: str) -> None:
        if control == Job.Control.PAUSE:
            # A resume redoes the page: the row keeps the counts committed before it.
            self.restore_committed(self.progress.cursor or {})
        super().stop(control)

    def on_cancel(self) -> None:
        abort_uploads(self.job, self.target, self.plan.dest_bucket)

    # One object.

    def copy_item(self, item: dict):
        """In the object pool: copy one object; "copied", SKIP or the S3Error."""
        key = item["Key"]
        dest = self.plan.destination(key)
        try:
            if self.same_endpoint and dest == key and self.plan.dest_bucket == self.job.bucket:
                raise S3Error("SameObject", _("The destination is the object itself."))
            self.check_destination(item, dest)
            etag = self.copy(item, dest)
            self.verify(item, dest, etag)
            if self.plan.move:
                s3.delete_object(self.source, self.job.bucket, key)
        except Skipped:
            return SKIP
        except S3Error as err:
            return err
        finally:
            connection.close()  # this pool thread's own, if it wrote an upload id
        return "copied"

    def check_destination(self, item: dict, dest: str) -> None:
        if self.plan.on_exists == OVERWRITE:
            return
        try:
            there = s3.head_object(self.target, self.plan.dest_bucket, dest)
        except S3Error as err:
            if err.not_found:
                return
            raise
        if self.plan.on_exists == SKIP:
            raise Skipped
        same_etag = simple_etag(there.get("ETag", "")) == simple_etag(item.get("ETag", ""))
        if there.get("ContentLength") == item["Size"] and same_etag and simple_etag(item["ETag"]):
            raise Skipped

    def copy(self, item: dict, dest: str) -> str:
        """Copy one object; the copy's ETag as the destination's answer gave it."""
        size, bucket = item["Size"], self.plan.dest_bucket
        if self.same_endpoint and size <= settings.COPY_MULTIPART_THRESHOLD:
            answer = s3.copy_within(
                self.source, self.job.bucket, item["Key"], bucket, dest, self.plan.storage_class
            )
            self.add(size)
            return answer.get("CopyObjectResult", {}).get("ETag", "")
        head = s3.head_object(self.source, self.job.bucket, item["Key"])
        tags = s3.get_object_tags(self.source, self.job.bucket, item["Key"])
        args = s3.object_args(head, tags, self.plan.storage_class)
        size = head["ContentLength"]
        if not self.same_endpoint and size <= part_size(size):
            data = s3.read_all(self.source, self.job.bucket, item["Key"])
            if len(data) != size:
                raise S3Error("IncompleteRead", _("The source sent fewer bytes than it holds."))
            answer = s3.put_bytes(self.target, bucket, dest, data, args)
            self.add(size)
            return answer.get("ETag", "")
        return self.copy_multipart(item["Key"], dest, size, args, head.get("ETag", ""))

    def copy_multipart(self, key: str, dest: str, size: int, args: dict, etag: str) -> str:
        bucket = self.plan.dest_bucket
        chunk = part_size(size)
        count = max(1, -(-size // chunk))
        upload_id, stored = self.resume_upload(dest, etag)
        if not upload_id:
            upload_id = s3.start_multipart(self.target, bucket, dest, args)
            self.remember_upload(dest, upload_id, etag)
        parts = dict(stored)
        self.add(sum(min(chunk, size - (n - 1) * chunk) for n in parts))
        missing = [n for n in range(1, count + 1) if n not in parts]
        upload = PartedCopy(key, etag, dest, upload_id, size, chunk)
        if self.same_endpoint:
            futures = {self.parts.submit(self.part_copy, upload, n): n for n in missing}
            failure = None
        else:
            futures, failure = self.stream_parts(upload, missing)
        for future, number in futures.items():
            try:
                parts[number] = future.result()
            except S3Error as err:
                failure = failure or err
        if failure:
            raise failure
        copied = s3.complete_multipart_upload(self.target, bucket, dest, upload_id, parts)
        self.forget_upload(dest)
        return copied

    def part_copy(self, upload: PartedCopy, number: int) -> str:
        first, last = upload.span(number)
        etag = s3.part_copy(
            self.source, self.job.bucket, upload.key, self.plan.dest_bucket, upload.dest,
            upload.upload_id, number, first, last, upload.etag,
        )  # fmt: skip
        self.add(last - first + 1)
        return etag

    def stream_parts(self, upload: PartedCopy, numbers: list[int]) -> tuple[dict, S3Error | None]:
        """Read the parts the destination lacks from the source, in order through
        one GET per unbroken run of them, and hand each to the job's part pool as
        soon as it is read. A part waits for room before it is read: the job never
        holds more than COPY_PARTS_IN_FLIGHT parts in memory. Stops reading at the
        first failure; the futures of the parts sent, and that failure."""
        futures: dict = {}
        broken = threading.Event()

        def sent(future):
            self.room.release()
            if future.exception() is not None:
                broken.set()

        for run in runs(numbers):
            first, _ = upload.span(run[0])
            _, last = upload.span(run[-1])
            with s3.RangeReader(
                self.source, self.job.bucket, upload.key, first, last, upload.etag
            ) as reader:
                for number in run:
                    self.room.acquire()
                    if broken.is_set():
                        self.room.release()
                        return futures, None
                    begin, end = upload.span(number)
                    try:
                        data = reader.read(end - begin + 1)
                    except S3Error as err:
                        self.room.release()
                        return futures, err
                    future = self.parts.submit(self.send_part, upload, number, data)
                    future.add_done_callback(sent)
                    futures[future] = number
        return futures, None

    def send_part(self, upload: PartedCopy, number: int, data: bytes) -> str:
        etag = s3.send_part(
            self.target, self.plan.dest_bucket, upload.dest, upload.upload_id, number, data
        )
        self.add(len(data))
        return etag

    def resume_upload(self, dest: str, etag: str) -> tuple[str, dict[int, str]]:
        """The multipart copy of `dest` a dead worker had started, and its stored
        parts; none when the source has changed since (its parts are of another
        version of the object, so that upload is aborted)."""
        upload_id, started_from = recorded(self.progress.params, dest)
        if not upload_id:
            return "", {}
        try:
            if started_from and etag and started_from != etag:
                s3.abort_multipart(
                    self.target, self.plan.dest_bucket, dest, upload_id, missing_ok=True
                )
                raise S3Error("NoSuchUpload")
            return upload_id, s3.stored_parts(self.target, self.plan.dest_bucket, dest, upload_id)
        except S3Error as err:
            if err.code != "NoSuchUpload":
                raise
            self.forget_upload(dest)
            return "", {}

    def remember_upload(self, dest: str, upload_id: str, etag: str) -> None:
        """Written at once: a worker that dies now must not leave the upload unknown."""
        with self.lock:
            uploads = {
                **self.progress.params.get("uploads", {}),
                dest: {"id": upload_id, "etag": etag},
            }
            self.progress.params["uploads"] = uploads
            params = dict(self.progress.params)
        Job.objects.filter(pk=self.job.pk, task_id=self.job.task_id).update(params=params)

    def forget_upload(self, dest: str) -> None:
        with self.lock:
            uploads = dict(self.progress.params.get("uploads", {}))
            uploads.pop(dest, None)
            self.progress.params["uploads"] = uploads
            params = dict(self.progress.params)
        Job.objects.filter(pk=self.job.pk, task_id=self.job.task_id).update(params=params)

    def verify(self, item: dict, dest: str, etag: str) -> None:
        """The copy has the source's bytes: the destination's answer gave the
        source's MD5 as the copy's ETag, or else a HeadObject finds the source's
        size (and its ETag, where both are plain MD5s)."""
        source_etag = simple_etag(item.get("ETag", ""))
        if source_etag and source_etag == simple_etag(etag):
            return
        there = s3.head_object(self.target, self.plan.dest_bucket, dest)
        copy_etag = simple_etag(there.get("ETag"))
        if there.get("ContentLength") != item["Size"] or (
            source_etag and copy_etag and source_etag != copy_etag
        ):
            raise S3Error(
                "CopyMismatch",
                _("The copy differs from the source (size or ETag); the source was kept."),
            )


def recorded(params: dict, dest: str) -> tuple[str, str]:
    """The upload id of the multipart copy to `dest` in a job's params, and the
    source ETag it started from ("" for rows written before it was kept)."""
    entry = params.get("uploads", {}).get(dest) or {}
    if isinstance(entry, str):
        return entry, ""
    return entry.get("id", ""), entry.get("etag", "")


def abort_uploads(job: Job, target: Endpoint, bucket: str) -> None:
    """Abort the multipart copies a canceled job had under way."""
    for dest in job.params.get("uploads", {}):
        upload_id, _etag = recorded(job.params, dest)
        try:
            s3.abort_multipart(target, bucket, dest, upload_id, missing_ok=True)
        except S3Error as err:
            log.warning("could not abort the copy of %s for job %s: %s", dest, job.pk, err)


def cancel_job(job: Job) -> None:
    """Clean up after a copy canceled while no worker held it."""
    plan = CopyPlan.of(job.params)
    target = Endpoint.objects.filter(pk=plan.dest_endpoint).first()
    if target is not None:
        abort_uploads(job, target, plan.dest_bucket)


def register() -> None:
    jobs.register(Job.Kind.COPY, CopyRunner, task=run_copy.name, cancel=cancel_job)
