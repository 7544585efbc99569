"""Redis (broker and cache) away for 15 s under a real worker, and the liveness check.

Each outage test runs a redis-server of its own that it kills and starts again (empty,
as compose's Redis without persistence comes back), a `celery worker` process on it,
and this process's cache and Celery app pointed at it. Celery 5.7.0 with kombu 5.7.0
failed the first and third test: its worker died on the connection loss ("Unrecoverable
error: AttributeError") while it held a task, and never consumed again.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as conf
from django.core.management import CommandError, call_command
from django.urls import reverse

from conftest import free_port
from console import jobs, liveness
from console.models import Job
from console.tests.workers import wait_for
from objects.models import Upload
from objects.tests.upload_helpers import (
    MiB,
    complete,
    create_upload,
    make_file,
    multipart_uploads,
    send_chunks,
    sha256_file,
    sha256_object,
)

OUTAGE_SECONDS = 15
# How long a worker may take to consume again once Redis is back: its reconnect tries
# are 2, 4, 6, 8 s apart, so after 15 s away it tries again at most 5 s after; the rest
# is room for a machine that is busy with other things.
BACK_WITHIN_SECONDS = 45
UNFINISHED = [Job.State.QUEUED, Job.State.RUNNING, Job.State.WAITING]


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that it can kill and start."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            client = redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)
            return client.ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port)]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=20, what="the private Redis to answer")

    def kill(self) -> None:
        """Gone at once, as a crashed Redis: connections reset, nothing kept."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def away(self, seconds: float = OUTAGE_SECONDS):
        return Outage(self, seconds)


class Outage:
    """`with redis.away():` kills Redis, runs the block, waits out the rest of the
    outage and starts Redis again; `back_at` is when it answered again."""

    def __init__(self, server: PrivateRedis, seconds: float):
        self.server = server
        self.seconds = seconds
        self.back_at = 0.0

    def __enter__(self):
        self.server.kill()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        time.sleep(max(0.0, self.started + self.seconds - time.monotonic()))
        self.server.start()
        self.back_at = time.monotonic()


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path / "redis")
    yield server
    server.kill()


def use_broker(url: str) -> None:
    """This process's Celery app sends to `url` from now on, on fresh connections."""
    from kombu import pools

    from console.celery import app

    # The app reads Django's settings under the CELERY_ namespace: that key is the one read.
    app.conf["CELERY_BROKER_URL"] = url
    assert app.connection_for_write().as_uri().endswith(url.split("//")[1])
    # The app's pools are kombu's process-wide ones, kept per broker URL: closing
    # one would leave it closed in kombu's registry for every later test of this
    # process ("Acquire on closed pool"). Closing and forgetting them all lets the
    # next use of either URL open fresh ones.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def on_private_redis(private_redis, settings, celery_queue):
    """The cache and the Celery app of this process (the web side) on the private Redis."""
    from console.celery import app

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    before = app.conf.broker_url
    use_broker(private_redis.url)
    yield private_redis
    use_broker(before)


@pytest.fixture
def small_parts(settings):
    """5 MiB chunks, the smallest parts S3 takes, keep multipart uploads quick."""
    settings.UPLOAD_CHUNK_SIZE = 5 * MiB
    settings.UPLOAD_SINGLE_REQUEST_MAX = 5 * MiB


@pytest.fixture
def alive_dir(tmp_path, settings):
    settings.LIVENESS_DIR = tmp_path / "alive"
    return settings.LIVENESS_DIR


@pytest.fixture
def outage_worker(on_private_redis, worker_process, alive_dir, tmp_path):
    """`start(**env)`: a worker process on the private Redis, once it consumes."""

    def start(**env):
        worker = worker_process(
            env={
                "REDIS_URL": on_private_redis.url,
                "CELERY_BROKER_URL": on_private_redis.url,
                "CACHE_URL": on_private_redis.url,
                "LIVENESS_DIR": str(alive_dir),
                **{name: str(value) for name, value in env.items()},
            },
            log=tmp_path / "worker.log",
        )
        wait_for(
            lambda: (alive_dir / "worker.alive").exists() or worker.process.poll() is not None,
            timeout=120,
            what="the worker to consume",
        )
        assert worker.process.poll() is None, worker_log(worker)
        return worker

    return start


