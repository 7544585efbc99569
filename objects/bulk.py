"""Bulk work on objects, as jobs: delete, count (a delete's dry run) and abort
incomplete uploads older than some days.

What a delete or a count acts on is a `Plan`, kept in the job's params: objects
picked one by one, folders (prefixes; "" is the whole bucket), current versions
only or every version and delete marker, and whether incomplete uploads under
the folders go too. `walk` lists a plan page by page; the delete sends each page
as one DeleteObjects request (1 000 keys, Quiet) with several requests in flight
while the next page is listed, and records the batch in a `JobBatch` row while it
is in flight, so a task that starts again after its worker died sends it again
and counts it exactly once.

A delete never ends "succeeded" while objects remain: after its first pass it
lists every folder again, and deletes what it finds there until a pass finds
nothing but what the endpoint refused. Refused items are the job's errors, keys
named; a retry runs the plan again, which finds only what is still there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console import jobs, s3
from console.models import Job, JobBatch, JobError
from console.s3 import S3Error

log = logging.getLogger("objects.bulk")

CURRENT, ALL = "current", "all"
# A delete lists its folders again until a pass finds nothing left to send; this
# many passes at most (objects still appearing after that are being written
# under the folder meanwhile, and the job says so).
MAX_PASSES = 4
# Explicit keys are looked up (for their versions, or their size) this many at once.
LOOKUPS_IN_FLIGHT = 8

run_bulk = jobs.task("objects.run_bulk")


class InParams:
    """A dataclass kept in a job's params: `of(job.params)` reads it back (other
    keys the job keeps there, such as its cursor, are left out), `params()` writes it."""

    @classmethod
    def of(cls, params: dict):
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in params.items() if k in names})

    def params(self) -> dict:
        return asdict(self)


@dataclass
class Plan(InParams):
    keys: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    versions: str = CURRENT
    uploads: bool = False
    delete_bucket: bool = False

    @property
    def count(self) -> int:
        """How many objects and folders were picked."""
        return len(self.keys) + len(self.prefixes)

    @property
    def whole_bucket(self) -> bool:
        return "" in self.prefixes

    def describe(self) -> str:
        """What the job list shows as the job's target."""
        if self.whole_bucket:
            return _("the whole bucket")
        parts = [*self.keys, *self.prefixes]
        if len(parts) == 1:
            return parts[0]
        return ngettext("%(n)d selected item", "%(n)d selected items", len(parts)) % {
            "n": len(parts)
        }


def _item(entry: dict, version: bool) -> dict:
    # The storage class tells a restore which objects are archived without a
    # HeadObject each (listings leave it out for delete markers only); the ETag
    # is what a copy compares.
    item = {
        "Key": entry["Key"],
        "Size": entry.get("Size", 0),
        "StorageClass": entry.get("StorageClass", "STANDARD"),
    }
    if not version:
        item["ETag"] = (entry.get("ETag") or "").strip('"')
    if version:
        item["VersionId"] = entry.get("VersionId") or "null"
        if "Size" not in entry:
            item["Marker"] = True
        elif not entry.get("IsLatest", True):
            item["Noncurrent"] = True
    return item


def _version_pages(endpoint, bucket: str, prefix: str, exact: bool = False) -> Iterator[list]:
    """Every version and delete marker under `prefix` (or of the key `prefix`),
    a page at a time. The next page is listed before this one is handed out: its
    markers then name an item that still exists when the request is sent, even
    while the page before is being deleted."""
    page = s3.list_versions(endpoint, bucket, prefix=prefix, max_keys=1000)
    while True:
        entries = [_item(v, True) for v in page["versions"]]
        entries += [_item(m, True) for m in page["markers"]]
        if exact:
            entries = [e for e in entries if e["Key"] == prefix]
            # Keys sort after their own prefix: once another key shows, the rest are others.
            keys = [v["Key"] for v in page["versions"] + page["markers"]]
            last = not page["next_key"] or any(k != prefix for k in keys)
        else:
            last = not page["next_key"]
        following = None
        if not last:
            following = s3.list_versions(
                endpoint,
                bucket,
                prefix=prefix,
                key_marker=page["next_key"],
                version_marker=page["next_version"],
                max_keys=1000,
            )
        yield entries
        if following is None:
            return
        page = following


