"""The job engine: claims, progress, control, sweep, and the runner a kind plugs into."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from console import jobs
from console.models import AuditEntry, Job, JobError


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
    # A clock of the test's own: a busy machine must not decide what "a while" is.
    now = [1000.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: now[0])
    claimed = jobs.claim(job.pk, "t")
    progress = jobs.Progress(claimed, interval=0)
    now[0] += 1
    progress.add(1000)
    progress.tick()
    assert Job.objects.get(pk=job.pk).speed > 0
    now[0] += jobs.STILL_SECONDS / 2
    progress.tick()  # still within STILL_SECONDS: the smoothed speed only decays
    assert Job.objects.get(pk=job.pk).speed > 0
    now[0] += jobs.STILL_SECONDS
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


# A kind that needs no bucket: it walks `params["items"]` one item a step and
# fails the items named in `params["fail"]`. What it touched and what its
# cleanup saw are kept here, so the tests see the engine from a kind's side.


class TallyRunner(jobs.Runner):
    audit_action = "test.tally"
    seen: list[str] = []
    cleaned: list[int] = []

    def step(self) -> bool:
        items = self.failed_last_time() if self.retrying else self.job.params["items"]
        at = self.progress.cursor or 0
        if at >= len(items):
            return False
        item = items[at]
        self.seen.append(item)
        if item in self.job.params.get("fail", []):
            self.fail_item(item, ValueError(f"{item} refused"))
        else:
            self.progress.add(items=1)
        self.progress.cursor = at + 1
        return True

    def on_cancel(self) -> None:
        self.cleaned.append(self.job.pk)


@pytest.fixture
def tally(monkeypatch, sent, endpoint, operator):
    """Register the test kind for one test, and make its jobs."""
    monkeypatch.setattr(jobs, "KINDS", dict(jobs.KINDS))
    monkeypatch.setattr(TallyRunner, "seen", [])
    monkeypatch.setattr(TallyRunner, "cleaned", [])
    jobs.register(
        "tally",
        TallyRunner,
        task="tests.tally",
        cancel=lambda job: TallyRunner.cleaned.append(job.pk),
    )

    def make(items="abcd", fail="", **fields):
        params = {"items": list(items), "fail": list(fail)}
        return Job.objects.create(
            kind="tally",
            owner=operator,
            endpoint=endpoint,
            bucket="b",
            target="tally",
            params=params,
            heartbeat_at=timezone.now(),
            **fields,
        )

    return make


@pytest.mark.parametrize(
    ("fail", "state", "done", "failed"),
    [
        ("", Job.State.SUCCEEDED, 4, 0),
        ("bd", Job.State.PARTIAL, 2, 2),
        ("abcd", Job.State.FAILED, 0, 4),
    ],
)
def test_the_final_state_follows_the_counts(tally, fail, state, done, failed):
    job = tally(fail=fail)
    jobs.run(job.pk, "t")
    row = Job.objects.get(pk=job.pk)
    assert (row.state, row.items_done, row.items_failed) == (state, done, failed)
    assert row.finished_at is not None and row.control == ""
    assert sorted(row.errors.values_list("key", flat=True)) == list(fail)
    assert (f"{failed} of 4 items failed" in row.error) == bool(failed)
    entry = AuditEntry.objects.get(action="test.tally")
    assert entry.outcome == (AuditEntry.Outcome.FAILED if failed else AuditEntry.Outcome.OK)


def test_a_restarted_task_carries_on_from_the_cursor_in_the_row(tally, settings):
    job = tally()
    runner = TallyRunner(jobs.claim(job.pk, "dead"))
    runner.progress.interval = 0
    for _ in range(2):
        runner.progress.tick()
        runner.step()
    runner.progress.tick()  # the worker dies after writing the second item's tick
    row = Job.objects.get(pk=job.pk)
    assert row.params["cursor"] == 2 and row.items_done == 2
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    jobs.run(job.pk, "new")
    assert TallyRunner.seen == ["a", "b", "c", "d"]  # nothing done twice
    row = Job.objects.get(pk=job.pk)
    assert row.state == Job.State.SUCCEEDED and row.items_done == 4


def test_retry_keeps_the_errors_and_redoes_exactly_the_failed_items(tally, sent):
    job = tally(fail="bd")
    jobs.run(job.pk, "t")
    # The storage refused b and d the first time; now only d is still refused.
    Job.objects.filter(pk=job.pk).update(params={"items": list("abcd"), "fail": ["d"]})
    TallyRunner.seen.clear()
    assert jobs.retry_failed(job) == "Retrying."
    assert sent[-1][0] == "tests.tally"
    jobs.run(job.pk, "retry")
    row = Job.objects.get(pk=job.pk)
    assert TallyRunner.seen == ["b", "d"]
    assert (row.state, row.items_done, row.items_failed) == (Job.State.PARTIAL, 3, 1)
    assert [(e.key, e.attempt) for e in row.errors.all()] == [("b", 1), ("d", 1), ("d", 2)]
    assert list(row.current_errors.values_list("key", flat=True)) == ["d"]

    Job.objects.filter(pk=job.pk).update(params={"items": list("abcd"), "fail": []})
    TallyRunner.seen.clear()
    jobs.retry_failed(job)
    jobs.run(job.pk, "again")
    row = Job.objects.get(pk=job.pk)
    assert TallyRunner.seen == ["d"]
    assert (row.state, row.items_done, row.items_failed) == (Job.State.SUCCEEDED, 4, 0)
    assert row.errors.count() == 3 and not row.current_errors.exists()


def test_a_registered_kind_cleans_up_when_canceled_queued_or_running(tally):
    queued = tally()
    assert jobs.cancel(queued) == "Canceled."
    assert TallyRunner.cleaned == [queued.pk]  # the kind's cancel, with no worker

    running = tally()
    runner = TallyRunner(jobs.claim(running.pk, "t"))
    runner.progress.interval = 0
    runner.step()
    assert jobs.cancel(running) == "Canceling after the part in progress."
    runner.work()
    row = Job.objects.get(pk=running.pk)
    assert row.state == Job.State.CANCELED and row.items_done == 1
    assert TallyRunner.cleaned == [queued.pk, running.pk]  # the runner's on_cancel
    assert AuditEntry.objects.filter(action="test.tally.cancel").exists()


def test_start_creates_audits_and_queues_a_job(tally, sent, operator, endpoint):
    job = jobs.start(operator, "tally", endpoint, "b", "3 items", detail="3", items_total=3)
    assert job.owner == operator and job.state == Job.State.QUEUED and job.items_total == 3
    assert sent == [("tests.tally", {"args": [job.pk], "queue": sent[0][1]["queue"]})]
    entry = AuditEntry.objects.get(action="test.tally")
    assert entry.outcome == AuditEntry.Outcome.STARTED and entry.key == "3 items"


@pytest.mark.parametrize(
    ("state", "control", "allowed"),
    [
        (Job.State.QUEUED, "", {"pause", "cancel"}),
        (Job.State.RUNNING, "", {"pause", "cancel"}),
        (Job.State.RUNNING, Job.Control.PAUSE, {"resume", "cancel"}),
        (Job.State.PAUSED, "", {"resume", "cancel"}),
        (Job.State.WAITING, "", {"pause", "cancel"}),
        (Job.State.SUCCEEDED, "", set()),
        (Job.State.PARTIAL, "", {"retry"}),
        (Job.State.FAILED, "", {"retry"}),
        (Job.State.CANCELED, "", set()),
    ],
)
def test_what_a_person_may_do_is_a_property_of_the_job(job, state, control, allowed):
    job.state, job.control = state, control
    may = {name for name in ("pause", "resume", "cancel", "retry") if getattr(job, f"can_{name}")}
    assert may == allowed


def test_actions_refuse_in_words_what_the_job_does_not_allow(job, sent):
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    assert jobs.pause(job) == "This job is not running."
    assert jobs.resume(job) == "This job is not paused."
    assert jobs.cancel(job) == "This job has already finished."
    assert jobs.retry_failed(job) == "Only a failed job can be retried."
    assert sent == [] and Job.objects.get(pk=job.pk).state == Job.State.SUCCEEDED


def test_a_waiting_job_holds_no_worker_and_only_its_event_queues_it_again(tally, sent):
    job = tally()
    runner = TallyRunner(jobs.claim(job.pk, "t"))
    assert runner.wait("browser")
    row = Job.objects.get(pk=job.pk)
    assert (row.state, row.waiting_for) == (Job.State.WAITING, "browser")
    assert row.waiting_since is None and "Waiting for the browser" in row.waiting_text
    # Nothing sweeps it (no worker is supposed to hold it) and another event does not wake it.
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    assert jobs.sweep() == 0
    assert not jobs.wake(row, "restore")
    assert sent == []
    assert jobs.wake(row, "browser")
    row = Job.objects.get(pk=job.pk)
    assert (row.state, row.waiting_for) == (Job.State.QUEUED, "") and len(sent) == 1


def test_a_person_may_pause_or_cancel_a_waiting_job(tally, sent):
    job = tally()
    TallyRunner(jobs.claim(job.pk, "t")).wait("browser")
    row = Job.objects.get(pk=job.pk)
    assert row.can_pause and not row.can_resume and row.can_cancel
    assert jobs.pause(row) == "Paused."
    row = Job.objects.get(pk=job.pk)
    assert (row.state, row.waiting_for) == (Job.State.PAUSED, "")
    # A paused job is the person's: the event no longer wakes it.
    assert not jobs.wake(row, "browser") and sent == []
    assert jobs.cancel(row) == "Canceled."