def worker_log(worker) -> str:
    return worker.log.read_text(errors="replace")[-5000:] if worker.log else ""


def job_of(answer: dict) -> Job:
    return Job.objects.get(code=answer["job"])


def finished(answer: dict, timeout: float, sweep: bool = False) -> Job:
    """The job once it has finished; with `sweep`, beat's sweep runs meanwhile (every
    JOB_SWEEP_SECONDS, as beat runs it), so a job whose message never left is sent."""
    last_sweep = [0.0]

    def check():
        if sweep and time.monotonic() - last_sweep[0] >= conf.JOB_SWEEP_SECONDS:
            last_sweep[0] = time.monotonic()
            jobs.sweep()
        job = job_of(answer)
        return job.finished and job

    return wait_for(check, timeout=timeout, interval=0.2, what=f"job {answer['job']} to finish")


def alive(role: str = "worker") -> str:
    """What `manage.py check_alive role` says when it passes; CommandError when not."""
    out = io.StringIO()
    call_command("check_alive", role, stdout=out)
    return out.getvalue()


def passes(role: str) -> bool:
    try:
        alive(role)
        return True
    except CommandError:
        return False


# 1. The worker consumes again once Redis is back, without a restart.


@pytest.mark.slow
def test_a_worker_holding_a_task_consumes_again_once_redis_is_back(
    outage_worker, on_private_redis, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    # The upload waits for its chunk for minutes, holding its worker slot: its message is
    # in flight (not acknowledged) when Redis goes, as Celery 5.7's worker could not take.
    worker = outage_worker(UPLOAD_IDLE_SECONDS=600)
    client = client_as(operator)
    held_source = make_file(tmp_path / "held.bin", 1000)
    held = create_upload(client, endpoint, bucket, held_source).json()
    wait_for(lambda: job_of(held).state == Job.State.RUNNING, timeout=60, what="a running job")

    with on_private_redis.away() as outage:
        pass

    # A job started once Redis is back runs on the same worker, within seconds.
    source = make_file(tmp_path / "after.bin", 1000)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer)
    complete(client, answer)
    job = finished(answer, timeout=BACK_WITHIN_SECONDS)
    took = time.monotonic() - outage.back_at
    assert job.state == Job.State.SUCCEEDED, job.error
    assert worker.process.poll() is None, worker_log(worker)
    print(f"consumed again {took:.1f} s after Redis came back")
    assert "Unrecoverable error" not in worker_log(worker)
    assert "alive" in alive("worker")

    # The job it held all along carries on too.
    send_chunks(client, held_source, held)
    complete(client, held)
    assert finished(held, timeout=60).state == Job.State.SUCCEEDED
    raw = s3_target.client()
    assert sha256_object(raw, bucket, "after.bin") == sha256_file(source)
    assert sha256_object(raw, bucket, "held.bin") == sha256_file(held_source)


# 2. While Redis is away: logging in works, and a job created meanwhile runs once it is back.