def _sized(endpoint, bucket: str, key: str) -> list[dict]:
    """The object `key` with its size (a one-key listing), or [] when it is gone."""
    objects = s3.list_keys(endpoint, bucket, prefix=key, max_keys=1)["objects"]
    return [_item(o, False) for o in objects if o["Key"] == key]


def walk(endpoint, bucket: str, plan: Plan, target: int, after: str, sized: bool):
    """The plan's items from target number `target` on, as (target, items, position):
    `position` is where listing that target carries on after these items (a key
    for StartAfter, or an index into the selected keys); None when the target
    can only be listed again from its start. `sized` looks up the size of
    individually selected objects (a count needs it, a delete does not)."""
    targets: list[tuple[str, str]] = [("keys", "")] if plan.keys else []
    targets += [("prefix", p) for p in plan.prefixes]
    for number in range(target, len(targets)):
        kind, prefix = targets[number]
        start = after if number == target else ""
        if kind == "keys":
            yield from _walk_keys(endpoint, bucket, plan, number, int(start or 0), sized)
        elif plan.versions == ALL:
            for items in _version_pages(endpoint, bucket, prefix):
                yield number, items, None
        else:
            while True:
                page = s3.list_keys(endpoint, bucket, prefix=prefix, start_after=start)
                items = [_item(o, False) for o in page["objects"]]
                if items:
                    start = items[-1]["Key"]
                yield number, items, start
                if not page["more"] or not items:
                    break


def _walk_keys(endpoint, bucket, plan: Plan, number: int, first: int, sized: bool):
    keys = plan.keys
    step = s3.DELETE_BATCH
    for begin in range(first, len(keys), step):
        chunk = keys[begin : begin + step]
        position = str(begin + len(chunk))
        if plan.versions == CURRENT and not sized:
            yield number, [{"Key": k, "Size": 0} for k in chunk], position
            continue
        with jobs.pool(LOOKUPS_IN_FLIGHT, "lookup") as pool:
            if plan.versions == ALL:
                found = pool.map(
                    lambda k: [i for p in _version_pages(endpoint, bucket, k, True) for i in p],
                    chunk,
                )
            else:
                found = pool.map(lambda k: _sized(endpoint, bucket, k), chunk)
            items = [item for items in found for item in items]
        yield number, items, position


def incomplete_uploads(endpoint, bucket: str, prefixes: list[str]) -> Iterator[list[dict]]:
    """The incomplete multipart uploads under the prefixes, a page at a time."""
    for prefix in prefixes:
        yield from upload_pages(endpoint, bucket, prefix)


# The dry run: what a delete would remove.


@dataclass
class Tally:
    objects: int = 0
    noncurrent: int = 0
    markers: int = 0
    bytes: int = 0
    uploads: int = 0

    def add(self, items: list[dict]) -> None:
        for item in items:
            if item.get("Marker"):
                self.markers += 1
            elif item.get("Noncurrent"):
                self.noncurrent += 1
            else:
                self.objects += 1
            self.bytes += item.get("Size", 0)

    @property
    def items(self) -> int:
        """What a delete of these counts as items: each version and marker is one."""
        return self.objects + self.noncurrent + self.markers


def count(endpoint, bucket: str, plan: Plan, max_items: int | None = None) -> tuple[Tally, bool]:
    """Count the plan in this request, stopping after `max_items`; (tally, complete)."""
    tally = Tally()
    for _number, items, _position in walk(endpoint, bucket, plan, 0, "", sized=True):
        tally.add(items)
        if max_items is not None and tally.items > max_items:
            return tally, False
    if plan.uploads:
        for uploads in incomplete_uploads(endpoint, bucket, plan.prefixes):
            tally.uploads += len(uploads)
    return tally, True


