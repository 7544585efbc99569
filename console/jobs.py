"""The job engine.

Every long operation is a `Job` row that its Celery task updates and pages poll.
A kind plugs in by registering itself from its app's `ready()` (`register`): its
`Runner` subclass does the next unit of work, and the engine does the rest. The
rules every task follows:

- A task receives the job's primary key and claims the row with a conditional
  update, checking the row count, so a message delivered twice (late acks after a
  lost worker, or the sweep) never runs the job twice at once.
- It works in units (a part, a batch) and between units calls `Progress.tick()`,
  which writes progress and the heartbeat at most about once a second and returns
  the control request (pause / cancel) a person may have made meanwhile.
- State lives in our rows, never in Celery's result backend, so a task that
  starts again carries on from what the rows record.
- A kind keeps its resume point in `params["cursor"]`, written with the progress
  tick, so a task that starts again carries on from the last finished unit.
- `sweep()` (Celery beat) re-queues running jobs whose heartbeat is stale: a
  killed worker delays a job, it never loses it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from console import audit
from console.models import AuditEntry, Job, JobBatch, JobError
from console.s3 import S3Error

log = logging.getLogger("console.jobs")

State = Job.State
Control = Job.Control
# What `Progress.tick()` returns when the job is no longer this task's to run.
LOST = "lost"
# Seconds without a byte of progress after which a job's speed is zero.
STILL_SECONDS = 5.0
# A task whose database went away tries again this often, this many times.
DB_RETRY_SECONDS = 5
DB_RETRIES = 120


@dataclass(frozen=True)
class Kind:
    runner: type[Runner]
    # The name of the Celery task that runs the kind's jobs (see `task`).
    task: str
    # What to do when a job that no worker holds is canceled.
    cancel: Callable[[Job], None] | None = None
    # A template the job's page includes below its card, with `job` in its
    # context: what the kind has to show beyond the card (the state of each
    # object, say). An htmx request from the element with id "job-section"
    # gets this template alone, so the section can refresh itself.
    page_template: str = ""


# Filled by the apps that own the kinds, from their AppConfig.ready().
KINDS: dict[str, Kind] = {}


def register(kind: str, runner: type[Runner], task: str, cancel=None, page_template="") -> None:
    KINDS[kind] = Kind(runner=runner, task=task, cancel=cancel, page_template=page_template)


def task(name: str):
    """The Celery task `name` that runs jobs; an app defines one in its tasks.py.

    The message comes back after a lost worker (late acks), so a task that finds
    its job claimed by someone else, finished or paused does nothing.
    """

    @shared_task(
        name=name, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True
    )
    def run_task(self, job_pk: int) -> None:
        close_old_connections()
        try:
            # A retry (below) takes back its own job, still marked running.
            run(job_pk, self.request.id or "", reclaim=bool(self.request.retries))
        except (OperationalError, InterfaceError) as exc:
            # The database went away under the job: try again shortly, as this
            # same task (which may claim its own job again), for about 10 minutes.
            log.warning("job %s: the database is unreachable (%s); trying again", job_pk, exc)
            raise self.retry(countdown=DB_RETRY_SECONDS, max_retries=DB_RETRIES) from exc
        finally:
            close_old_connections()

    return run_task


def run(pk: int, task_id: str = "", reclaim: bool = False) -> None:
    """Claim the job and let its kind's runner work on it."""
    job = claim(pk, task_id, reclaim)
    if job is not None:
        with speaking(job):
            KINDS[job.kind].runner(job).run()


def speaking(job: Job):
    """The job's sentences (its outcome, each item's error) are written in the
    language of whoever started it."""
    return translation.override(job.language or settings.LANGUAGE_CODE)


