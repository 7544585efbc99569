"""Celery workers for tests: on the real Redis, on a queue of this test session.

A pytest plugin (the root conftest's `pytest_plugins`), so every test can ask for
the fixtures: `worker` runs an in-process worker thread; `worker_process()` starts
a real `celery worker` in a child process (for tests that kill it), and
`beat_process()` a `celery beat` that sends it the sweep. `wait_for` is a plain
function to import.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def celery_queue():
    """A queue only this session uses, so parallel test runs never take each other's tasks."""
    from django.conf import settings

    name = f"test-{uuid.uuid4().hex[:12]}"
    old = settings.CELERY_TASK_DEFAULT_QUEUE
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    yield name
    settings.CELERY_TASK_DEFAULT_QUEUE = old
    try:
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(name)
    except Exception:  # noqa: BLE001 - cleanup only
        pass


@pytest.fixture
def staging(tmp_path, settings):
    settings.STAGING_DIR = tmp_path / "staging"
    return settings.STAGING_DIR


@pytest.fixture
def worker(transactional_db, celery_queue, staging):
    """An in-process worker thread (threads pool, so several jobs run at once)."""
    from celery.contrib.testing.worker import start_worker

    import console.tasks  # noqa: F401 - registers the tasks
    import objects.tasks  # noqa: F401
    from console.celery import app

    with start_worker(
        app,
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=[celery_queue],
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as controller:
        yield controller


def database_url(port: int | None = None) -> str:
    """The test database's URL for a child process; `port` to reach it another way
    (through a proxy that can cut it off)."""
    from django.db import connection

    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}@{host}:{port or db['PORT'] or 5432}/{db['NAME']}"


def child_env(queue: str, staging: Path, env: dict | None = None) -> dict:
    """What a console process started by a test needs: the test database, this
    session's queue and the staging folder; `env` overrides any of it."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_QUEUE": queue,
        "STAGING_DIR": str(staging),
        "DJANGO_SETTINGS_MODULE": "console.settings",
        **(env or {}),
    }


class ChildProcess:
    """A console process started by a test; its output goes to `log` when given."""

    def __init__(self, command: list[str], env: dict, log: Path | None = None):
        self.log = log
        output = open(log, "ab") if log else None  # the child keeps it open
        try:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
            )
        finally:
            if output:
                output.close()

    def logged(self) -> str:
        """What the process wrote so far (its log file)."""
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no chance to finish or acknowledge anything."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcess(ChildProcess):
    """`celery -A console worker` in a child process, on the test database.

    With a `log` it logs at INFO there, so a test can read what it did (and see it
    ready); `env` overrides the settings it reads (DATABASE_URL, say). One started
    with `listening=False` takes no task until `listen()`: a test can have it ready
    while another worker takes the jobs."""

    def __init__(
        self,
        queue: str,
        staging: Path,
        env: dict | None = None,
        log: Path | None = None,
        listening: bool = True,
    ):
        self.queue = queue
        self.name = f"w{uuid.uuid4().hex[:8]}@%h"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "console",
            "worker",
            "-n",
            self.name,
            "-P",
            "threads",
            "-c",
            "4",
            "-Q",
            queue if listening else f"{queue}-idle",
            "-l",
            "INFO" if log else "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
        super().__init__(command, child_env(queue, staging, env), log)

    @property
    def ready(self) -> bool:
        """The worker consumes its queue (known from its log only)."""
        return " ready." in self.logged()

    def listen(self) -> None:
        """Take tasks from the session's queue from now on (remote control)."""
        from celery.utils.nodenames import host_format

        from console.celery import app

        name = host_format(self.name)
        replies = app.control.add_consumer(self.queue, destination=[name], reply=True, timeout=10)
        assert any(name in reply for reply in replies), f"{name} did not answer: {replies}"


@pytest.fixture
def worker_process(transactional_db, celery_queue, staging):
    """Start `celery worker` child processes: `worker_process(env=..., log=..., listening=...)`."""
    started: list[WorkerProcess] = []

    def start(
        env: dict | None = None, log: Path | None = None, listening: bool = True
    ) -> WorkerProcess:
        item = WorkerProcess(celery_queue, staging, env, log, listening)
        started.append(item)
        return item

    yield start
    for item in started:
        item.stop()


@pytest.fixture
def beat_process(celery_queue, tmp_path):
    """Start `celery beat` (as production runs it) in a child process: it sends the
    sweep to this session's queue every JOB_SWEEP_SECONDS."""
    started: list[ChildProcess] = []

    def start() -> ChildProcess:
        folder = tmp_path / f"beat-{len(started)}"
        folder.mkdir()
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "console",
            "beat",
            "-s",
            str(folder / "schedule"),
            "-l",
            "INFO",
        ]
        env = {**os.environ, "CELERY_QUEUE": celery_queue}
        item = ChildProcess(command, env, folder / "beat.log")
        started.append(item)
        return item

    yield start
    for item in started:
        item.stop()


def wait_for(check, timeout: float = 60, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