class CountRunner(jobs.Runner):
    """A dry run too big to count while the page waits: its card fills in as it counts."""

    audit_action = "object.count"

    def __init__(self, job: Job):
        super().__init__(job)
        self.plan = Plan.of(job.params)
        self.tally = Tally(**job.params.get("result", {}))
        cursor = self.progress.cursor or {"target": 0, "after": ""}
        if cursor.get("done"):
            # Counted to the end by a worker that died before it ended the job.
            cursor = {"target": len(self.plan.prefixes) + 1, "after": "", "uploads": True}
        self.pages = walk(
            job.endpoint, job.bucket, self.plan, cursor["target"], cursor["after"], sized=True
        )
        self.uploads_counted = cursor.get("uploads", False)

    def step(self) -> bool:
        page = next(self.pages, None)
        if page is None:
            if self.plan.uploads and not self.uploads_counted:
                uploads = incomplete_uploads(self.job.endpoint, self.job.bucket, self.plan.prefixes)
                self.tally.uploads += sum(len(page) for page in uploads)
                self.uploads_counted = True
                self._save({"target": 0, "after": "", "uploads": True})
            return False
        number, items, position = page
        self.tally.add(items)
        # From the tally, which a restart rebuilds from the saved cursor: no item twice.
        self.progress.items_done, self.progress.bytes_done = self.tally.items, self.tally.bytes
        if position is not None:
            # A target without a position is counted again from its start after a
            # restart, so its counts are saved only once it is done.
            self._save({"target": number, "after": position})
        return True

    def _save(self, cursor: dict) -> None:
        self.progress.params["result"] = asdict(self.tally)
        self.progress.cursor = cursor

    def done(self) -> None:
        self.progress.params["result"] = asdict(self.tally)
        self.progress.cursor = {"done": True}
        self.progress.tick(force=True)
        super().done()


# The delete.


