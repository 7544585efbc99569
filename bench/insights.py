"""Benchmark: an insights run over 100 000 objects against boto3 listing them.

    .venv/bin/python bench/insights.py [--objects 100000] [--rounds 3]

Uses S3_TEST_URL / S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY (the Ceph gateway,
say) or a moto server started here, a `celery worker` (threads pool, as in
production) and a throwaway database (<name>_bench_insights, dropped at the end).
It puts the objects in 100 folders once (untimed), then in each round:

  job    an insights run started as a person starts it (a POST to the insights
         view, Django test client, real database and middleware), timed until
         the job's row says succeeded; its object count is checked
  boto3  boto3 paginating ListObjectsV2 over the same objects (1 000 a page)
         and summing their sizes

Each round starts with the other way. It prints the medians and their ratio
(job time ÷ boto3 time; target ≤ 1.15: the listing is the cost, the adding up
should be free), and the most the worker's memory grew during a run.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from types import SimpleNamespace

import benchkit


def boto3_sum(raw, bucket: str) -> tuple[int, int]:
    count = size = 0
    for page in raw.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            count += 1
            size += item["Size"]
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url, access, secret, moto = benchkit.s3_target()
    try:
        run(url, access, secret, args)
    finally:
        if moto is not None:
            moto.terminate()


def run(url, access, secret, args) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.urls import reverse

    from console.models import Job
    from objects.tests.bulk_helpers import put_many

    raw = benchkit.raw_client(url, access, secret)
    bucket = f"bench-insights-{uuid.uuid4().hex[:8]}"
    raw.create_bucket(Bucket=bucket)
    times: dict[str, list[float]] = {"job": [], "boto3": []}
    growth: list[int] = []
    try:
        started = time.monotonic()
        target = SimpleNamespace(url=url, access_key=access, secret_key=secret, region="us-east-1")
        put_many(target, bucket, [f"f{i % 100:02d}/{i:07d}" for i in range(args.objects)])
        print(f"put {args.objects} objects in {time.monotonic() - started:.0f} s", flush=True)
        with (
            benchkit.bench_database("insights") as database_url,
            benchkit.worker(database_url) as worker,
        ):
            user = User.objects.create_user("bench", password="x" * 20)
            endpoint = benchkit.console_endpoint("bench", url, access, secret, user=user)
            client = benchkit.signed_in_client(user)
            start_url = reverse("buckets:insights", args=[endpoint.code, bucket])

            def job_way() -> None:
                response = client.post(start_url, {"prefix": ""})
                assert response.status_code == 302, response.content[:500]
                job = Job.objects.filter(kind=Job.Kind.INSIGHTS).latest("created_at")
                with benchkit.PeakMemory(worker.pid) as peak:
                    job = benchkit.wait_for_job(job.pk)
                growth.append(peak.growth)
                assert job.params["result"]["objects"] == args.objects, job.params["result"]

            def boto3_way() -> None:
                assert boto3_sum(raw, bucket)[0] == args.objects

            ways = {"job": job_way, "boto3": boto3_way}
            print("warming up (worker, connections)…", flush=True)
            for way in ways.values():
                way()
            growth.clear()  # the first run loads what any run loads
            for number in range(args.rounds):
                order = ["job", "boto3"] if number % 2 == 0 else ["boto3", "job"]
                for name in order:
                    began = time.perf_counter()
                    ways[name]()
                    seconds = time.perf_counter() - began
                    times[name].append(seconds)
                    print(f"  round {number + 1}, {name}: {seconds:.1f} s", flush=True)
    finally:
        benchkit.remove_bucket(raw, bucket)
    job, boto = statistics.median(times["job"]), statistics.median(times["boto3"])
    print()
    print(f"{args.objects} objects on {url}, {args.rounds} rounds (medians)")
    print(f"insights job {job:.1f} s, boto3 ListObjectsV2 + sum {boto:.1f} s")
    print(f"job / boto3 = {job / boto:.2f}  (target <= 1.15)")
    print(f"worker memory growth during a run: at most {max(growth) / benchkit.MiB:.0f} MiB")


if __name__ == "__main__":
    main()