@pytest.mark.slow
def test_while_redis_is_away_people_log_in_and_a_new_upload_runs_once_it_is_back(
    outage_worker,
    on_private_redis,
    client,
    operator,
    password,
    endpoint,
    s3_target,
    bucket,
    tmp_path,
):
    outage_worker()
    source = make_file(tmp_path / "during.bin", 1000)
    with on_private_redis.away():
        wrong = client.post(reverse("login"), {"username": operator.username, "password": "no"})
        assert wrong.status_code == 200 and "_auth_user_id" not in client.session
        response = client.post(
            reverse("login"), {"username": operator.username, "password": password}
        )
        assert response.status_code == 302, response.content[:2000]
        assert client.session["_auth_user_id"] == str(operator.pk)

        created = create_upload(client, endpoint, bucket, source)
        assert created.status_code == 201, created.content
        answer = created.json()
        send_chunks(client, source, answer)
        assert complete(client, answer).status_code == 200
        # Its message could not be sent: the job waits, queued, for the sweep.
        assert job_of(answer).state == Job.State.QUEUED

    job = finished(answer, timeout=BACK_WITHIN_SECONDS + conf.JOB_STALE_SECONDS, sweep=True)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert sha256_object(s3_target.client(), bucket, "during.bin") == sha256_file(source)


# 3. Uploads in progress while Redis is away finish whole.


@pytest.mark.slow
def test_two_uploads_in_progress_while_redis_is_away_finish_byte_identical(
    outage_worker,
    on_private_redis,
    small_parts,
    client_as,
    operator,
    endpoint,
    s3_target,
    bucket,
    tmp_path,
):
    worker = outage_worker()
    client = client_as(operator)
    sources = [make_file(tmp_path / f"big-{n}.bin", 20 * MiB) for n in (1, 2)]
    answers = [create_upload(client, endpoint, bucket, source).json() for source in sources]
    assert [answer["chunks"] for answer in answers] == [4, 4]
    for source, answer in zip(sources, answers, strict=True):
        send_chunks(client, source, answer, [1, 2])
    raw = s3_target.client()
    wait_for(lambda: len(multipart_uploads(raw, bucket)) == 2, timeout=60, what="both under way")

    with on_private_redis.away():
        # The browser carries on sending: chunks need the database and the staging
        # disk, not Redis.
        for source, answer in zip(sources, answers, strict=True):
            send_chunks(client, source, answer, [3, 4])
            assert complete(client, answer).status_code == 200

    for source, answer in zip(sources, answers, strict=True):
        job = finished(answer, timeout=BACK_WITHIN_SECONDS + conf.JOB_STALE_SECONDS, sweep=True)
        assert job.state == Job.State.SUCCEEDED, job.error
        assert sha256_object(raw, bucket, source.name) == sha256_file(source)
        assert not Upload.objects.get(job=job).staging_dir.exists()
    assert multipart_uploads(raw, bucket) == []
    assert not Job.objects.filter(state__in=UNFINISHED).exists()
    assert worker.process.poll() is None, worker_log(worker)


# 4. The liveness check.


@pytest.mark.slow
def test_a_worker_that_stops_consuming_is_reported_dead_and_ends_itself(
    outage_worker, on_private_redis, client_as, operator, endpoint, bucket, tmp_path, settings
):
    settings.LIVENESS_SECONDS = 8
    worker = outage_worker(LIVENESS_SECONDS=8, UPLOAD_IDLE_SECONDS=600)
    assert "alive" in alive("worker")

    # A worker that stopped consuming but waits for a task that does not end: what Celery
    # 5.7 did after a Redis outage. Here a warm shutdown under an upload that waits.
    source = make_file(tmp_path / "held.bin", 1000)
    held = create_upload(client_as(operator), endpoint, bucket, source).json()
    wait_for(lambda: job_of(held).state == Job.State.RUNNING, timeout=60, what="a running job")
    worker.process.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()

    with pytest.raises(CommandError, match="The worker has not been consuming for"):
        wait_for(lambda: not passes("worker"), timeout=30, what="the check to fail")
        alive("worker")
    # Redis answers, so the watchdog ends the process for its supervisor to start anew.
    code = worker.process.wait(timeout=60)
    assert code == liveness.EXIT_CODE, worker_log(worker)
    assert time.monotonic() - stopped_at >= 6
    assert "not consuming for" in worker_log(worker)