class DeleteRunner(jobs.Runner):
    audit_action = "object.bulk_delete"

    def __init__(self, job: Job):
        super().__init__(job)
        self.plan = Plan.of(job.params)
        self.endpoint = job.endpoint
        self.bucket = job.bucket
        self.width = max(1, settings.BULK_REQUESTS_IN_FLIGHT)
        self.in_flight: dict = {}
        self.failure: S3Error | None = None

    def work(self) -> None:
        with jobs.pool(self.width, f"delete-{self.job.pk}") as pool:
            self.pool = pool
            control = self.resend_pending()
            if not control:
                control = self.passes()
            self.drain()
        if self.failure:
            raise self.failure
        if control:
            return self.stop(control)
        if self.plan.uploads:
            self.abort_uploads()
        if self.plan.delete_bucket:
            return self.finish_bucket()
        self.done()

    # Batches in flight.

    def resend_pending(self) -> str:
        """Batches a dead worker had sent without recording the answer: send again."""
        for batch in JobBatch.objects.filter(job=self.job):
            control = self.submit_batch(batch)
            if control:
                return control
        return ""

    def send(self, items: list[dict], cursor: dict) -> str:
        """Record the batch and the cursor past it, then send it; the control request.

        Paused or canceled meanwhile, the batch stays unsent: a resume sends it
        with the other pending batches, a cancel drops it."""
        with transaction.atomic():
            batch = JobBatch.objects.create(job=self.job, items=items)
            self.progress.cursor = cursor
            control = self.progress.tick(force=True)
        return control or self.submit_batch(batch)

    def submit_batch(self, batch: JobBatch) -> str:
        while len(self.in_flight) >= self.width:
            self.collect(block=True)
        future = self.pool.submit(s3.delete_objects, self.endpoint, self.bucket, batch.items)
        self.in_flight[future] = batch
        self.collect(block=False)
        return "" if self.failure is None else "failed"

    def collect(self, block: bool) -> None:
        if not self.in_flight:
            return
        finished, _ = wait(
            list(self.in_flight), timeout=None if block else 0, return_when=FIRST_COMPLETED
        )
        for future in finished:
            batch = self.in_flight.pop(future)
            try:
                errors = future.result()
            except S3Error as err:
                self.failure = self.failure or err
                continue
            self.record(batch, errors)

    def record(self, batch: JobBatch, errors: list[dict]) -> None:
        refused = {(e["Key"], e.get("VersionId") or "") for e in errors}
        freed = sum(i.get("Size", 0) for i in batch.items if not _among(i, refused))
        with transaction.atomic():
            JobBatch.objects.filter(pk=batch.pk).delete()
            JobError.objects.bulk_create(
                [
                    JobError(
                        job=self.job,
                        key=e["Key"],
                        version_id=e.get("VersionId") or "",
                        code=(e.get("Code") or "Error")[:100],
                        message=(e.get("Message") or "")[:2000],
                        request_id=e.get("RequestId", "")[:200],
                        attempt=self.job.attempt,
                    )
                    for e in errors
                ]
            )
            self.progress.add(
                nbytes=freed, items=len(batch.items) - len(errors), failed=len(errors)
            )
            self.progress.tick(force=True)

    def drain(self) -> None:
        while self.in_flight:
            self.collect(block=True)

    # Listing and sending.

    def passes(self) -> str:
        cursor = self.progress.cursor or {"pass": 1, "target": 0, "after": ""}
        number = cursor["pass"]
        while True:
            sent = self.one_pass(number, cursor["target"], cursor["after"])
            if isinstance(sent, str):
                return sent
            self.drain()
            if self.failure:
                return "failed"
            if not sent and number > 1:
                return ""
            if number >= MAX_PASSES:
                # Something keeps writing under the folder: say so rather than "succeeded".
                still = S3Error(
                    "StillWriting",
                    _("Objects kept appearing under the folder while it was being deleted."),
                )
                self.fail_item(", ".join(self.plan.prefixes), still)
                return ""
            number += 1
            cursor = {"pass": number, "target": 0, "after": ""}

    def one_pass(self, number: int, target: int, after: str) -> int | str:
        """Send everything the plan lists that was not refused before; the items
        sent, or the control request that stopped the pass. Passes after the
        first list only folders: a selected key's answer is final."""
        plan = self.plan
        if number > 1:
            plan = Plan(prefixes=plan.prefixes, versions=plan.versions)
            if not plan.prefixes:
                return 0
            target = min(target, len(plan.prefixes))
        elif self.retrying and plan.keys:
            # A retry sends again only the selected keys that failed last time.
            failed = set(
                JobError.objects.filter(job=self.job, attempt=self.job.attempt - 1).values_list(
                    "key", flat=True
                )
            )
            plan = Plan(**{**plan.params(), "keys": [k for k in plan.keys if k in failed]})
        sent = 0
        for target_number, items, position in walk(
            self.endpoint, self.bucket, plan, target, after, sized=False
        ):
            items = self.not_refused(items)
            cursor = {"pass": number, "target": target_number, "after": position or ""}
            if position is None:
                # Listed again from its start after a restart: the cursor stays at the target.
                cursor["after"] = ""
            if items:
                sent += len(items)
                control = self.send(items, cursor)
            else:
                self.progress.cursor = cursor
                control = self.progress.tick()
            if control:
                return control
        return sent

    def not_refused(self, items: list[dict]) -> list[dict]:
        """Items the endpoint has not refused in this run (a refusal is final for the run)."""
        if not items or not self.progress.items_failed:
            return items
        refused = set(
            JobError.objects.filter(
                job=self.job, attempt=self.job.attempt, key__in={i["Key"] for i in items}
            ).values_list("key", "version_id")
        )
        if not refused:
            return items
        return [i for i in items if not _among(i, refused)]

    # After the objects.

    def abort_uploads(self) -> None:
        """Abort the incomplete uploads under the folders, several at once."""
        aborted = self.progress.params.get("uploads_aborted", 0)
        for uploads in incomplete_uploads(self.endpoint, self.bucket, self.plan.prefixes):
            for upload, err in abort_all(self.endpoint, self.bucket, uploads, self.width):
                if err is None:
                    aborted += 1
                else:
                    self.fail_item(upload["Key"], err, version_id=upload["UploadId"])
        self.progress.params["uploads_aborted"] = aborted
        self.progress.tick(force=True)

    def finish_bucket(self) -> None:
        if self.progress.items_failed:
            return self.done(note=_("The bucket was not deleted: some of its contents remain."))
        s3.delete_bucket(self.endpoint, self.bucket)
        self.done()


