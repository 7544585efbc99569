"""Benchmark: deleting a 100 000-object folder as a console job against boto3 alone.

    .venv/bin/python bench/delete.py [--objects 100000] [--rounds 3] [--profile]
                                     [--server-pids FILE]

Starts moto on a free port (or uses S3_TEST_URL, S3_TEST_ACCESS_KEY,
S3_TEST_SECRET_KEY) and a `celery worker` (threads pool, as in production) on a
throwaway database (<name>_bench_delete beside the one DATABASE_URL or
TEST_DATABASE_URL names, dropped at the end). Each round puts the objects under
`bench/` (by concurrent PutObject, not timed) before each of three ways to
delete them, and checks that nothing is left after each:

  job         the console's bulk delete, started as a person starts it: a POST
              to the review view with start=on and the bucket's name typed
              (Django test client, real database and middleware), timed until
              the job's row says succeeded
  sequential  list a page (ListObjectsV2, 1 000 keys), DeleteObjects it, list
              the next: one request at a time, as a simple script does
  parallel    boto3 with as many DeleteObjects requests in flight as the job
              keeps (BULK_REQUESTS_IN_FLIGHT), the listing running ahead of them

It prints the objects per second of each (medians over the rounds) and two
ratios: job / sequential (target >= 2.0) and job / parallel (target >= 0.9).
`--profile` then runs one more delete in this process, with the job's own
runner, and says where its time went (listing, database writes, waiting for a
request slot) and how many requests it kept in flight on average.

Each way's line gives the CPU seconds the worker, this process, the S3 server
(moto, or the processes of --server-pids: lines of `name pid`) and the whole
machine spent meanwhile, out of what the machine's CPUs could give: on one
small machine the S3 server shares them with everything else, and more
requests in flight only help while it has CPU to spare.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import benchkit
from benchkit import cpu_seconds, machine_cpu_seconds, raw_client

PREFIX = "bench/"
BODY = b"0123456789abcdef"
WAYS = ("job", "sequential", "parallel")


def fill(raw, bucket: str, count: int) -> None:
    started = time.monotonic()
    keys = [f"{PREFIX}key-{i:07d}" for i in range(count)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: raw.put_object(Bucket=bucket, Key=k, Body=BODY), keys))
    print(f"    put {count} objects in {time.monotonic() - started:.0f} s", flush=True)


def left(raw, bucket: str) -> int:
    return raw.list_objects_v2(Bucket=bucket, Prefix=PREFIX, MaxKeys=1000).get("KeyCount", 0)


class Calls:
    """How long each request of a way took: what the endpoint does with one
    request at a time, and with several side by side."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = {"list": [], "delete": []}
        self.lock = threading.Lock()

    def __call__(self, name: str, method, **params):
        started = time.perf_counter()
        try:
            return method(**params)
        finally:
            with self.lock:
                self.seconds[name].append(time.perf_counter() - started)

    def medians(self) -> str:
        return ", ".join(
            f"{name} {statistics.median(values):.2f} s"
            for name, values in self.seconds.items()
            if values
        )


def delete_sequential(raw, bucket: str, calls: Calls) -> None:
    """List a page, delete it, list the next: one request at a time."""
    params = {"Bucket": bucket, "Prefix": PREFIX, "MaxKeys": 1000}
    while True:
        page = calls("list", raw.list_objects_v2, **params)
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            delete = {"Objects": keys, "Quiet": True}
            answer = calls("delete", raw.delete_objects, Bucket=bucket, Delete=delete)
            assert not answer.get("Errors"), answer["Errors"][:3]
        if not page.get("IsTruncated"):
            return
        params["ContinuationToken"] = page["NextContinuationToken"]


