"""Bucket insights: where the bytes are, counted by a job that lists every object
version once.

The job lists the bucket (or a prefix of it) 1 000 entries a request:
ListObjectVersions when the bucket is or was versioned, ListObjectsV2 otherwise;
then the incomplete multipart uploads and their parts. `Usage` aggregates as
the pages come, in memory that does not grow with the bucket: listings come in
key order, so every folder's keys come one after another and a folder's totals
are final once a key outside it shows; only the 50 largest folders at each
depth and the 50 largest objects are kept. The aggregate is saved in the job's
row with the listing cursor past the page it counted, so a task that starts
again carries on from there and counts nothing twice. The result of a finished
run is kept per bucket and prefix (`Insight`), the last few of them, so that a
page can say how old it is and what changed since the run before.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from buckets.models import Insight
from console import jobs, s3
from console.models import Job

run_insights = jobs.task("buckets.run_insights")

# How many folders (at each depth) and objects the result names.
TOP = 50
KiB, MiB, GiB = 1024, 1024**2, 1024**3

# Age bands by last modified: each is "younger than" its days (the last: older).
AGE_BANDS = (
    (1, _("under a day")),
    (7, _("1–7 days")),
    (30, _("1–4 weeks")),
    (91, _("1–3 months")),
    (365, _("3–12 months")),
    (730, _("1–2 years")),
    (None, _("2 years or more")),
)
# Size bands: each is "smaller than" its bytes (the first: empty; the last: larger).
SIZE_BANDS = (
    (1, _("empty")),
    (4 * KiB, _("under 4 KiB")),
    (MiB, _("4 KiB – 1 MiB")),
    (16 * MiB, _("1–16 MiB")),
    (128 * MiB, _("16–128 MiB")),
    (GiB, _("128 MiB – 1 GiB")),
    (5 * GiB, _("1–5 GiB")),
    (None, _("5 GiB or more")),
)


def band(value: float, bands) -> int:
    for number, (limit, _label) in enumerate(bands):
        if limit is None or value < limit:
            return number
    return len(bands) - 1


def folder(key: str, base: str, depth: int) -> str | None:
    """The folder at `depth` below `base` that holds `key` ("a/b/" for depth 2
    of "a/b/c.txt"), or None when the key sits higher up."""
    parts = key[len(base) :].split("/")
    if len(parts) <= depth:
        return None
    return base + "/".join(parts[:depth]) + "/"


@dataclass
class Usage:
    """What a run has counted so far; `dump()` and `Usage(**saved)` carry it
    through the job's row. Objects are current versions; bytes are every stored
    version's (what the bucket holds and bills)."""

    objects: int = 0
    current_bytes: int = 0
    noncurrent: int = 0
    noncurrent_bytes: int = 0
    markers: int = 0
    bytes: int = 0
    # storage class -> [objects and versions, bytes]
    classes: dict = field(default_factory=dict)
    ages: list = field(default_factory=lambda: [[0, 0] for _ in AGE_BANDS])
    sizes: list = field(default_factory=lambda: [[0, 0] for _ in SIZE_BANDS])
    # Objects directly in the counted prefix: [objects, bytes].
    here: list = field(default_factory=lambda: [0, 0])
    # The largest folders at depth 1 and 2, as a heap of [bytes, folder, objects],
    # and the folder whose keys are being listed now at each depth (the same shape).
    top: list = field(default_factory=lambda: [[], []])
    open: list = field(default_factory=lambda: [None, None])
    # The largest current objects, as a heap of [size, key].
    largest: list = field(default_factory=list)
    uploads: int = 0
    upload_bytes: int = 0
    oldest_upload: str = ""

    def dump(self) -> dict:
        return asdict(self)

    def add(self, entries: list[dict], base: str, as_of: datetime) -> None:
        """A page of listing entries, in key order: ListObjectsV2 contents, or
        versions and delete markers (a marker has no Size)."""
        for entry in entries:
            key = entry["Key"]
            marker = "Size" not in entry
            current = entry.get("IsLatest", True)
            size = 0 if marker else int(entry["Size"])
            if marker:
                self.markers += 1
            else:
                self.count_version(entry, size, current, as_of)
                if current:
                    self.objects += 1
                    self.current_bytes += size
                    self.rank(self.largest, [size, key])
                else:
                    self.noncurrent += 1
                    self.noncurrent_bytes += size
            counted = 1 if current and not marker else 0
            if folder(key, base, 1) is None:
                self.here[0] += counted
                self.here[1] += size
            for depth in (1, 2):
                self.into_folder(depth, folder(key, base, depth), counted, size)

    def count_version(self, entry: dict, size: int, current: bool, as_of: datetime) -> None:
        self.bytes += size
        totals = self.classes.setdefault(entry.get("StorageClass") or "STANDARD", [0, 0])
        totals[0] += 1
        totals[1] += size
        modified = entry.get("LastModified")
        if isinstance(modified, str):
            modified = parse_datetime(modified)
        age = (as_of - modified).total_seconds() / 86400 if modified else 0
        for bands, value in (
            (self.ages, band(age, AGE_BANDS)),
            (self.sizes, band(size, SIZE_BANDS)),
        ):
            bands[value][0] += 1
            bands[value][1] += size

    def into_folder(self, depth: int, name: str | None, objects: int, size: int) -> None:
        if name is None:
            return
        index = depth - 1
        current = self.open[index]
        if current is not None and current[1] != name:
            self.close(index)
            current = None
        if current is None:
            current = self.open[index] = [0, name, 0]
        current[0] += size
        current[2] += objects

    def close(self, index: int) -> None:
        """The folder being listed at this depth is complete: rank it."""
        current = self.open[index]
        self.open[index] = None
        if current is None:
            return
        # A listing out of key order (never seen, but cheap to survive) would
        # bring a folder back: its totals then add up rather than show twice.
        for ranked in self.top[index]:
            if ranked[1] == current[1]:
                ranked[0] += current[0]
                ranked[2] += current[2]
                heapq.heapify(self.top[index])
                return
        self.rank(self.top[index], current)

    @staticmethod
    def rank(heap: list, item: list) -> None:
        if len(heap) < TOP:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)

    def add_upload(self, upload: dict, part_bytes: int) -> None:
        self.uploads += 1
        self.upload_bytes += part_bytes
        started = upload.get("Initiated")
        if isinstance(started, datetime):
            started = started.isoformat()
        if started and (not self.oldest_upload or started < self.oldest_upload):
            self.oldest_upload = started

    def finish(self) -> None:
        self.close(0)
        self.close(1)

    def report(self) -> dict:
        """The finished result, ranked largest first."""
        result = self.dump()
        result["top"] = [sorted(heap, reverse=True) for heap in self.top]
        result["largest"] = sorted(self.largest, reverse=True)
        del result["open"]
        return result