def _among(item: dict, refused: set[tuple[str, str]]) -> bool:
    """Whether the item is among the refused (key, version) pairs. An error without
    a version (moto leaves it out of DeleteObjects' errors) stands for every
    version of its key: which of those sent together was refused is unknown."""
    return (item["Key"], item.get("VersionId", "")) in refused or (item["Key"], "") in refused


def abort_all(endpoint, bucket: str, uploads: list[dict], width: int):
    """Abort the uploads, `width` at a time: (upload, None) or (upload, S3Error) each."""

    def abort(upload):
        try:
            s3.abort_multipart(endpoint, bucket, upload["Key"], upload["UploadId"], missing_ok=True)
        except S3Error as err:
            return upload, err
        return upload, None

    with jobs.pool(width, "abort") as pool:
        return list(pool.map(abort, uploads))


# Abort incomplete uploads older than some days (O10).


class AbortUploadsRunner(jobs.Runner):
    """Abort every incomplete upload of the bucket started before the cutoff.

    The listing starts again from its beginning after a restart: aborted uploads
    are gone from it, so only the ones left are listed again."""

    audit_action = "multipart.abort_older"

    def __init__(self, job: Job):
        super().__init__(job)
        self.cutoff = parse_datetime(job.params["cutoff"])
        self.pages = upload_pages(job.endpoint, job.bucket)

    def step(self) -> bool:
        page = next(self.pages, None)
        if page is None:
            return False
        old = [u for u in page if u.get("Initiated") and u["Initiated"] < self.cutoff]
        width = max(1, settings.BULK_REQUESTS_IN_FLIGHT)
        for upload, err in abort_all(self.job.endpoint, self.job.bucket, old, width):
            if err is None:
                self.progress.add(items=1)
            else:
                self.fail_item(upload["Key"], err, version_id=upload["UploadId"])
        self.progress.tick(force=True)
        return True


def upload_pages(endpoint, bucket: str, prefix: str = "") -> Iterator[list[dict]]:
    """The incomplete uploads under `prefix`, a page at a time; like `_version_pages`,
    the next page is listed before this one is handed out (and aborted)."""
    page = s3.list_multipart(endpoint, bucket, prefix=prefix)
    while True:
        following = None
        if page["next_key"]:
            following = s3.list_multipart(
                endpoint,
                bucket,
                prefix=prefix,
                key_marker=page["next_key"],
                upload_marker=page["next_upload"],
            )
        yield page["uploads"]
        if following is None:
            return
        page = following


class EmptyBucketRunner(DeleteRunner):
    """Everything in the bucket, then the bucket (its plan says delete_bucket)."""

    audit_action = "bucket.empty_and_delete"


def register() -> None:
    """Called from the app's ready(): the kinds this module runs."""
    for kind, runner in (
        (Job.Kind.DELETE, DeleteRunner),
        (Job.Kind.EMPTY_BUCKET, EmptyBucketRunner),
        (Job.Kind.COUNT, CountRunner),
        (Job.Kind.ABORT_UPLOADS, AbortUploadsRunner),
    ):
        jobs.register(kind, runner, task=run_bulk.name)