def delete_parallel(raw, bucket: str, width: int, calls: Calls) -> None:
    """`width` DeleteObjects requests in flight at all times; the listing runs
    ahead of them in a thread of its own (a few pages at most)."""
    pages: queue.Queue = queue.Queue(maxsize=width)

    def lister():
        params = {"Bucket": bucket, "Prefix": PREFIX, "MaxKeys": 1000}
        try:
            while True:
                page = calls("list", raw.list_objects_v2, **params)
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    pages.put(keys)
                if not page.get("IsTruncated"):
                    return
                params["ContinuationToken"] = page["NextContinuationToken"]
        finally:
            pages.put(None)

    def delete(keys):
        delete = {"Objects": keys, "Quiet": True}
        answer = calls("delete", raw.delete_objects, Bucket=bucket, Delete=delete)
        assert not answer.get("Errors"), answer["Errors"][:3]

    listing = threading.Thread(target=lister, daemon=True)
    listing.start()
    in_flight = set()
    with ThreadPoolExecutor(width) as pool:
        while (keys := pages.get()) is not None:
            if len(in_flight) >= width:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()
            in_flight.add(pool.submit(delete, keys))
        for future in in_flight:
            future.result()
    listing.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="say where the job's time goes (one more delete)"
    )
    parser.add_argument(
        "--server-pids",
        type=Path,
        help="a file of 'name pid' lines (the S3 server's processes) whose CPU time to show",
    )
    args = parser.parse_args()

    url, access, secret, moto = benchkit.s3_target()
    args.servers = [moto.pid] if moto is not None else []
    if args.server_pids:
        args.servers += [int(line.split()[1]) for line in args.server_pids.read_text().splitlines()]
    try:
        raw = raw_client(url, access, secret)
        run(raw, url, access, secret, args)
    finally:
        if moto is not None:
            moto.terminate()


