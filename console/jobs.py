"""The job engine.

Every long operation is a `Job` row that its Celery task updates and pages poll.
The rules every task follows:

- A task receives the job's primary key and claims the row with a conditional
  update, checking the row count, so a message delivered twice (late acks after a
  lost worker, or the sweep) never runs the job twice at once.
- It works in units (a part, a batch) and between units calls `Progress.tick()`,
  which writes progress and the heartbeat at most about once a second and returns
  the control request (pause / cancel) a person may have made meanwhile.
- State lives in our rows, never in Celery's result backend, so a task that
  starts again carries on from what the rows record.
- `sweep()` (Celery beat) re-queues running jobs whose heartbeat is stale: a
  killed worker delays a job, it never loses it.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from console.models import Job, JobError

log = logging.getLogger("console.jobs")

State = Job.State
Control = Job.Control
# What `Progress.tick()` returns when the job is no longer this task's to run.
LOST = "lost"
# Seconds without a byte of progress after which a job's speed is zero.
STILL_SECONDS = 5.0

# Per kind: the Celery task that runs it, and what to do when a job that no
# worker holds is canceled (dotted paths, imported when needed).
KINDS = {
    Job.Kind.UPLOAD: {
        "task": "objects.run_upload",
        "cancel": "objects.tasks.discard_job",
    },
}


def enqueue(job: Job) -> None:
    """Send the job's task once the current transaction has committed."""
    from console.celery import app

    task = KINDS[job.kind]["task"]
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    transaction.on_commit(lambda: app.send_task(task, args=[job.pk], queue=queue))


def stale_before(seconds: float | None = None):
    return timezone.now() - timedelta(
        seconds=settings.JOB_STALE_SECONDS if seconds is None else seconds
    )


def claim(pk: int, task_id: str = "") -> Job | None:
    """Take the job for this task, or None when it is not ours to run.

    A queued job is claimed; so is a running one whose heartbeat is stale (its
    worker died and this is the re-delivered message). A fresh running job
    belongs to another worker, and a finished or paused one to nobody.
    """
    now = timezone.now()
    claimed = (
        Job.objects.filter(pk=pk)
        .filter(Q(state=State.QUEUED) | Q(state=State.RUNNING, heartbeat_at__lt=stale_before()))
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
    heartbeat when the interval has passed, and returns the control request.
    """

    def __init__(self, job: Job, interval: float = 1.0):
        self.job = job
        self.interval = interval
        self.bytes_done = job.bytes_done
        self.items_done = job.items_done
        self.items_failed = job.items_failed
        self.control = job.control
        self._last_at = time.monotonic()
        self._last_bytes = self.bytes_done
        self._moved_at = self._last_at
        self._speed = 0.0

    def add(self, nbytes: int = 0, items: int = 0, failed: int = 0) -> None:
        self.bytes_done += nbytes
        self.items_done += items
        self.items_failed += failed

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
        written = mine.update(
            bytes_done=self.bytes_done,
            items_done=self.items_done,
            items_failed=self.items_failed,
            speed=self._speed,
            heartbeat_at=timezone.now(),
        )
        # The sweep gave the job to another worker (this one looked dead): stop.
        self.control = mine.values_list("control", flat=True).first() or "" if written else LOST
        return self.control


def finish(job: Job, state: str, error: str = "", progress: Progress | None = None) -> bool:
    """End a running job in `state`; False when the row was no longer ours."""
    values = {
        "state": state,
        "control": Control.NONE,
        "error": error[:2000],
        "speed": 0,
        "finished_at": timezone.now() if state in Job.FINISHED_STATES else None,
        "heartbeat_at": timezone.now(),
    }
    if progress is not None:
        values.update(
            bytes_done=progress.bytes_done,
            items_done=progress.items_done,
            items_failed=progress.items_failed,
        )
    mine = Job.objects.filter(pk=job.pk, state=State.RUNNING, task_id=job.task_id)
    return bool(mine.update(**values))


def record_error(job: Job, key: str, error) -> None:
    """One per-item error (an S3Error or any exception), for the CSV."""
    JobError.objects.create(
        job=job,
        key=key,
        code=getattr(error, "code", type(error).__name__)[:100],
        message=getattr(error, "message", str(error))[:2000],
        request_id=getattr(error, "request_id", "")[:200],
    )


# What people do to a job. Each returns a sentence for the page.


def pause(job: Job) -> str:
    if Job.objects.filter(pk=job.pk, state=State.QUEUED).update(state=State.PAUSED):
        return "Paused."
    if Job.objects.filter(pk=job.pk, state=State.RUNNING).update(control=Control.PAUSE):
        return "Pausing after the part in progress."
    return "This job is not running."


def resume(job: Job) -> str:
    if Job.objects.filter(pk=job.pk, state=State.PAUSED).update(
        state=State.QUEUED, control=Control.NONE, heartbeat_at=timezone.now()
    ):
        enqueue(job)
        return "Resumed."
    if Job.objects.filter(pk=job.pk, state=State.RUNNING, control=Control.PAUSE).update(
        control=Control.NONE
    ):
        return "Resumed."
    return "This job is not paused."


def cancel(job: Job) -> str:
    # Nobody runs a queued or paused job: cancel it here and clean up after it.
    if Job.objects.filter(pk=job.pk, state__in=[State.QUEUED, State.PAUSED]).update(
        state=State.CANCELED,
        control=Control.NONE,
        speed=0,
        finished_at=timezone.now(),
    ):
        cleanup = KINDS.get(job.kind, {}).get("cancel")
        if cleanup:
            import_string(cleanup)(job)
        return "Canceled."
    if Job.objects.filter(pk=job.pk, state=State.RUNNING).update(control=Control.CANCEL):
        return "Canceling after the part in progress."
    return "This job has already finished."


def retry_failed(job: Job) -> str:
    """Run a failed or partially failed job again; its task redoes what is not done."""
    if Job.objects.filter(pk=job.pk, state__in=[State.FAILED, State.PARTIAL]).update(
        state=State.QUEUED,
        control=Control.NONE,
        error="",
        items_failed=0,
        finished_at=None,
        heartbeat_at=timezone.now(),
    ):
        JobError.objects.filter(job=job).delete()
        enqueue(job)
        return "Retrying."
    return "Only a failed job can be retried."


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
