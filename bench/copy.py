"""Benchmark: copy jobs against boto3 doing the same copies, on the same endpoints.

    .venv/bin/python bench/copy.py [--size-mib 1024] [--objects 5000] [--rounds 3]
                                   [--only large|small]

Two endpoints: the source is S3_TEST_URL / S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY
(say, the Ceph gateway), the destination COPY_DEST_URL / COPY_DEST_ACCESS_KEY /
COPY_DEST_SECRET_KEY; either one missing is a moto server started here. A
`celery worker` (threads pool, as in production) runs the jobs on a throwaway
database (<name>_bench_copy, dropped at the end). Jobs start as a person starts
them: a POST to the copy view with start=on (Django test client, real database
and middleware), timed until the job's row says succeeded. In each round:

  (a) large  one object of --size-mib across the endpoints: the job, against
             boto3 reading it from the source (get_object) into `upload_fileobj`
             on the destination with the job's part size (COPY_PART_SIZE) and
             as many parts at once (COPY_PARTS_IN_FLIGHT). Both copies are
             checked by size and checksum afterwards (untimed). The worker's
             memory growth during the job is sampled from /proc.
  (b) small  --objects objects of 1 KiB under one prefix, copied to another
             prefix of the same bucket: the job (CopyObject) against boto3's
             CopyObject with as many in flight as the job keeps
             (COPY_OBJECTS_IN_FLIGHT). The copies are counted afterwards.

Each round starts with the other way, so a slow spell of the machine does not
always fall on the same one. It prints the medians, the ratios (console time ÷
boto3 time; target ≤ 1.2 for both) and the worker's largest memory growth
(target < 100 MiB).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file has the name of the standard library's `copy`, which Django imports:
# run as a script, its own folder must not come first on the import path.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from bench import benchkit  # noqa: E402
from bench.benchkit import MiB  # noqa: E402

SMALL_BODY = b"x" * 1024


def put_large(raw, bucket: str, key: str, size: int) -> str:
    """A random object of `size` bytes (untimed); its SHA-256."""
    from boto3.s3.transfer import TransferConfig

    digest = hashlib.sha256()

    class Random(io.RawIOBase):
        left = size

        def readable(self):
            return True

        def readinto(self, buffer):
            n = min(len(buffer), self.left)
            data = os.urandom(n)
            digest.update(data)
            buffer[:n] = data
            self.left -= n
            return n

    raw.upload_fileobj(
        io.BufferedReader(Random(), 8 * MiB),
        bucket,
        key,
        Config=TransferConfig(multipart_chunksize=16 * MiB, max_concurrency=8),
    )
    return digest.hexdigest()


def sha256_of(raw, bucket: str, key: str) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    body = raw.get_object(Bucket=bucket, Key=key)["Body"]
    while chunk := body.read(8 * MiB):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def fill_small(raw, bucket: str, prefix: str, count: int) -> None:
    keys = [f"{prefix}obj-{i:06d}" for i in range(count)]
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda k: raw.put_object(Bucket=bucket, Key=k, Body=SMALL_BODY), keys))


def count_under(raw, bucket: str, prefix: str) -> int:
    paginator = raw.get_paginator("list_objects_v2")
    return sum(p.get("KeyCount", 0) for p in paginator.paginate(Bucket=bucket, Prefix=prefix))


def boto3_large(src, dst, src_bucket, dst_bucket, key, part, width) -> None:
    from boto3.s3.transfer import TransferConfig

    body = src.get_object(Bucket=src_bucket, Key=key)["Body"]
    config = TransferConfig(
        multipart_threshold=part, multipart_chunksize=part, max_concurrency=width
    )
    dst.upload_fileobj(body, dst_bucket, key, Config=config)


def boto3_small(raw, bucket, keys, width) -> None:
    def copy(key):
        target = "dst/" + key[len("src/") :]
        raw.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})

    with ThreadPoolExecutor(width) as pool:
        list(pool.map(copy, keys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("large", "small"))
    args = parser.parse_args()

    source = benchkit.s3_target("S3_TEST")
    dest = benchkit.s3_target("COPY_DEST")
    try:
        run(source, dest, args)
    finally:
        for *_, process in (source, dest):
            if process is not None:
                process.terminate()


def run(source, dest, args) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.urls import resolve, reverse

    from console.models import Job

    src = benchkit.raw_client(*source[:3])
    dst = benchkit.raw_client(*dest[:3])
    tag = uuid.uuid4().hex[:8]
    src_bucket, dst_bucket = f"bench-copy-{tag}", f"bench-copy-{tag}-to"
    src.create_bucket(Bucket=src_bucket)
    dst.create_bucket(Bucket=dst_bucket)
    part, width = settings.COPY_PART_SIZE, settings.COPY_PARTS_IN_FLIGHT
    objects_width = settings.COPY_OBJECTS_IN_FLIGHT
    size = args.size_mib * MiB
    times: dict[str, list[float]] = {}
    growth: list[int] = []
    try:
        with benchkit.bench_database("copy") as database_url:
            with benchkit.worker(database_url) as worker:
                user = User.objects.create_user("bench", password="x" * 20)
                here = benchkit.console_endpoint("source", *source[:3], user=user)
                there = benchkit.console_endpoint("destination", *dest[:3], user=user)
                client = benchkit.signed_in_client(user)
                start_url = reverse("objects:copy_job", args=[here.code, src_bucket])

                def start_job(target, bucket, **fields) -> Job:
                    data = {
                        "dest_endpoint": str(target.code),
                        "dest_bucket": bucket,
                        "on_exists": "overwrite",
                        "start": "on",
                        **fields,
                    }
                    response = client.post(start_url, data)
                    assert response.status_code == 302, response.content[:500]
                    return Job.objects.get(code=resolve(response.url).kwargs["code"])

                def timed(name: str, fn) -> float:
                    started = time.perf_counter()
                    fn()
                    seconds = time.perf_counter() - started
                    times.setdefault(name, []).append(seconds)
                    return seconds

                if args.only != "small":
                    print(f"(a) {args.size_mib} MiB from {source[0]} to {dest[0]}, "
                          f"{part // MiB} MiB parts, {width} at once", flush=True)  # fmt: skip
                    expected = (size, put_large(src, src_bucket, "large.bin", size))

                    def job_large():
                        job = start_job(there, dst_bucket, key=["large.bin"])
                        with benchkit.PeakMemory(worker.pid) as peak:
                            benchkit.wait_for_job(job.pk)
                        growth.append(peak.growth)

                    ways = {
                        "large job": job_large,
                        "large boto3": lambda: boto3_large(
                            src, dst, src_bucket, dst_bucket, "large.bin", part, width
                        ),
                    }
                    # No warm-up: connecting is nothing beside a gigabyte.
                    rounds(
                        ways,
                        args.rounds,
                        timed,
                        lambda: check_large(dst, dst_bucket, expected),
                        warm=False,
                    )

                if args.only != "large":
                    print(f"(b) {args.objects} objects of 1 KiB within {source[0]}, "
                          f"{objects_width} in flight", flush=True)  # fmt: skip
                    fill_small(src, src_bucket, "src/", args.objects)
                    keys = [f"src/obj-{i:06d}" for i in range(args.objects)]

                    def job_small():
                        job = start_job(
                            here, src_bucket, prefix=["src/"], base="src/", dest_prefix="dst"
                        )
                        benchkit.wait_for_job(job.pk)

                    ways = {
                        "small job": job_small,
                        "small boto3": lambda: boto3_small(src, src_bucket, keys, objects_width),
                    }

                    def check_small():
                        assert count_under(src, src_bucket, "dst/") == args.objects
                        benchkit.remove_bucket(src, src_bucket, "dst/", keep=True)

                    rounds(ways, args.rounds, timed, check_small)
    finally:
        benchkit.remove_bucket(src, src_bucket)
        benchkit.remove_bucket(dst, dst_bucket)

    print()
    print(f"source {source[0]}, destination {dest[0]}, {args.rounds} rounds (medians)")
    for what, target in (("large", 1.2), ("small", 1.2)):
        if f"{what} job" not in times:
            continue
        job = statistics.median(times[f"{what} job"])
        boto = statistics.median(times[f"{what} boto3"])
        print(f"({what}) job {job:.1f} s, boto3 {boto:.1f} s: "
              f"job / boto3 = {job / boto:.2f} (target <= {target})")  # fmt: skip
    if growth:
        print(f"worker memory growth during the large copy: at most {max(growth) / MiB:.0f} MiB "
              "(target < 100 MiB)")  # fmt: skip


def rounds(ways: dict, count: int, timed, check, warm: bool = True) -> None:
    names = list(ways)
    if warm:
        print("  warming up (worker, connections)…", flush=True)
        for name in names:
            ways[name]()
            check()
    for number in range(count):
        order = names[number % 2 :] + names[: number % 2]
        for name in order:
            seconds = timed(name, ways[name])
            print(f"  round {number + 1}, {name}: {seconds:.1f} s", flush=True)
            check()


def check_large(dst, bucket: str, expected: tuple[int, str]) -> None:
    """Both ways write large.bin at the destination: it must be the source's bytes."""
    found = sha256_of(dst, bucket, "large.bin")
    assert found == expected, (found, expected)
    dst.delete_object(Bucket=bucket, Key="large.bin")


if __name__ == "__main__":
    sys.exit(main())
