"""What the benchmarks share: the S3 endpoints, a raw boto3 client, a throwaway
database, a `celery worker` of the run's own, and what the processes spend.

Import it first: it puts the project on sys.path and sets the environment
Django reads (DATABASE_URL from TEST_DATABASE_URL when that is set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# A script run from here has this folder first on the import path, where copy.py
# would stand in for the standard library's `copy`: it goes last, the project first.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path[:0] = [str(ROOT)]
sys.path.append(str(BENCH))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
if os.environ.get("TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/console")
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# A queue of this run only: the worker started here takes the jobs the views queue.
os.environ["CELERY_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"

MiB = 1024 * 1024


def s3_target(prefix: str = "S3_TEST"):
    """(url, access key, secret key, moto process or None): the endpoint that
    <prefix>_URL, <prefix>_ACCESS_KEY and <prefix>_SECRET_KEY name, else a moto
    server started on a free port."""
    url = os.environ.get(f"{prefix}_URL")
    if url:
        return url, os.environ[f"{prefix}_ACCESS_KEY"], os.environ[f"{prefix}_SECRET_KEY"], None
    from conftest import free_port, start_moto

    port = free_port()
    return f"http://127.0.0.1:{port}", "testing", "testing", start_moto(port)


def raw_client(url, access, secret):
    """boto3 as a script would use it on an S3-compatible endpoint."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name=os.environ.get("S3_TEST_REGION", "us-east-1"),
        config=Config(
            s3={"addressing_style": "path"},
            max_pool_connections=32,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one when pid is None)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every process of the machine has used (its busy time, all CPUs)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def resident(pid: int) -> int:
    """A process's resident memory (VmRSS), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakMemory:
    """`with PeakMemory(pid) as peak:` samples a process's resident memory every
    50 ms; `peak.growth` is the most it held above what it held at the start."""

    def __init__(self, pid: int):
        self.pid = pid
        self.start = self.most = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.most = max(self.most, resident(self.pid))

    def __enter__(self):
        self.start = self.most = resident(self.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.most - self.start


@contextmanager
def bench_database(name: str):
    """A database of the run's own (<name>_bench_<what> beside the configured one:
    the tests' test_<name> may be in use meanwhile), migrated, dropped at the end.
    Yields its URL, for the worker."""
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = f"{old_name}_bench_{name}"
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    try:
        yield f"postgres://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


@contextmanager
def worker(database_url: str, concurrency: int = 4):
    """A `celery worker` (threads pool, as in production) on the run's queue."""
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "console", "worker",
            "-P", "threads", "-c", str(concurrency), "-Q", os.environ["CELERY_QUEUE"],
            "-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip",
        ],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def console_endpoint(name: str, url: str, access: str, secret: str, user=None, level=None):
    """A stored endpoint for `url`, with `level` (operator by default) for `user`."""
    from console.models import Endpoint, Grant, Level

    endpoint = Endpoint(
        name=name,
        provider="other",
        endpoint_url=url,
        addressing_style="path",
        region=os.environ.get("S3_TEST_REGION", "us-east-1"),
        access_key_id=access,
    )
    endpoint.set_secret_key(secret)
    endpoint.save()
    if user is not None:
        Grant.objects.create(endpoint=endpoint, user=user, level=level or Level.OPERATOR)
    return endpoint


def signed_in_client(user):
    """A Django test client signed in as `user` (real middleware and views)."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def wait_for_job(pk: int, poll: float = 0.02):
    """The job's row once it has ended; an error unless it succeeded."""
    from console.models import Job

    while True:
        state = Job.objects.filter(pk=pk).values_list("state", flat=True).get()
        if state in Job.FINISHED_STATES:
            break
        time.sleep(poll)
    job = Job.objects.get(pk=pk)
    if job.state != Job.State.SUCCEEDED:
        errors = list(job.errors.values_list("key", "message")[:3])
        raise RuntimeError(f"the {job.kind} job ended {job.state}: {job.error} {errors}")
    return job


def remove_bucket(raw, bucket: str, prefix: str = "", keep: bool = False) -> None:
    """Delete the objects under `prefix`, then the bucket unless `keep` (untimed;
    at the end of a run a failure is printed, not raised)."""
    try:
        for page in raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                raw.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        if not keep:
            raw.delete_bucket(Bucket=bucket)
    except Exception as err:  # noqa: BLE001 - cleanup only
        if keep:
            raise
        print(f"could not remove {bucket}: {err}")