def run(raw, url, access, secret, args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.urls import resolve, reverse

    width = max(1, settings.BULK_REQUESTS_IN_FLIGHT)
    bucket = f"bench-delete-{uuid.uuid4().hex[:8]}"
    raw.create_bucket(Bucket=bucket)
    try:
        with (
            benchkit.bench_database("delete") as database_url,
            benchkit.worker(database_url) as worker,
        ):
            from django.contrib.auth.models import User

            from console.models import Job

            user = User.objects.create_user("bench", password="x" * 20)
            endpoint = benchkit.console_endpoint("bench", url, access, secret, user=user)
            client = benchkit.signed_in_client(user)
            start_url = reverse("objects:bulk_delete", args=[endpoint.code, bucket])

            def start_job() -> Job:
                # What the review's Delete button sends for a folder too big to count
                # while the page waits: the bucket's name is asked for, and typed.
                data = {"prefix": PREFIX, "start": "on", "confirm_name": bucket}
                response = client.post(start_url, data)
                assert response.status_code == 302, response.content[:500]
                return Job.objects.get(code=resolve(response.url).kwargs["code"])

            def delete_job(count: int) -> None:
                job = start_job()
                while True:
                    state = Job.objects.filter(pk=job.pk).values_list("state", flat=True).get()
                    if state == Job.State.SUCCEEDED:
                        break
                    if state in Job.FINISHED_STATES:
                        job.refresh_from_db()
                        raise RuntimeError(f"the delete job ended {state}: {job.error}")
                    time.sleep(0.02)
                job.refresh_from_db()
                assert job.items_done == count, (job.items_done, count)
                waited = (job.started_at - job.created_at).total_seconds()
                ran = (job.finished_at - job.started_at).total_seconds()
                print(f"    job: {waited:.2f} s queued, {ran:.1f} s running", flush=True)

            calls = {way: Calls() for way in WAYS}  # per request, over every round
            ways = {
                "job": delete_job,
                "sequential": lambda count: delete_sequential(raw, bucket, calls["sequential"]),
                "parallel": lambda count: delete_parallel(raw, bucket, width, calls["parallel"]),
            }

            def cpu() -> dict[str, float]:
                """CPU seconds so far of the S3 server, the worker, this process (the
                client of the boto3 ways) and every process of the machine."""
                found = {"worker": cpu_seconds(worker.pid), "bench": cpu_seconds()}
                if args.servers:
                    found["s3 server"] = sum(cpu_seconds(pid) for pid in args.servers)
                found["machine"] = machine_cpu_seconds()
                return found

            print(f"endpoint {url}, {args.objects} objects, {width} requests in flight", flush=True)
            print("warming up (worker, connections) with 2 000 objects…", flush=True)
            warm = min(args.objects, 2000)
            for way in WAYS:
                fill(raw, bucket, warm)
                ways[way](warm)
                assert left(raw, bucket) == 0, f"{way} left objects behind"
            calls.update({way: Calls() for way in WAYS})  # without the warm-up
            times: dict[str, list[float]] = {way: [] for way in WAYS}
            for number in range(args.rounds):
                # Each round starts with another way, so a slow spell of the machine
                # does not always fall on the same one.
                order = WAYS[number % 3 :] + WAYS[: number % 3]
                for way in order:
                    print(f"round {number + 1}, {way}:", flush=True)
                    fill(raw, bucket, args.objects)
                    before = cpu()
                    started = time.perf_counter()
                    ways[way](args.objects)
                    seconds = time.perf_counter() - started
                    after = cpu()
                    assert left(raw, bucket) == 0, f"{way} left objects behind"
                    times[way].append(seconds)
                    busy = ", ".join(f"{n} {after[n] - before[n]:.1f}" for n in after)
                    busy += f" of {seconds * (os.cpu_count() or 1):.1f}"
                    print(
                        f"    {way}: {seconds:.1f} s, {args.objects / seconds:.0f} objects/s; "
                        f"CPU seconds: {busy}",
                        flush=True,
                    )

            rate = {way: args.objects / statistics.median(times[way]) for way in WAYS}
            print()
            print(f"objects: {args.objects}, rounds: {args.rounds}, endpoint: {url}")
            print(f"job (view → succeeded):       {rate['job']:7.0f} objects/s (median)")
            print(f"sequential list + delete:     {rate['sequential']:7.0f} objects/s")
            print(f"boto3, {width} deletes in flight:   {rate['parallel']:7.0f} objects/s")
            print(f"job / sequential = {rate['job'] / rate['sequential']:.2f}  (target >= 2.0)")
            print(f"job / parallel   = {rate['job'] / rate['parallel']:.2f}  (target >= 0.9)")
            print(f"requests of 1 000 keys, one at a time:  {calls['sequential'].medians()}")
            print(f"requests of 1 000 keys, {width} deletes at once: {calls['parallel'].medians()}")

            if args.profile:
                fill(raw, bucket, args.objects)
                profile(start_job, args.objects, width)
                assert left(raw, bucket) == 0, "the profiled job left objects behind"
    finally:
        benchkit.remove_bucket(raw, bucket)


def profile(start_job, count: int, width: int) -> None:
    """Run one delete job in this process with timers around its parts.

    The job is started through the view as before, but not queued: this process
    runs it, so the runner's main thread (which lists, writes the database and
    waits for a free request slot) can be timed part by part."""
    from unittest import mock

    from console import jobs, s3
    from console.models import Job
    from objects import bulk

    spent = {"list": 0.0, "record batch": 0.0, "record answer": 0.0, "wait for a slot": 0.0}
    requests: list[float] = []
    lock = threading.Lock()

    def timed(name, fn):
        def wrapper(*a, **kw):
            started = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.perf_counter() - started

        return wrapper

    def delete_objects(*a, **kw):
        started = time.perf_counter()
        try:
            return real_delete(*a, **kw)
        finally:
            with lock:
                requests.append(time.perf_counter() - started)

    real_delete = s3.delete_objects
    real_send = bulk.DeleteRunner.send
    real_collect = bulk.DeleteRunner.collect

    def send(self, items, cursor):
        started = time.perf_counter()
        before = spent["wait for a slot"] + spent["record answer"]
        try:
            return real_send(self, items, cursor)
        finally:
            inside = spent["wait for a slot"] + spent["record answer"] - before
            spent["record batch"] += time.perf_counter() - started - inside

    def collect(self, block):
        if not block:
            return real_collect(self, block)
        started = time.perf_counter()
        before = spent["record answer"]
        try:
            return real_collect(self, block)
        finally:
            inside = spent["record answer"] - before
            spent["wait for a slot"] += time.perf_counter() - started - inside

    patches = [
        mock.patch.object(jobs, "enqueue", lambda job: None),
        mock.patch.object(s3, "list_keys", timed("list", s3.list_keys)),
        mock.patch.object(s3, "delete_objects", delete_objects),
        mock.patch.object(bulk.DeleteRunner, "send", send),
        mock.patch.object(bulk.DeleteRunner, "collect", collect),
        mock.patch.object(
            bulk.DeleteRunner, "record", timed("record answer", bulk.DeleteRunner.record)
        ),
    ]
    for patch in patches:
        patch.start()
    try:
        job = start_job()
        started = time.perf_counter()
        jobs.run(job.pk, "profile")
        wall = time.perf_counter() - started
    finally:
        for patch in reversed(patches):
            patch.stop()
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, (job.state, job.error)
    print()
    print(f"profile of one job run in this process: {wall:.1f} s, {count / wall:.0f} objects/s")
    print("  the runner's main thread:")
    for name, seconds in spent.items():
        print(f"    {name:16} {seconds:6.1f} s  {100 * seconds / wall:4.0f} %")
    other = wall - sum(spent.values())
    print(f"    {'the rest':16} {other:6.1f} s  {100 * other / wall:4.0f} %")
    print(
        f"  DeleteObjects: {len(requests)} requests, median {statistics.median(requests):.2f} s; "
        f"on average {sum(requests) / wall:.1f} in flight of {width}"
    )


if __name__ == "__main__":
    main()