def pool(width: int, name: str) -> ThreadPoolExecutor:
    """Threads for a job's requests in flight, speaking the job's language.

    A language is active per thread: without this, what a pool thread writes (an
    item's error) would be in the default language, not the one the job runs in."""
    return ThreadPoolExecutor(
        width,
        thread_name_prefix=name,
        initializer=translation.activate,
        initargs=(translation.get_language() or settings.LANGUAGE_CODE,),
    )


def enqueue(job: Job) -> None:
    """Send the job's task once the current transaction has committed.

    With the broker away the job stays queued, its row committed, and the person
    is not told of an error: the sweep sends every queued job whose message
    never left once JOB_STALE_SECONDS have passed."""
    from console.celery import app

    name = KINDS[job.kind].task
    queue = settings.CELERY_TASK_DEFAULT_QUEUE

    def send() -> None:
        try:
            app.send_task(name, args=[job.pk], queue=queue)
        except Exception as exc:  # noqa: BLE001 - any failure to publish: the sweep retries
            log.warning("job %s stays queued: the broker is unreachable (%s)", job.pk, exc)

    transaction.on_commit(send)


def start(request_or_user, kind: str, endpoint, bucket: str, target: str, detail="", **fields):
    """Create a job, record that it started and queue it once the transaction commits.

    Rows the kind needs beside the job are created in the same transaction, so
    the task never finds the job without them.
    """
    user = getattr(request_or_user, "user", request_or_user)
    job = Job.objects.create(
        kind=kind,
        owner=user,
        endpoint=endpoint,
        bucket=bucket,
        target=target,
        heartbeat_at=timezone.now(),
        **fields,
    )
    audit.record(
        request_or_user,
        KINDS[kind].runner.audit_action or f"job.{kind}",
        endpoint=endpoint,
        bucket=bucket,
        key=target,
        outcome=AuditEntry.Outcome.STARTED,
        detail=detail,
    )
    enqueue(job)
    return job


def stale_before(seconds: float | None = None):
    return timezone.now() - timedelta(
        seconds=settings.JOB_STALE_SECONDS if seconds is None else seconds
    )


def claim(pk: int, task_id: str = "", reclaim: bool = False) -> Job | None:
    """Take the job for this task, or None when it is not ours to run.

    A queued job is claimed; so is a running one whose heartbeat is stale (its
    worker died and this is the re-delivered message), and, with `reclaim`, a
    running one held by this very task (a retry after a database outage). A fresh running job
    belongs to another worker, and a finished or paused one to nobody.
    """
    now = timezone.now()
    claimed = (
        Job.objects.filter(pk=pk)
        .filter(
            Q(state=State.QUEUED)
            | Q(state=State.RUNNING, heartbeat_at__lt=stale_before())
            # The task itself, tried again after the database went away under it.
            | Q(state=State.RUNNING, task_id=task_id[:64] if reclaim and task_id else None)
        )
        .update(
            state=State.RUNNING,
            task_id=task_id[:64],
            heartbeat_at=now,
            started_at=Coalesce("started_at", now),
        )
    )
    if claimed != 1:
        log.info("job %s not claimed (finished, paused or held by another worker)", pk)
        return None
    return Job.objects.get(pk=pk)


