"""Restoring archived objects, as a job (SPEC O9, J4).

A restore acts on a `bulk.Plan`: objects picked one by one and folders, current
versions only. It runs in two phases, both resumable from the cursor in the
job's params:

1. Request: the plan is listed page by page (the listing's storage class says
   which objects are archived, so no HeadObject is needed to choose) and every
   archived object gets a RestoreObject, several in flight; each object becomes
   a `RestoreItem` row, those not archived as "skipped". A page's rows, errors
   and the cursor past it are written in one transaction, so a task that starts
   again carries on after the last page written and counts nothing twice.
2. Check: the objects still being restored are asked for their `Restore`
   header (HeadObject) on a schedule. Between checks the job waits (state
   waiting, no worker held); the beat task `objects.wake_restores` queues it
   again once `params["next_check"]` has passed, backing off from
   RESTORE_CHECK_FIRST_SECONDS to RESTORE_CHECK_MAX_SECONDS. The job ends when
   no object is left in progress.

An endpoint that does not implement RestoreObject (the Ceph gateway answers 501)
fails the job once, in one sentence, not once per object: the first archived
object is requested alone, the rest only after it got an answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from console import jobs, s3
from console.models import Job, JobError
from console.s3 import S3Error
from objects.bulk import Plan, walk
from objects.detail import parse_restore
from objects.models import RestoreItem

Item = RestoreItem.State
# What a restore job waits for between its checks (Job.WAITING_TEXTS).
WAITING_FOR_RESTORE = "restore"
# Answers to RestoreObject that mean "this object is not archived": the ZOS manual
# names ObjectAlreadyInActiveTierError; moto answers InvalidObjectState for an
# object whose class a restore does not apply to.
NOT_ARCHIVED = {"ObjectAlreadyInActiveTierError", "InvalidObjectState"}
# Failures that are the endpoint's, not one object's (credentials rotated or
# expired during a wait of hours, the bucket gone, the host unreachable): the job
# stops on the first of them, once, rather than failing every object alike.
ENDPOINT_WIDE = {
    "AccountProblem",
    "AllAccessDisabled",
    "DnsFailure",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidEndpoint",
    "InvalidToken",
    "NoCredentials",
    "NoSuchBucket",
    "NotTls",
    "RequestTimeTooSkewed",
    "SecretUnreadable",
    "SignatureDoesNotMatch",
    "TlsFailure",
    "UserSuspended",
}
# The objects a check asks about in one go (HeadObject each, several in flight).
CHECK_BATCH = 200

run_restore = jobs.task("objects.run_restore")


def not_supported_error(err: S3Error) -> S3Error:
    return S3Error(
        err.code,
        _("Restore is not supported by this endpoint."),
        status=err.status,
        request_id=err.request_id,
        operation=err.operation or "RestoreObject",
    )


def check_delay(checks: int) -> float:
    """Seconds until check number `checks + 1`: doubling from the first delay, capped."""
    first = max(1, settings.RESTORE_CHECK_FIRST_SECONDS)
    return float(min(settings.RESTORE_CHECK_MAX_SECONDS, first * 2 ** min(checks, 30)))


def head_state(head: dict, archive_classes) -> dict:
    """What an object's HeadObject answer says of its restore: the item's new fields,
    or {} when nothing changed (archived, and no restore under way yet)."""
    restore = parse_restore(head.get("Restore"))
    if restore and restore["state"] == "restoring":
        return {"state": Item.IN_PROGRESS}
    if restore:
        until = restore.get("until")
        expires = until if isinstance(until, datetime) else None
        return {"state": Item.RESTORED, "expires_at": expires}
    if head.get("StorageClass", "STANDARD") not in archive_classes:
        # Moved out of the archive meanwhile (a copy to another class): readable as it is.
        return {"state": Item.SKIPPED, "message": _("No longer archived.")}
    return {}


class RestoreRunner(jobs.Runner):
    audit_action = "object.restore"

    def __init__(self, job: Job):
        super().__init__(job)
        self.plan = Plan.of(job.params)
        self.days = int(job.params["days"])
        self.tier = job.params.get("tier", "")
        self.archive_classes = set(job.endpoint.preset.archive_classes)
        self.width = max(1, settings.BULK_REQUESTS_IN_FLIGHT)

    def work(self) -> None:
        cursor = self.progress.cursor or {"phase": "retry" if self.retrying else "request"}
        with jobs.pool(self.width, f"restore-{self.job.pk}") as pool:
            self.pool = pool
            control = self.phases(cursor)
        if control:
            return self.stop(control)
        if RestoreItem.objects.filter(job=self.job, state__in=RestoreItem.PENDING).exists():
            return self.wait_for_next_check()
        self.done()

    def phases(self, cursor: dict) -> str:
        """Carry on from the cursor; the control request that stopped the job, or ''."""
        phase = cursor["phase"]
        if phase == "retry":
            control = self.request_failed_again()
            if control:
                return control
            phase, cursor = "request", {}
        if phase == "request":
            if self.progress.params.get("requested"):
                return ""
            # A retry lists the plan again too when the first run failed before
            # its end: what is recorded already is not requested twice. The
            # first check comes after a wait: no restore is done at once.
            return self.request_all(cursor.get("target", 0), cursor.get("after", ""))
        return self.check(cursor.get("after_id", 0))

    # Phase 1: RestoreObject for every archived object of the plan.

    def request_all(self, target: int, after: str) -> str:
        pages = walk(self.job.endpoint, self.job.bucket, self.plan, target, after, sized=True)
        for number, items, position in pages:
            cursor = {"phase": "request", "target": number, "after": position or ""}
            control = self.request_page(items, cursor)
            if control:
                return control
        self.progress.params["requested"] = True
        control = self.record(*self.missing(), cursor={"phase": "check", "after_id": 0})
        self.total()
        return control

    def missing(self) -> tuple[list[RestoreItem], list[JobError]]:
        """Selected objects the listing did not find: each fails, as missing."""
        keys = list(dict.fromkeys(self.plan.keys))
        found = set(
            RestoreItem.objects.filter(job=self.job, key__in=keys).values_list("key", flat=True)
        )
        gone = S3Error("NoSuchKey")
        missing = [key for key in keys if key not in found]
        rows = [
            RestoreItem(
                job=self.job, key=key, state=Item.FAILED, code=gone.code, message=gone.message
            )
            for key in missing
        ]
        return rows, [self.error_row(key, gone) for key in missing]

    def request_page(self, items: list[dict], cursor: dict) -> str:
        """Request the page's archived objects not yet recorded; record them all."""
        keys = [item["Key"] for item in items]
        known = set(
            RestoreItem.objects.filter(job=self.job, key__in=keys, version_id="").values_list(
                "key", flat=True
            )
        )
        fresh: dict[str, dict] = {}
        for item in items:
            if item["Key"] not in known:
                fresh.setdefault(item["Key"], item)
        rows = []
        archived = []
        for key, item in fresh.items():
            if item.get("StorageClass", "STANDARD") in self.archive_classes:
                archived.append(key)
            else:
                rows.append(RestoreItem(job=self.job, key=key, state=Item.SKIPPED))
        answers = []
        if archived and not self.progress.params.get("answered"):
            # The first request goes alone: an endpoint without RestoreObject then
            # hears about it once, and the job fails in one sentence.
            answers.append(self.request_one(archived.pop(0)))
            self.progress.params["answered"] = True
        answers += self.pool.map(self.request_one, archived)
        errors = []
        for key, answer in answers:
            row, error = self.requested_row(key, answer)
            rows.append(row)
            if error is not None:
                errors.append(error)
        return self.record(rows, errors, cursor)

    def request_one(self, key: str, version_id: str = "") -> tuple[str, int | S3Error]:
        try:
            return key, s3.restore_object(
                self.job.endpoint, self.job.bucket, key, self.days, self.tier, version_id
            )
        except S3Error as err:
            if err.not_supported:
                raise not_supported_error(err) from err
            if err.code in ENDPOINT_WIDE:
                raise
            return key, err

    def requested_row(self, key: str, answer) -> tuple[RestoreItem, JobError | None]:
        """The item for RestoreObject's answer (a status or an S3Error), and its error."""
        row = RestoreItem(job=self.job, key=key, state=Item.REQUESTED)
        if not isinstance(answer, S3Error):
            return row, None
        if answer.code in NOT_ARCHIVED:
            row.state, row.code = Item.SKIPPED, answer.code
            row.message = _("This object is not archived.")
            return row, None
        if answer.code == "RestoreAlreadyInProgress":
            row.state = Item.IN_PROGRESS
            return row, None
        row.state, row.code, row.message = Item.FAILED, answer.code[:100], str(answer)
        return row, self.error_row(key, answer)

    def error_row(self, key: str, err: S3Error) -> JobError:
        return JobError(
            job=self.job,
            key=key,
            code=err.code[:100],
            message=err.message[:2000],
            request_id=err.request_id[:200],
            attempt=self.job.attempt,
        )

    def record(self, rows: list[RestoreItem], errors: list[JobError], cursor: dict) -> str:
        """The page's items and errors, the counts and the cursor past the page, at
        once; the control request."""
        with transaction.atomic():
            RestoreItem.objects.bulk_create(rows)
            JobError.objects.bulk_create(errors)
            self.recount()
            self.progress.cursor = cursor
            return self.progress.tick(force=True)

    def request_failed_again(self) -> str:
        """A retry: RestoreObject again for the objects that failed last time (a
        restart meanwhile finds only those still failed)."""
        failed = list(RestoreItem.objects.filter(job=self.job, state=Item.FAILED).order_by("pk"))
        for start in range(0, len(failed), CHECK_BATCH):
            batch = failed[start : start + CHECK_BATCH]
            answers = self.pool.map(lambda row: self.request_one(row.key, row.version_id), batch)
            errors = []
            for row, (_key, answer) in zip(batch, answers, strict=True):
                fresh, error = self.requested_row(row.key, answer)
                row.state, row.code, row.message = fresh.state, fresh.code, fresh.message
                if error is not None:
                    errors.append(error)
            with transaction.atomic():
                RestoreItem.objects.bulk_update(batch, ["state", "code", "message"])
                JobError.objects.bulk_create(errors)
                self.recount()
                control = self.progress.tick(force=True)
            if control:
                return control
        return ""

    # Phase 2: the Restore header of every object still being restored.

    def check(self, after_id: int) -> str:
        """Ask each pending object for its Restore header, a batch at a time."""
        pending = RestoreItem.objects.filter(job=self.job, state__in=RestoreItem.PENDING)
        while True:
            batch = list(pending.filter(pk__gt=after_id).order_by("pk")[:CHECK_BATCH])
            if not batch:
                return ""
            answers = list(self.pool.map(self.head_one, batch))
            errors = []
            now = timezone.now()
            for row, answer in zip(batch, answers, strict=True):
                row.checked_at = now
                if isinstance(answer, S3Error):
                    if answer.retryable:
                        continue  # a bad moment of the endpoint: the next check asks again
                    row.state, row.code, row.message = Item.FAILED, answer.code[:100], str(answer)
                    errors.append(self.error_row(row.key, answer))
                    continue
                for name, value in head_state(answer, self.archive_classes).items():
                    setattr(row, name, value)
            after_id = batch[-1].pk
            fields = ["state", "expires_at", "code", "message", "checked_at"]
            with transaction.atomic():
                RestoreItem.objects.bulk_update(batch, fields)
                JobError.objects.bulk_create(errors)
                self.recount()
                self.progress.cursor = {"phase": "check", "after_id": after_id}
                control = self.progress.tick(force=True)
            if control:
                return control

    def head_one(self, row: RestoreItem) -> dict | S3Error:
        try:
            return s3.head_object(self.job.endpoint, self.job.bucket, row.key, row.version_id)
        except S3Error as err:
            if err.code in ENDPOINT_WIDE:
                raise
            return err

    def wait_for_next_check(self) -> None:
        checks = int(self.progress.params.get("checks", 0))
        due = timezone.now() + timedelta(seconds=check_delay(checks))
        self.progress.params["checks"] = checks + 1
        self.progress.params["next_check"] = due.isoformat()
        self.progress.cursor = {"phase": "check", "after_id": 0}
        self.wait(WAITING_FOR_RESTORE)

    # Counts, from the rows: exact whatever restarts happened.

    def counts(self) -> dict[str, int]:
        rows = RestoreItem.objects.filter(job=self.job).values_list("state").annotate(n=Count("pk"))
        return dict(rows)

    def recount(self) -> None:
        """Objects restored or skipped are done; failed ones failed; the rest pending."""
        counts = self.counts()
        self.progress.items_done = counts.get(Item.RESTORED, 0) + counts.get(Item.SKIPPED, 0)
        self.progress.items_failed = counts.get(Item.FAILED, 0)

    def total(self) -> None:
        """Every object the plan found is one item of the job."""
        total = RestoreItem.objects.filter(job=self.job).count()
        Job.objects.filter(pk=self.job.pk).update(items_total=total)


def wake_due(now=None) -> int:
    """Queue every waiting restore job whose next check is due; how many were queued."""
    now = now or timezone.now()
    waiting = Job.objects.filter(
        kind=Job.Kind.RESTORE, state=Job.State.WAITING, waiting_for=WAITING_FOR_RESTORE
    ).values_list("pk", "params__next_check")
    count = 0
    for pk, next_check in waiting:
        try:
            due = parse_datetime(next_check) if isinstance(next_check, str) else None
        except ValueError:
            due = None
        if due is None or due <= now:
            count += jobs.wake(Job(pk=pk, kind=Job.Kind.RESTORE), WAITING_FOR_RESTORE)
    return count


@shared_task(name="objects.wake_restores", ignore_result=True)
def wake_restores() -> int:
    """Beat runs this every RESTORE_WAKE_SECONDS: restore jobs due a check are queued."""
    return wake_due()


def register() -> None:
    """Called from the app's ready()."""
    jobs.register(
        Job.Kind.RESTORE,
        RestoreRunner,
        task=run_restore.name,
        page_template="objects/_restore_section.html",
    )