@pytest.mark.slow
@pytest.mark.worker
def test_beat_is_alive_while_it_sends_tasks(on_private_redis, alive_dir, tmp_path, settings):
    env = {
        **os.environ,
        "REDIS_URL": on_private_redis.url,
        "CELERY_BROKER_URL": on_private_redis.url,
        "LIVENESS_DIR": str(alive_dir),
        "JOB_SWEEP_SECONDS": "1",
        "DATABASE_URL": "sqlite://:memory:",
    }
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "beat", "--loglevel", "WARNING"]
        + ["--schedule", str(tmp_path / "schedule")],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )
    try:
        with pytest.raises(CommandError, match="Beat has sent no task here yet"):
            alive("beat")
        wait_for(lambda: passes("beat"), timeout=120, what="beat to send a task")
        assert "Beat sent a task" in alive("beat")
    finally:
        beat.terminate()
        beat.wait(timeout=30)


# The check and the watchdog on their own, without processes.


def test_the_check_reads_the_age_of_the_file(alive_dir, settings):
    settings.LIVENESS_SECONDS = 60
    with pytest.raises(CommandError, match="No worker has consumed here yet"):
        alive("worker")
    liveness.Pulse("worker").beat()
    assert re.fullmatch(r"The worker was consuming \d s ago: alive.\n", alive("worker"))
    old = time.time() - 61
    os.utime(alive_dir / "worker.alive", (old, old))
    with pytest.raises(CommandError, match=r"not been consuming for 6\d s \(the limit is 60 s"):
        alive("worker")
    # Beat sends the sweep every JOB_SWEEP_SECONDS: it gets that much longer.
    settings.JOB_SWEEP_SECONDS = 5
    liveness.Pulse("beat").beat()
    old = time.time() - 61
    os.utime(alive_dir / "beat.alive", (old, old))
    assert "alive" in alive("beat")


class FakeExit:
    def __init__(self):
        self.code = None
        self.called = threading.Event()

    def __call__(self, code):
        self.code = code
        self.called.set()


@pytest.fixture
def quick_watch(monkeypatch, settings, alive_dir):
    """A watchdog that looks every 50 ms, with a limit of 2 s, and a broker the test
    turns on and off."""
    monkeypatch.setattr(liveness, "WATCH_SECONDS", 0.05)
    settings.LIVENESS_SECONDS = 2
    broker = {"answers": True}
    monkeypatch.setattr(liveness, "broker_answers", lambda: broker["answers"])
    started = []

    def start():
        pulse, exit = liveness.Pulse("worker"), FakeExit()
        watchdog = liveness.Watchdog(pulse, exit=exit)
        watchdog.start()
        started.append(watchdog)
        return pulse, exit

    yield start, broker
    for watchdog in started:
        watchdog.stopped.set()


def test_the_watchdog_ends_a_process_whose_pulse_stopped_while_the_broker_answers(
    quick_watch,
):
    start, broker = quick_watch
    pulse, exit = start()
    beating_until = time.monotonic() + 3
    while time.monotonic() < beating_until:  # beating: left alone
        pulse.beat()
        last_beat = time.monotonic()
        time.sleep(0.05)
    assert not exit.called.is_set()
    assert exit.called.wait(10) and exit.code == liveness.EXIT_CODE
    # Not at once: only once the pulse has been quiet (measured from the last beat,
    # which a busy machine may have written late).
    assert time.monotonic() - last_beat >= 1


def test_the_watchdog_waits_while_the_broker_is_away_and_gives_time_after(quick_watch):
    start, broker = quick_watch
    broker["answers"] = False
    pulse, exit = start()
    assert not exit.called.wait(3)  # no pulse for longer than the limit, nor a broker
    broker["answers"] = True
    back = time.monotonic()
    assert not exit.called.wait(1)  # back: the process gets the whole limit to consume
    assert exit.called.wait(10)  # and still no pulse after it: ended
    assert time.monotonic() - back >= 2
