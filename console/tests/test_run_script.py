"""bin/run: the processes it starts, and that stopping it stops every one of them.

Each test starts the real script on free ports with its own folder for local files (an
SQLite database, logs, the scheduler's state), waits for the web server, stops the
script one way or another and then looks in /proc for anything it left behind.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import free_port, wait_for_port
from console.tests.workers import wait_for

ROOT = Path(__file__).resolve().parents[2]
# bin/run starts Redis (when none answers), a demo S3 server, a Celery worker and its
# scheduler: these are not tests for the fast tier.
pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.moto]


def stat(pid: int) -> tuple[str, int] | None:
    """The process's state letter and parent, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, parent = text.rsplit(")", 1)[1].split()[:2]
    return state, int(parent)


def alive(pid: int) -> bool:
    found = stat(pid)
    return found is not None and found[0] != "Z"


def descendants(root: int) -> dict[int, str]:
    """Every process below `root`, with its command line."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := stat(int(entry.name))):
            parents[int(entry.name)] = found[1]
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for pid, its_parent in parents.items():
            if its_parent == parent and pid not in found:
                try:
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                todo.append(pid)
    return {pid: cmdline.decode(errors="replace") for pid, cmdline in found.items()}


def celery(processes: dict[int, str], kind: str) -> int:
    [pid] = [pid for pid, cmd in processes.items() if "celery" in cmd and f" {kind} " in cmd]
    return pid


def wait_until_gone(pids, timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.2)
    return left


@pytest.fixture
def run(tmp_path):
    """bin/run in its own process group, as a shell with job control starts it."""
    web_port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CACHE_URL", "STAGING_DIR", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        PORT=str(web_port),
        DEMO_S3_PORT=str(free_port()),
        CONSOLE_VAR_DIR=str(tmp_path / "var"),
        CELERY_QUEUE=f"run-test-{uuid.uuid4().hex[:8]}",
        CACHE_KEY_PREFIX=f"run-test-{uuid.uuid4().hex[:8]}",
        CONSOLE_ADMIN_PASSWORD="run-test-password",
    )
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        [str(ROOT / "bin" / "run")],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started: dict[int, str] = {}
    try:
        wait_for_port(web_port, timeout=120)
        # The web server answers last; give the worker and the scheduler a moment too.
        time.sleep(2)
        started = descendants(process.pid)
        process.started = started
        process.log = tmp_path / "run.log"
        process.var = tmp_path / "var"
        yield process
    finally:
        # Whatever the test left running, by the ids this test started.
        for pid in set(started) | set(descendants(process.pid)):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def test_the_scheduler_is_its_own_process_next_to_the_worker(run):
    worker, beat = celery(run.started, "worker"), celery(run.started, "beat")
    assert "--beat" not in run.started[worker] and " -B" not in run.started[worker]
    # Each runs under a loop of bin/run's own that starts it again when it exits.
    assert beat not in descendants(worker)
    assert stat(stat(beat)[1])[1] == run.pid and stat(stat(worker)[1])[1] == run.pid

    # A worker killed outright takes no scheduler with it, leaves none behind and is
    # started again, as one that ended itself for not consuming is.
    os.kill(worker, signal.SIGKILL)
    assert wait_until_gone([worker]) == []
    again = wait_for(
        lambda: {
            pid
            for pid, cmd in descendants(run.pid).items()
            if "celery" in cmd and " worker " in cmd and pid != worker
        },
        timeout=60,
        what="a new worker",
    )
    assert alive(beat)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=30)
    assert wait_until_gone(set(run.started) | again) == [], run.log.read_text()


def test_the_demo_server_run_starts_is_marked_as_kept_in_memory(run):
    with sqlite3.connect(run.var / "console.sqlite3") as db:
        rows = db.execute("SELECT in_memory FROM console_endpoint WHERE name = 'Local demo'")
        assert rows.fetchall() == [(1,)]
    assert "Registered endpoint 'Local demo'" in run.log.read_text()


def test_ctrl_c_stops_everything_run_started(run):
    # A terminal sends Ctrl-C's SIGINT to the whole foreground process group.
    os.killpg(run.pid, signal.SIGINT)
    run.wait(timeout=30)
    assert wait_until_gone(run.started) == [], run.log.read_text()


def test_kill_stops_everything_run_started(run):
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=30)
    assert wait_until_gone(run.started) == [], run.log.read_text()


def test_kill_9_of_run_still_stops_everything_it_started(run):
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=30)
    assert wait_until_gone(run.started) == [], run.log.read_text()
