"""Celery workers for tests: on the real Redis, on a queue of this test session.

A pytest plugin (the root conftest's `pytest_plugins`), so every test can ask for
the fixtures: `worker` runs an in-process worker thread; `worker_process()` starts
a real `celery worker` in a child process (for tests that kill it). `wait_for` is
a plain function to import.
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


class WorkerProcess:
    """`celery -A console worker` in a child process, on the test database.

    `env` adds to or overrides its environment (another Redis, shorter limits); with
    `log`, its output goes to that file rather than to the test's."""

    def __init__(self, queue: str, staging: Path, env: dict | None = None, log: Path | None = None):
        from django.db import connection

        db = connection.settings_dict
        url = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "CELERY_QUEUE": queue,
            "STAGING_DIR": str(staging),
            "DJANGO_SETTINGS_MODULE": "console.settings",
            **(env or {}),
        }
        self.log = log
        output = open(log, "ab") if log else None  # the child keeps a copy of its own
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "console",
                "worker",
                "-P",
                "threads",
                "-c",
                "4",
                "-Q",
                queue,
                "-l",
                "WARNING",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
        if output:
            output.close()

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


@pytest.fixture
def worker_process(transactional_db, celery_queue, staging):
    started: list[WorkerProcess] = []

    def start(env: dict | None = None, log: Path | None = None) -> WorkerProcess:
        item = WorkerProcess(celery_queue, staging, env=env, log=log)
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