class Progress:
    """Progress of a running job, written at most once per `interval` seconds.

    `tick()` is called between units of work; it writes the counters, speed and
    heartbeat (and the kind's cursor, when it moved) when the interval has passed,
    and returns the control request.
    """

    def __init__(self, job: Job, interval: float = 1.0):
        self.job = job
        self.interval = interval
        self.bytes_done = job.bytes_done
        self.items_done = job.items_done
        self.items_failed = job.items_failed
        self.control = job.control
        self.params = dict(job.params)
        self._params_moved = False
        self._last_at = time.monotonic()
        self._last_bytes = self.bytes_done
        self._moved_at = self._last_at
        self._speed = 0.0

    def add(self, nbytes: int = 0, items: int = 0, failed: int = 0) -> None:
        self.bytes_done += nbytes
        self.items_done += items
        self.items_failed += failed

    @property
    def cursor(self):
        return self.params.get("cursor")

    @cursor.setter
    def cursor(self, value) -> None:
        """Where the kind carries on after a restart: set it once a unit is done,
        together with that unit's counts, and both are written in the same update."""
        self.params["cursor"] = value
        self._params_moved = True

    def values(self) -> dict:
        values = {
            "bytes_done": self.bytes_done,
            "items_done": self.items_done,
            "items_failed": self.items_failed,
        }
        if self._params_moved:
            values["params"] = self.params
        return values

    def tick(self, force: bool = False) -> str:
        now = time.monotonic()
        elapsed = now - self._last_at
        if not force and elapsed < self.interval:
            return self.control
        current = (self.bytes_done - self._last_bytes) / elapsed if elapsed > 0 else 0.0
        if current:
            self._moved_at = now
        if now - self._moved_at > STILL_SECONDS:
            # Nothing moved for a while (a browser that stopped sending, say): a
            # decaying speed would promise an ETA of hours that means nothing.
            self._speed = 0.0
        else:
            # A smoothed speed, so the ETA does not jump with every part.
            self._speed = current if not self._speed else 0.5 * self._speed + 0.5 * current
        self._last_at, self._last_bytes = now, self.bytes_done
        mine = Job.objects.filter(pk=self.job.pk, state=State.RUNNING, task_id=self.job.task_id)
        written = mine.update(**self.values(), speed=self._speed, heartbeat_at=timezone.now())
        self._params_moved = self._params_moved and not written
        # The sweep gave the job to another worker (this one looked dead): stop.
        self.control = mine.values_list("control", flat=True).first() or "" if written else LOST
        return self.control


def finish(
    job: Job, state: str, error: str = "", progress: Progress | None = None, waiting_for=""
) -> bool:
    """End a running job in `state`; False when the row was no longer ours."""
    values = {
        "state": state,
        "control": Control.NONE,
        "error": error[:2000],
        "waiting_for": waiting_for,
        "speed": 0,
        "finished_at": timezone.now() if state in Job.FINISHED_STATES else None,
        "heartbeat_at": timezone.now(),
    }
    if progress is not None:
        values.update(progress.values())
    mine = Job.objects.filter(pk=job.pk, state=State.RUNNING, task_id=job.task_id)
    return bool(mine.update(**values))


def record_error(job: Job, key: str, error, version_id: str = "") -> None:
    """One per-item error (an S3Error or any exception), for the CSV."""
    JobError.objects.create(
        job=job,
        key=key,
        version_id=version_id[:1024],
        code=getattr(error, "code", type(error).__name__)[:100],
        message=getattr(error, "message", str(error))[:2000],
        request_id=getattr(error, "request_id", "")[:200],
        attempt=job.attempt,
    )


class Heartbeat:
    """Beats for a running job from a thread of its own every HEARTBEAT_SECONDS,
    so a job busy in one long request (a big part, a slow listing) never looks
    dead, and a dead worker's job looks dead within JOB_STALE_SECONDS."""

    def __init__(self, job: Job):
        self.job = job
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.beat, name=f"heartbeat-{job.pk}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def beat(self) -> None:
        mine = Job.objects.filter(pk=self.job.pk, state=State.RUNNING, task_id=self.job.task_id)
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    if not mine.update(heartbeat_at=timezone.now()):
                        return  # finished, or taken over: nothing to beat for
                except DatabaseError as exc:
                    log.warning("job %s: heartbeat not written (%s)", self.job.pk, exc)
                    close_old_connections()
        finally:
            connection.close()


