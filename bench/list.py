"""Benchmark: browsing a 100 000-key prefix costs what one list call costs.

    .venv/bin/python bench/list.py [--runs 15] [--keys 100000]

Starts moto on a free port (or uses S3_TEST_URL, S3_TEST_ACCESS_KEY,
S3_TEST_SECRET_KEY), fills `big/` with 100 000 keys by concurrent PutObject
(reusing the bucket when it is already filled), then prints medians of:

  view / raw   the console's browse view (Django test client, real database,
               full middleware and template) for the first page of `big/`,
               divided by one raw list_objects_v2 call for the same page
  big / small  the browse view of the 100 000-key prefix divided by the browse
               view of a 10-key prefix in the same bucket

Targets: view / raw <= 1.5, big / small <= 1.2. It uses a throwaway test
database (created from DATABASE_URL or TEST_DATABASE_URL and dropped at the end).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import benchkit
from benchkit import raw_client

BUCKET = "bench-list-100k"
PAGE = 200


def fill(raw, count: int) -> None:
    marker = f"meta/filled-{count}"
    try:
        raw.head_bucket(Bucket=BUCKET)
    except Exception:
        raw.create_bucket(Bucket=BUCKET)
    try:
        raw.head_object(Bucket=BUCKET, Key=marker)
        print(f"reusing {BUCKET}: big/ already holds {count} keys")
        return
    except Exception:
        pass
    started = time.monotonic()
    keys = [f"big/key-{i:07d}" for i in range(count)] + [f"small/key-{i:02d}" for i in range(10)]
    with ThreadPoolExecutor(32) as pool:
        for done, _ in enumerate(
            pool.map(lambda k: raw.put_object(Bucket=BUCKET, Key=k, Body=b""), keys), 1
        ):
            if done % 20000 == 0:
                print(f"  {done} keys written ({time.monotonic() - started:.0f} s)", flush=True)
    raw.put_object(Bucket=BUCKET, Key=marker, Body=b"")
    print(f"filled big/ with {count} keys in {time.monotonic() - started:.0f} s")


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()

    url, access, secret, moto = benchkit.s3_target()
    try:
        raw = raw_client(url, access, secret)
        fill(raw, args.keys)
        run(raw, url, access, secret, args.runs)
    finally:
        if moto is not None:
            moto.terminate()


def run(raw, url, access, secret, runs: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.urls import reverse

    # No setup_test_environment(): its template instrumentation copies every
    # rendered context for the test client, work a served page never does.
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.contrib.auth.models import User

        from console.models import Level

        user = User.objects.create_user("bench", password="x" * 20)
        endpoint = benchkit.console_endpoint(
            "bench", url, access, secret, user=user, level=Level.VIEWER
        )
        client = benchkit.signed_in_client(user)
        browse = reverse("objects:browse", args=[endpoint.code, BUCKET])

        def view(prefix, size=PAGE):
            response = client.get(browse, {"prefix": prefix, "size": size})
            assert response.status_code == 200 and b'<tr class="object">' in response.content

        def raw_list(prefix="big/"):
            raw.list_objects_v2(Bucket=BUCKET, Prefix=prefix, Delimiter="/", MaxKeys=PAGE)

        for _ in range(2):  # warm up connections, templates and caches
            view("big/"), view("small/"), raw_list()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.runcall(lambda: [view("big/") for _ in range(5)])
            pstats.Stats(profile).sort_stats(
                os.environ.get("BENCH_PROFILE", "tottime")
            ).print_stats(45)
        samples = {"view": [], "raw": [], "small": [], "big10": [], "raw_small": []}
        for _ in range(runs):
            samples["raw"].append(timed(raw_list))
            samples["raw_small"].append(timed(lambda: raw_list("small/")))
            samples["view"].append(timed(lambda: view("big/")))
            samples["small"].append(timed(lambda: view("small/")))
            samples["big10"].append(timed(lambda: view("big/", 10)))
        med = {k: statistics.median(v) for k, v in samples.items()}
        print(f"median raw list_objects_v2 (200 keys of big/): {med['raw'] * 1000:.1f} ms")
        print(f"median raw list_objects_v2 (small/, 10 keys):  {med['raw_small'] * 1000:.1f} ms")
        print(f"median browse view, big/ (100 000 keys):       {med['view'] * 1000:.1f} ms")
        print(f"median browse view, small/ (10 keys):          {med['small'] * 1000:.1f} ms")
        print(f"median browse view, big/ at 10 a page:         {med['big10'] * 1000:.1f} ms")
        print(f"view / raw   = {med['view'] / med['raw']:.2f}  (target <= 1.5)")
        print(f"big / small  = {med['view'] / med['small']:.2f}  (target <= 1.2; 200 rows vs 10)")
        print(
            f"big / small, same 10 rows = {med['big10'] / med['small']:.2f}"
            "  (only the prefix size differs)"
        )
        # What the endpoint itself needs differs by prefix on some servers (moto
        # collects every matching key before it cuts a page); the console's share
        # is the rest.
        print(
            f"raw big / raw small = {med['raw'] / med['raw_small']:.2f}  (the server alone); "
            f"console's own time: big/ {(med['view'] - med['raw']) * 1000:.1f} ms, "
            f"small/ {(med['small'] - med['raw_small']) * 1000:.1f} ms"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