class InsightsRunner(jobs.Runner):
    audit_action = "bucket.insights"

    def __init__(self, job: Job):
        super().__init__(job)
        self.base = job.params.get("prefix", "")
        self.as_of = parse_datetime(job.params["as_of"])
        saved = job.params.get("usage")
        self.usage = Usage(**saved) if saved else Usage()
        self.cursor = self.progress.cursor or {"phase": "start"}

    def step(self) -> bool:
        phase = self.cursor["phase"]
        if phase == "start":
            status = s3.get_bucket_versioning(self.job.endpoint, self.job.bucket)
            self.save({"phase": "objects", "versions": status in ("Enabled", "Suspended")})
        elif phase == "objects":
            self.list_objects()
        elif phase == "uploads":
            self.list_uploads()
        else:
            return False
        return True

    def list_objects(self) -> None:
        endpoint, bucket, cursor = self.job.endpoint, self.job.bucket, self.cursor
        if cursor["versions"]:
            page = s3.list_versions(
                endpoint,
                bucket,
                prefix=self.base,
                key_marker=cursor.get("key", ""),
                version_marker=cursor.get("version", ""),
                max_keys=1000,
            )
            # Both lists are in key order: merged, every folder's entries stay together.
            entries = sorted(page["versions"] + page["markers"], key=lambda e: e["Key"])
            more = bool(page["next_key"])
            following = {**cursor, "key": page["next_key"], "version": page["next_version"]}
        else:
            page = s3.list_keys(
                endpoint, bucket, prefix=self.base, start_after=cursor.get("after", "")
            )
            entries = page["objects"]
            more = page["more"] and bool(entries)
            following = {**cursor, "after": entries[-1]["Key"] if entries else ""}
        self.usage.add(entries, self.base, self.as_of)
        if not more:
            self.usage.finish()
            following = {"phase": "uploads"}
        self.save(following)

    def list_uploads(self) -> None:
        endpoint, bucket, cursor = self.job.endpoint, self.job.bucket, self.cursor
        page = s3.list_multipart(
            endpoint,
            bucket,
            prefix=self.base,
            key_marker=cursor.get("key", ""),
            upload_marker=cursor.get("upload", ""),
        )
        for upload in page["uploads"]:
            try:
                stored = s3.stored_part_bytes(endpoint, bucket, upload["Key"], upload["UploadId"])
            except s3.S3Error as err:
                if not err.not_found:
                    raise
                continue  # completed or aborted since it was listed
            self.usage.add_upload(upload, stored)
        if page["next_key"]:
            self.save({"phase": "uploads", "key": page["next_key"], "upload": page["next_upload"]})
        else:
            self.save({"phase": "done"})

    def save(self, cursor: dict) -> None:
        """The aggregate and the cursor past what it counted, written together."""
        self.cursor = cursor
        usage = self.usage
        self.progress.params["usage"] = usage.dump()
        self.progress.params["result"] = {
            "objects": usage.objects,
            "noncurrent": usage.noncurrent,
            "markers": usage.markers,
            "bytes": usage.bytes,
            "uploads": usage.uploads,
        }
        self.progress.cursor = cursor
        self.progress.items_done = usage.objects + usage.noncurrent + usage.markers
        self.progress.bytes_done = usage.bytes

    def done(self, note: str = "") -> None:
        keep(self.job, self.usage)
        super().done(note)