class Runner:
    """One run of a job: control between units, the final state and the audit record.

    A kind writes `step()`, its next unit of work, and counts what it did with
    `self.progress.add(...)` and `self.fail_item(...)`. A kind whose work is not
    a loop of units (an upload waits for chunks) overrides `work()` and ends
    through `stop`, `wait` and `done` like the loop below.
    """

    # What the kind's jobs are called in the audit log (their start and outcome).
    audit_action = ""
    # The job's error when the task stopped on a bug of ours.
    crash_message = gettext_lazy("The job stopped on an internal error.")

    def __init__(self, job: Job):
        self.job = job
        self.progress = Progress(job)

    @property
    def audit_key(self) -> str:
        return self.job.target

    def step(self) -> bool:
        """Do the next unit of work; False once nothing is left."""
        raise NotImplementedError

    def on_cancel(self) -> None:
        """Remove what a job canceled halfway leaves behind."""

    @property
    def retrying(self) -> bool:
        return self.job.attempt > 1

    def failed_last_time(self) -> list[str]:
        """The keys of the items the previous run failed: all that a retry redoes."""
        rows = JobError.objects.filter(job=self.job, attempt=self.job.attempt - 1)
        return list(rows.order_by("id").values_list("key", flat=True))

    def fail_item(self, key: str, error, version_id: str = "") -> None:
        record_error(self.job, key, error, version_id)
        self.progress.add(failed=1)

    def run(self) -> None:
        try:
            with Heartbeat(self.job):
                self.work()
        except (OperationalError, InterfaceError):
            raise  # the task tries again once the database answers
        except S3Error as err:
            log.warning("job %s failed in %s: %s", self.job.pk, err.operation, err)
            record_error(self.job, self.audit_key, err)
            if finish(self.job, State.FAILED, str(err), self.progress):
                self.audit(error=err)
        except Exception as exc:
            log.exception("job %s crashed", self.job.pk)
            record_error(self.job, self.audit_key, exc)
            finish(self.job, State.FAILED, str(self.crash_message))
            raise

    def work(self) -> None:
        while True:
            control = self.progress.tick()
            if control:
                return self.stop(control)
            if not self.step():
                return self.done()

    def stop(self, control: str) -> None:
        """Pause or cancel between units, as a person asked."""
        if control == LOST:
            return
        if control == Control.CANCEL:
            JobBatch.objects.filter(job=self.job).delete()
            self.on_cancel()
            if finish(self.job, State.CANCELED, progress=self.progress):
                self.audit(action=f"{self.audit_action}.cancel")
        else:
            finish(self.job, State.PAUSED, progress=self.progress)

    def wait(self, reason: str) -> bool:
        """Give up the worker until the event named by `reason` wakes the job (`wake`).

        A kind calls `still_waiting()` right after: an event that came while the
        row was being written did not see the job waiting, so the kind checks for
        it once more and wakes the job itself."""
        return finish(self.job, State.WAITING, "", self.progress, waiting_for=reason)

    def done(self, note: str = "") -> None:
        """The work is over: the counts say whether it succeeded (`note` adds a sentence)."""
        failed, done = self.progress.items_failed, self.progress.items_done
        state, error = State.SUCCEEDED, ""
        if failed:
            state = State.PARTIAL if done else State.FAILED
            error = ngettext(
                "%(failed)d of %(total)d item failed; the error list says why.",
                "%(failed)d of %(total)d items failed; the error list says why.",
                failed + done,
            ) % {"failed": failed, "total": failed + done}
        error = f"{error} {note}".strip()
        if finish(self.job, state, error, self.progress):
            self.audit(detail=error)

    def audit(self, action: str = "", error=None, detail: str = "") -> None:
        audit.record(
            self.job.owner,
            action or self.audit_action or f"job.{self.job.kind}",
            endpoint=self.job.endpoint,
            bucket=self.job.bucket,
            key=self.audit_key,
            outcome=AuditEntry.Outcome.FAILED if detail else AuditEntry.Outcome.OK,
            error=error,
            detail=detail,
        )


def wake(job: Job, reason: str) -> bool:
    """The event a waiting job waits for has come: queue it again. False when it
    was not waiting for that (running, paused by a person, finished)."""
    if Job.objects.filter(pk=job.pk, state=State.WAITING, waiting_for=reason).update(
        state=State.QUEUED, waiting_for="", heartbeat_at=timezone.now()
    ):
        enqueue(job)
        return True
    return False


