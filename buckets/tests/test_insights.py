"""Insights runs against a real S3 server and a real worker: exact counts compared
with boto3's own, a worker killed mid-run, and the worker's memory over a big run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.urls import reverse

from buckets.insights import folder
from buckets.models import Insight
from console import jobs
from console.models import Job
from console.tests.workers import wait_for
from objects.tests.bulk_helpers import put_many

MiB = 1024 * 1024


def start_run(client, endpoint, bucket: str, prefix: str = "") -> Job:
    url = reverse("buckets:insights", args=[endpoint.code, bucket])
    response = client.post(url, {"prefix": prefix})
    assert response.status_code == 302, response.content[:2000]
    return Job.objects.filter(kind=Job.Kind.INSIGHTS, bucket=bucket).latest("created_at")


def finished(job: Job, timeout: float = 180) -> Job:
    return wait_for(
        lambda: (row := Job.objects.get(pk=job.pk)).finished and row,
        timeout=timeout,
        what="the insights run to end",
    )


def boto3_tally(raw, bucket: str) -> dict:
    """What the bucket holds, counted with boto3 alone."""
    tally = {"objects": 0, "current_bytes": 0, "noncurrent": 0, "noncurrent_bytes": 0}
    tally.update(markers=0, classes={}, folders={}, uploads=0, upload_bytes=0)
    for page in raw.get_paginator("list_object_versions").paginate(Bucket=bucket):
        tally["markers"] += len(page.get("DeleteMarkers", []))
        for version in page.get("Versions", []):
            size = version["Size"]
            if version["IsLatest"]:
                tally["objects"] += 1
                tally["current_bytes"] += size
            else:
                tally["noncurrent"] += 1
                tally["noncurrent_bytes"] += size
            kind = tally["classes"].setdefault(version.get("StorageClass", "STANDARD"), [0, 0])
            kind[0] += 1
            kind[1] += size
            name = folder(version["Key"], "", 1)
            if name:
                tally["folders"][name] = tally["folders"].get(name, 0) + size
    for upload in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        tally["uploads"] += 1
        parts = raw.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        tally["upload_bytes"] += sum(p["Size"] for p in parts.get("Parts", []))
    return tally


def test_a_versioned_bucket_is_counted_exactly_as_boto3_counts_it(
    worker, client_as, viewer, endpoint, s3_target, bucket
):
    raw = s3_target.client()
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second version"):
        raw.put_object(Bucket=bucket, Key="docs/a.txt", Body=body)
    raw.put_object(Bucket=bucket, Key="docs/b.txt", Body=b"b" * 100)
    raw.delete_object(Bucket=bucket, Key="docs/b.txt")  # a delete marker over it
    raw.put_object(Bucket=bucket, Key="img/x/1.png", Body=b"p" * 3000, StorageClass="STANDARD_IA")
    raw.put_object(Bucket=bucket, Key="img/y/2.png", Body=b"q" * 700, StorageClass="GLACIER")
    raw.put_object(Bucket=bucket, Key="top.txt", Body=b"t")
    for key in ("big/one.bin", "big/two.bin"):
        upload = raw.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        raw.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"u" * MiB)
    raw.create_multipart_upload(Bucket=bucket, Key="big/none.bin")  # no part yet

    job = finished(start_run(client_as(viewer), endpoint, bucket))
    assert job.state == Job.State.SUCCEEDED, job.error
    result = Insight.objects.get(job=job).result
    expected = boto3_tally(raw, bucket)
    for name in ("objects", "current_bytes", "noncurrent", "noncurrent_bytes", "markers"):
        assert result[name] == expected[name], name
    assert (result["objects"], result["noncurrent"], result["markers"]) == (4, 2, 1)
    assert result["classes"] == expected["classes"]
    assert (
        (result["uploads"], result["upload_bytes"])
        == (3, 2 * MiB)
        == (
            expected["uploads"],
            expected["upload_bytes"],
        )
    )
    assert {name: size for size, name, _n in result["top"][0]} == expected["folders"]
    assert result["here"] == [1, 1]

    page = client_as(viewer).get(reverse("buckets:insights", args=[endpoint.code, bucket]))
    body = page.content.decode()
    assert body.count("<svg") == 5  # classes, two folder levels, ages, sizes
    assert "STANDARD_IA" in body and "docs/" in body and "Counted" in body
    listing = client_as(viewer).get(reverse("buckets:list", args=[endpoint.code])).content.decode()
    assert f"{result['bytes'] / 1024:.1f} KiB" in listing


def test_a_second_run_says_what_changed_since_the_first(
    worker, client_as, viewer, endpoint, s3_target, bucket
):
    raw = s3_target.client()
    put_many(s3_target, bucket, [f"f/{i}" for i in range(10)])
    client = client_as(viewer)
    assert finished(start_run(client, endpoint, bucket)).state == Job.State.SUCCEEDED
    put_many(s3_target, bucket, [f"g/{i}" for i in range(5)])
    raw.delete_object(Bucket=bucket, Key="f/0")
    assert finished(start_run(client, endpoint, bucket)).state == Job.State.SUCCEEDED
    body = client.get(reverse("buckets:insights", args=[endpoint.code, bucket])).content.decode()
    assert "+4 objects, +4 B" in body


def test_a_prefix_run_counts_only_below_it_and_names_folders_from_there(
    worker, client_as, viewer, endpoint, s3_target, bucket
):
    put_many(s3_target, bucket, ["in/a/1", "in/a/2", "in/b/c/3", "in-not/x", "out/y"])
    job = finished(start_run(client_as(viewer), endpoint, bucket, prefix="in/"))
    result = Insight.objects.get(job=job).result
    assert result["objects"] == 3
    assert [name for _size, name, _n in result["top"][0]] == ["in/a/", "in/b/"]
    assert [name for _size, name, _n in result["top"][1]] == ["in/b/c/"]


# A run over 50 000 objects in 100 folders, on moto only: filling a bucket that
# big on the Ceph gateway, and emptying it after, takes longer than the whole
# test run may. (The aggregate's own memory over 200 000 objects is measured
# without a server in test_insights_usage.py; bench/insights.py reports the
# worker's growth over a run of any size.)
BIG = 50_000
FOLDERS = 100


def assert_exact(result: dict) -> None:
    assert (result["objects"], result["bytes"], result["noncurrent"]) == (BIG, BIG, 0)
    folders = result["top"][0]
    assert len(folders) == 50
    assert all(size == n == BIG // FOLDERS for size, _name, n in folders)


@pytest.mark.slow
def test_a_50_000_object_run_keeps_the_worker_flat_and_outlives_a_killed_worker(
    worker_process, client_as, viewer, endpoint, s3_target, bucket
):
    if not s3_target.is_moto:
        pytest.skip("50 000 objects are put on the throw-away moto server only")
    put_many(s3_target, bucket, [f"d{i % FOLDERS:03d}/{i:06d}" for i in range(BIG)])
    client = client_as(viewer)

    # Memory: a first small run loads what any run loads (code, a client,
    # connections); the big run after it must not grow the worker by 50 MiB.
    process = worker_process()
    assert finished(start_run(client, endpoint, bucket, "d000/")).state == Job.State.SUCCEEDED
    before = most = resident(process.process.pid)
    job = start_run(client, endpoint, bucket)
    while not Job.objects.get(pk=job.pk).finished:
        most = max(most, resident(process.process.pid))
        time.sleep(0.1)
    job = Job.objects.get(pk=job.pk)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert_exact(Insight.objects.get(job=job).result)
    assert most - before < 50 * MiB, f"the worker grew by {(most - before) / MiB:.0f} MiB"

    # A worker killed in the middle of the next run: another takes it over from
    # the saved cursor, and the totals are exact (nothing counted twice).
    job = start_run(client, endpoint, bucket)
    wait_for(
        lambda: Job.objects.get(pk=job.pk).items_done >= 10_000,
        timeout=300,
        interval=0.05,
        what="a good part of the run",
    )
    process.kill()
    assert 0 < Job.objects.get(pk=job.pk).items_done < BIG
    worker_process()
    time.sleep(2.5)
    assert jobs.sweep(stale_seconds=2) == 1
    job = finished(job, timeout=600)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.items_done == BIG
    assert_exact(Insight.objects.get(job=job).result)


def resident(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