def keep(job: Job, usage: Usage) -> Insight:
    """The result of a finished run, kept with its time (once per job, so a task
    that starts again after this does not keep it twice); older results of the
    same bucket and prefix beyond INSIGHTS_KEPT are dropped."""
    prefix = job.params.get("prefix", "")
    with transaction.atomic():
        insight, _created = Insight.objects.get_or_create(
            job=job,
            defaults={
                "endpoint": job.endpoint,
                "bucket": job.bucket,
                "prefix": prefix,
                "finished_at": timezone.now(),
                "object_count": usage.objects,
                "bytes": usage.bytes,
                "result": usage.report(),
            },
        )
        same = Insight.objects.filter(endpoint=job.endpoint, bucket=job.bucket, prefix=prefix)
        stale = same.order_by("-finished_at").values_list("pk", flat=True)[settings.INSIGHTS_KEPT :]
        Insight.objects.filter(pk__in=list(stale)).delete()
    return insight


def start(request, endpoint, bucket: str, prefix: str) -> Job:
    return jobs.start(
        request,
        Job.Kind.INSIGHTS,
        endpoint,
        bucket,
        prefix,
        params={"prefix": prefix, "as_of": timezone.now().isoformat()},
    )


def active_run(endpoint, bucket: str, prefix: str) -> Job | None:
    """The run of this bucket and prefix not yet finished, if there is one."""
    runs = Job.objects.filter(
        kind=Job.Kind.INSIGHTS, endpoint=endpoint, bucket=bucket, target=prefix
    ).exclude(state__in=Job.FINISHED_STATES)
    return runs.order_by("-created_at").first()


def register() -> None:
    jobs.register(
        Job.Kind.INSIGHTS,
        InsightsRunner,
        task=run_insights.name,
        page_template="buckets/_insights_job.html",
    )