# What people do to a job. Each returns a sentence for the page, in its language;
# what the job allows (Job.can_*) is read from the row as it is now.


def _fresh(job: Job) -> Job:
    job.refresh_from_db(fields=["state", "control", "params"])
    return job


def pause(job: Job) -> str:
    if not _fresh(job).can_pause:
        return _("This job is already pausing.") if job.control else _("This job is not running.")
    if Job.objects.filter(pk=job.pk, state__in=[State.QUEUED, State.WAITING]).update(
        state=State.PAUSED, waiting_for=""
    ):
        return _("Paused.")
    if Job.objects.filter(pk=job.pk, state=State.RUNNING).update(control=Control.PAUSE):
        return _("Pausing after the part in progress.")
    return _("This job is not running.")


def resume(job: Job) -> str:
    if not _fresh(job).can_resume:
        return _("This job is not paused.")
    if Job.objects.filter(pk=job.pk, state=State.PAUSED).update(
        state=State.QUEUED, control=Control.NONE, waiting_for="", heartbeat_at=timezone.now()
    ):
        enqueue(job)
        return _("Resumed.")
    if Job.objects.filter(pk=job.pk, state=State.RUNNING, control=Control.PAUSE).update(
        control=Control.NONE
    ):
        return _("Resumed.")
    return _("This job is not paused.")


def cancel(job: Job) -> str:
    if not _fresh(job).can_cancel:
        return _("This job has already finished.")
    # Nobody runs a queued or paused job: cancel it here and clean up after it.
    if Job.objects.filter(pk=job.pk, state__in=[State.QUEUED, State.PAUSED, State.WAITING]).update(
        state=State.CANCELED,
        control=Control.NONE,
        waiting_for="",
        speed=0,
        finished_at=timezone.now(),
    ):
        JobBatch.objects.filter(job=job).delete()
        kind = KINDS.get(job.kind)
        if kind is not None and kind.cancel is not None:
            kind.cancel(job)
        return _("Canceled.")
    if Job.objects.filter(pk=job.pk, state=State.RUNNING).update(control=Control.CANCEL):
        return _("Canceling after the part in progress.")
    return _("This job has already finished.")


def retry_failed(job: Job) -> str:
    """Run the failed items of a failed or partially failed job again.

    The next run is a new attempt: the errors of this one stay, and tell the
    kind which items to redo; its cursor starts again over those items.
    """
    if not _fresh(job).can_retry:
        return _("Only a failed job can be retried.")
    params = {name: value for name, value in job.params.items() if name != "cursor"}
    if Job.objects.filter(pk=job.pk, state__in=[State.FAILED, State.PARTIAL]).update(
        state=State.QUEUED,
        control=Control.NONE,
        error="",
        items_failed=0,
        attempt=F("attempt") + 1,
        params=params,
        finished_at=None,
        heartbeat_at=timezone.now(),
    ):
        enqueue(job)
        return _("Retrying.")
    return _("Only a failed job can be retried.")


def sweep(stale_seconds: float | None = None) -> int:
    """Queue again every running job whose worker stopped beating (and queued jobs
    whose message was lost). Returns how many were re-queued."""
    cutoff = stale_before(stale_seconds)
    count = 0
    stale = Job.objects.filter(
        state__in=[State.RUNNING, State.QUEUED], heartbeat_at__lt=cutoff
    ).only("pk", "kind", "state")
    for job in stale:
        moved = Job.objects.filter(pk=job.pk, state=job.state, heartbeat_at__lt=cutoff).update(
            state=State.QUEUED, heartbeat_at=timezone.now()
        )
        if moved and job.kind in KINDS:
            log.warning("job %s lost its worker; queued again", job.pk)
            enqueue(job)
            count += moved
    return count
