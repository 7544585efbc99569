"""Is the worker still consuming, is beat still sending? For their supervisor.

A worker whose broker went away reconnects by itself. But a worker can also lose its
consumer for good while its process lives on: Celery 5.7 did so when Redis went away
under running tasks (it logged "Unrecoverable error", waited for its running tasks,
never consumed again and ignored TERM). Nothing then runs the jobs queued for it. So:

- a worker's pulse beats every PULSE_SECONDS while its consumer is connected and
  consuming (a consumer bootstep whose timer runs in the consumer's own event loop);
  beat's pulse beats each time it has sent a task (the sweep goes every
  JOB_SWEEP_SECONDS). Each pulse touches LIVENESS_DIR/worker.alive or beat.alive.
- `python manage.py check_alive worker|beat` fails when that file is older than the
  limit (LIVENESS_SECONDS; docker-compose.yml's health checks run it).
- a watchdog thread in the process ends it when its pulse has not beaten for the
  limit while the broker answered, so that its supervisor (compose's restart policy,
  bin/run) starts a fresh one. While the broker is away waiting is right: the process
  reconnects by itself once it is back, and gets the limit to do so.

Only the `celery worker` and `celery beat` commands beat and watch (Celery's
`celeryd_init` and `beat_init` signals), never a worker a test runs in its own process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from celery import bootsteps, signals
from django.conf import settings

log = logging.getLogger("console.liveness")

ROLES = ("worker", "beat")
# A consuming worker beats this often; the watchdog looks this often.
PULSE_SECONDS = 2.0
WATCH_SECONDS = 2.0
# What the process exits with when the watchdog ends it.
EXIT_CODE = 3


def alive_file(role: str) -> Path:
    return Path(settings.LIVENESS_DIR) / f"{role}.alive"


def limit(role: str) -> float:
    """Seconds without a beat after which the process counts as dead.

    A well beat sends at least the sweep every JOB_SWEEP_SECONDS, so its limit is that
    much longer."""
    return settings.LIVENESS_SECONDS + (settings.JOB_SWEEP_SECONDS if role == "beat" else 0)


def age(role: str) -> float | None:
    """Seconds since the last beat written to the file, or None when there is none."""
    try:
        return max(0.0, time.time() - alive_file(role).stat().st_mtime)
    except FileNotFoundError:
        return None


def broker_answers() -> bool:
    from console.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - any failure means it does not answer
        return False


class Pulse:
    """When this process last did its work, in memory and in its file."""

    def __init__(self, role: str):
        self.role = role
        self.path = alive_file(role)
        self.at = time.monotonic()
        self._warned = False

    def beat(self) -> None:
        self.at = time.monotonic()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()
            self._warned = False
        except OSError as exc:
            if not self._warned:
                log.warning("%s: cannot touch %s (%s)", self.role, self.path, exc)
                self._warned = True


class Watchdog(threading.Thread):
    """Ends the process once it has had no beat for the limit while the broker answered."""

    def __init__(self, pulse: Pulse, exit=os._exit):
        super().__init__(name=f"{pulse.role}-watchdog", daemon=True)
        self.pulse = pulse
        self.limit = limit(pulse.role)
        self.exit = exit
        self.stopped = threading.Event()

    def run(self) -> None:
        # Since when the broker has answered; the process gets the limit from its
        # start, and from the broker's return after an outage, to beat.
        back_at: float | None = time.monotonic()
        while not self.stopped.wait(WATCH_SECONDS):
            now = time.monotonic()
            if now - self.pulse.at <= self.limit:
                continue
            if not broker_answers():
                if back_at is not None:
                    log.warning("%s: the broker is away; waiting for it", self.pulse.role)
                back_at = None
                continue
            if back_at is None:
                back_at = now
            if now - back_at > self.limit:
                log.critical(
                    "%s: not %s for %.0f s although the broker answers; exiting so that a "
                    "fresh one is started",
                    self.pulse.role,
                    "consuming" if self.pulse.role == "worker" else "sending tasks",
                    now - self.pulse.at,
                )
                for handler in logging.getLogger().handlers:
                    handler.flush()
                self.exit(EXIT_CODE)
                return


PULSES: dict[str, Pulse] = {}


def watch(role: str) -> Pulse:
    """Start the pulse and the watchdog of this process, as `role`."""
    pulse = PULSES[role] = Pulse(role)
    Watchdog(pulse).start()
    return pulse


class Consuming(bootsteps.StartStopStep):
    """Beats the worker's pulse from the consumer's event loop while it consumes.

    Started each time the consumer has connected and its task consumer is consuming,
    stopped when the connection is lost; a loop that stops running stops the beats too.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.timer_entry = None

    def start(self, c):
        self.beat(c)
        self.timer_entry = c.timer.call_repeatedly(PULSE_SECONDS, self.beat, (c,), priority=10)

    def stop(self, c):
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    def shutdown(self, c):
        self.stop(c)

    def beat(self, c) -> None:
        consumer = c.task_consumer
        if c.connection is not None and consumer is not None and consumer.queues:
            PULSES["worker"].beat()


@signals.celeryd_init.connect
def _watch_worker(sender=None, instance=None, **kwargs):
    # Sent by the `celery worker` command only, before the consumer's steps are read.
    instance.app.steps["consumer"].add(Consuming)
    watch("worker")


@signals.beat_init.connect
def _watch_beat(sender=None, **kwargs):
    pulse = watch("beat")

    def sent(**kwargs):
        pulse.beat()

    signals.after_task_publish.connect(sent, weak=False, dispatch_uid="console.liveness.beat")
