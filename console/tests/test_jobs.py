"""The job engine: claims, progress, control, sweep."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from console import jobs
from console.models import Job, JobError


@pytest.fixture
def job(endpoint, operator):
    return Job.objects.create(
        kind=Job.Kind.UPLOAD,
        owner=operator,
        endpoint=endpoint,
        bucket="b",
        target="k",
        bytes_total=1000,
        heartbeat_at=timezone.now(),
    )


@pytest.fixture
def sent(monkeypatch):
    """Task messages the engine would send (no worker in these tests)."""
    messages = []
    from console.celery import app

    # No transaction is ever committed inside a test: send at once.
    monkeypatch.setattr("console.jobs.transaction.on_commit", lambda callback: callback())

    monkeypatch.setattr(app, "send_task", lambda name, **kw: messages.append((name, kw)))
    return messages


def test_a_job_is_claimed_once(job):
    assert jobs.claim(job.pk, "task-1") is not None
    assert jobs.claim(job.pk, "task-2") is None
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING and job.task_id == "task-1"
    assert job.started_at is not None


def test_a_finished_job_is_never_claimed_again(job):
    claimed = jobs.claim(job.pk, "t")
    assert jobs.finish(claimed, Job.State.SUCCEEDED)
    assert jobs.claim(job.pk, "again") is None
    assert Job.objects.get(pk=job.pk).state == Job.State.SUCCEEDED


def test_a_running_job_with_a_stale_heartbeat_is_claimed_by_a_redelivered_task(job, settings):
    jobs.claim(job.pk, "dead")
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    )
    claimed = jobs.claim(job.pk, "new")
    assert claimed is not None and claimed.task_id == "new"


def test_progress_is_written_at_most_once_per_interval(job, django_assert_num_queries):
    claimed = jobs.claim(job.pk, "t")
    progress = jobs.Progress(claimed, interval=0.3)
    with django_assert_num_queries(0):
        for _ in range(1000):
            progress.add(1)
            progress.tick()
    assert Job.objects.get(pk=job.pk).bytes_done == 0
    time.sleep(0.35)
    progress.tick()
    row = Job.objects.get(pk=job.pk)
    assert row.bytes_done == 1000
    assert row.speed > 0


def test_tick_reports_pause_and_cancel_requests(job):
    claimed = jobs.claim(job.pk, "t")
    progress = jobs.Progress(claimed, interval=0)
    assert progress.tick() == ""
    jobs.pause(claimed)
    assert progress.tick() == Job.Control.PAUSE
    jobs.cancel(claimed)
    assert progress.tick() == Job.Control.CANCEL


def test_a_task_whose_job_was_given_away_stops(job):
    claimed = jobs.claim(job.pk, "old")
    Job.objects.filter(pk=job.pk).update(task_id="new")
    assert jobs.Progress(claimed, interval=0).tick() == jobs.LOST
    assert not jobs.finish(claimed, Job.State.SUCCEEDED)


def test_sweep_requeues_running_jobs_with_stale_heartbeat(job, sent):
    jobs.claim(job.pk, "t")
    assert jobs.sweep(stale_seconds=60) == 0
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert jobs.sweep(stale_seconds=60) == 1
    assert Job.objects.get(pk=job.pk).state == Job.State.QUEUED
    assert sent == [("objects.run_upload", {"args": [job.pk], "queue": sent[0][1]["queue"]})]
    # Its heartbeat is fresh again: the next sweep leaves it alone.
    assert jobs.sweep(stale_seconds=60) == 0


def test_sweep_leaves_paused_and_finished_jobs(job, sent):
    old = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(state=Job.State.PAUSED, heartbeat_at=old)
    Job.objects.create(
        kind=Job.Kind.UPLOAD,
        endpoint=job.endpoint,
        bucket="b",
        state=Job.State.SUCCEEDED,
        heartbeat_at=old,
    )
    assert jobs.sweep(stale_seconds=1) == 0
    assert sent == []


def test_pausing_a_queued_job_pauses_it_and_resume_queues_it(job, sent):
    jobs.pause(job)
    assert Job.objects.get(pk=job.pk).state == Job.State.PAUSED
    jobs.resume(job)
    assert Job.objects.get(pk=job.pk).state == Job.State.QUEUED
    assert len(sent) == 1


def test_retry_failed_requeues_and_clears_errors(job, sent):
    Job.objects.filter(pk=job.pk).update(state=Job.State.PARTIAL, items_failed=2, error="x")
    JobError.objects.create(job=job, key="a", code="AccessDenied", message="no")
    assert jobs.retry_failed(job) == "Retrying."
    row = Job.objects.get(pk=job.pk)
    assert row.state == Job.State.QUEUED and row.items_failed == 0 and row.error == ""
    assert not row.current_errors.exists() and row.errors.count() == 1  # kept, for the record
    assert len(sent) == 1
    assert jobs.retry_failed(job) == "Only a failed job can be retried."


def test_eta_and_percent(job):
    job.state = Job.State.RUNNING
    job.bytes_done, job.speed = 400, 100.0
    assert job.percent == 40
    assert job.eta_seconds == 6
    job.state = Job.State.SUCCEEDED
    assert job.percent == 100 and job.eta_seconds is None


def test_beat_schedule_runs_the_sweep(job, sent, settings):
    from console.celery import app

    app.loader.import_default_modules()  # what a worker does first: finds the tasks
    schedule = app.conf.beat_schedule
    entry = schedule["sweep-stale-jobs"]
    assert entry["schedule"] <= 60
    # The task beat sends is registered and sweeps: a job of a lost worker is queued again.
    jobs.claim(job.pk, "dead")
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    assert app.tasks[entry["task"]].apply().get() == 1
    assert Job.objects.get(pk=job.pk).state == Job.State.QUEUED
    assert [name for name, _ in sent] == ["objects.run_upload"]
    purge = schedule["purge-stale-uploads"]
    assert purge["task"] in app.tasks and purge["schedule"] <= 3600


def test_speed_drops_to_zero_when_nothing_moves_for_a_while(job, monkeypatch):
    monkeypatch.setattr(jobs, "STILL_SECONDS", 0.2)
    claimed = jobs.claim(job.pk, "t")
    progress = jobs.Progress(claimed, interval=0)
    time.sleep(0.05)
    progress.add(1000)
    progress.tick()
    assert Job.objects.get(pk=job.pk).speed > 0
    time.sleep(0.1)
    progress.tick()  # still within STILL_SECONDS: the smoothed speed only decays
    assert Job.objects.get(pk=job.pk).speed > 0
    time.sleep(0.25)
    progress.tick()
    row = Job.objects.get(pk=job.pk)
    assert row.speed == 0 and row.eta_seconds is None


def test_a_running_job_whose_heartbeat_is_late_is_waiting_for_a_worker(job):
    job.state = Job.State.RUNNING
    job.bytes_done, job.speed = 400, 100.0
    job.heartbeat_at = timezone.now()
    assert job.waiting_since is None and job.moving and job.eta_seconds == 6
    job.heartbeat_at = timezone.now() - timedelta(seconds=Job.HEARTBEAT_LATE_SECONDS + 1)
    assert job.waiting_since == job.heartbeat_at
    assert not job.moving and job.eta_seconds is None and job.eta_text == ""


def test_eta_reads_in_minutes_and_hours(job):
    job.state = Job.State.RUNNING
    job.heartbeat_at = timezone.now()
    job.bytes_total, job.bytes_done, job.speed = 10**9, 0, 10**9 / 42
    assert job.eta_text == "42 s"
    job.speed = 10**9 / 600
    assert job.eta_text == "10 min"
    job.speed = 10**9 / (5 * 3600 + 7 * 60)
    assert job.eta_text == "5 h 7 min"
