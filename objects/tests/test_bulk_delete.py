"""Bulk delete jobs against the faults of issue #9: thousands of versions, refusals
and their retry, a killed worker, a cancel, hostile keys, versioned buckets.

Jobs start as a person starts them (the review, then its form) and run on a real
Celery worker; what is left is checked with boto3's own listings."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from django.urls import reverse

from console import jobs, s3
from console.models import Job, JobBatch, JobError
from console.tests.workers import wait_for
from objects.tests.bulk_helpers import (
    delete_markers,
    finished,
    keys_in,
    put_many,
    review,
    start_delete,
    versions_in,
)
from objects.tests.hostile import KEYS, body_for

pytestmark = [pytest.mark.s3, pytest.mark.worker]


@pytest.fixture
def sent(monkeypatch):
    """Every DeleteObjects request the in-process worker sends: a list of
    (key, version id) lists, in the order they were sent."""
    requests: list[list[tuple[str, str]]] = []
    delete_objects = s3.delete_objects

    def recorded(endpoint, bucket, items):
        requests.append([(i["Key"], i.get("VersionId", "")) for i in items])
        return delete_objects(endpoint, bucket, items)

    monkeypatch.setattr(s3, "delete_objects", recorded)
    return requests


def versioned(raw, bucket: str) -> None:
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


@pytest.mark.slow
def test_empty_and_delete_a_versioned_bucket_of_thousands_of_versions_markers_and_uploads(
    worker, s3_target, bucket, endpoint, manager, client_as
):
    raw = s3_target.client()
    versioned(raw, bucket)
    keys = [f"d{i % 40:02d}/k{i:04d}" for i in range(5000)]
    put_many(s3_target, bucket, keys, body=b"first")
    put_many(s3_target, bucket, keys, body=lambda k: k.encode())
    delete_markers(raw, bucket, keys[::5])
    for key in ("d00/big", "d01/k0001", "elsewhere"):
        upload = raw.create_multipart_upload(Bucket=bucket, Key=key)
    raw.upload_part(
        Bucket=bucket, Key="elsewhere", UploadId=upload["UploadId"], PartNumber=1, Body=b"p"
    )
    items = 2 * len(keys) + len(keys[::5])
    nbytes = len(keys) * len(b"first") + sum(len(k) for k in keys)

    job = start_delete(client_as(manager), endpoint, bucket, confirm=bucket, delete_bucket="on")
    assert job.kind == Job.Kind.EMPTY_BUCKET
    job = finished(job, timeout=300)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_failed) == (items, 0)
    assert job.bytes_done == nbytes
    assert job.params["uploads_aborted"] == 3
    assert not JobBatch.objects.filter(job=job).exists()
    # DeleteBucket succeeded, so every version, marker and upload was gone before it.
    for call in (raw.head_bucket, raw.list_object_versions, raw.list_multipart_uploads):
        with pytest.raises(ClientError) as gone:
            call(Bucket=bucket)
        assert gone.value.response["Error"]["Code"] in ("404", "NoSuchBucket")


# Refusals: versions under object lock, and the retry of what was refused.


@pytest.fixture
def lock_bucket(s3_target):
    """A bucket with object lock (so versioned). Governance retention refuses a
    plain delete just as compliance does, yet a bypass clears it after the test."""
    raw = s3_target.client()
    name = s3_target.bucket_name("lock")
    raw.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    if not s3_target.is_moto:
        for key, version, _ in versions_in(raw, name):
            raw.delete_object(
                Bucket=name, Key=key, VersionId=version, BypassGovernanceRetention=True
            )


def lock(raw, bucket: str, key: str, version: str, seconds: float = 86400) -> datetime:
    """Governance retention on the version until `seconds` from now; when it ends."""
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    raw.put_object_retention(
        Bucket=bucket,
        Key=key,
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
        BypassGovernanceRetention=True,
    )
    return until


def put_versions(raw, bucket: str, key: str, n: int = 2) -> list[str]:
    return [
        raw.put_object(Bucket=bucket, Key=key, Body=b"v" * i)["VersionId"] for i in range(1, n + 1)
    ]


def refused(job: Job, attempt: int) -> set[tuple[str, str]]:
    return set(JobError.objects.filter(job=job, attempt=attempt).values_list("key", "version_id"))


def test_refused_deletes_end_partial_naming_each_version_and_a_retry_sends_only_those(
    worker, s3_target, lock_bucket, endpoint, operator, client_as, sent
):
    raw, bucket = s3_target.client(), lock_bucket
    locked = set()
    for i in range(10):
        put_versions(raw, bucket, f"r/ok{i}")
    for i in range(3):  # an older version locked, the current one free
        old, _new = put_versions(raw, bucket, f"r/old-locked{i}")
        lock(raw, bucket, f"r/old-locked{i}", old)
        locked.add((f"r/old-locked{i}", old))
    _old, new = put_versions(raw, bucket, "r/new-locked")
    lock(raw, bucket, "r/new-locked", new)
    locked.add(("r/new-locked", new))
    raw.put_object(Bucket=bucket, Key="s/outside", Body=b"o")
    there = [(k, v) for k, v, _ in versions_in(raw, bucket, "r/")]
    assert len(there) == 28
    client = client_as(operator)

    job = start_delete(client, endpoint, bucket, prefix="r/", versions="all")
    job = finished(job)
    assert job.state == Job.State.PARTIAL, job.error
    assert (job.items_done, job.items_failed) == (24, 4)
    # A real server names the refused version; moto leaves it out of its answer.
    named = locked if not s3_target.is_moto else {(k, "") for k, _ in locked}
    assert refused(job, 1) == named
    assert {e.code for e in JobError.objects.filter(job=job)} == {"AccessDenied"}
    assert {(k, v) for k, v, _ in versions_in(raw, bucket)} == locked | {
        ("s/outside", raw.head_object(Bucket=bucket, Key="s/outside")["VersionId"])
    }
    # Each version was sent once: the passes after the first left the refused ones alone.
    assert sorted(i for request in sent for i in request) == sorted(there)
    csv = client.get(reverse("job_errors_csv", args=[job.code])).content.decode()
    assert all(key in csv for key, _ in locked)

    # One lock runs out meanwhile; the retry sends the refused versions again, nothing else.
    freed = ("r/old-locked0", dict(locked)["r/old-locked0"])
    # (A few seconds ahead: a server refuses a date already past when the request lands.)
    until = lock(raw, bucket, *freed, seconds=4)
    time.sleep(max(0, (until - datetime.now(UTC)).total_seconds()) + 1)
    sent.clear()
    assert client.post(reverse("job_retry", args=[job.code])).status_code == 302
    job = finished(job)
    assert job.attempt == 2
    assert sorted(i for request in sent for i in request) == sorted(locked)
    assert refused(job, 2) == named - {freed if not s3_target.is_moto else (freed[0], "")}
    assert job.state == Job.State.PARTIAL
    assert (job.items_done, job.items_failed) == (25, 3)
    assert {(k, v) for k, v, _ in versions_in(raw, bucket, "r/")} == locked - {freed}


def test_the_retry_of_a_selection_sends_only_the_keys_that_failed(
    worker, s3_target, lock_bucket, endpoint, operator, client_as, sent
):
    raw, bucket = s3_target.client(), lock_bucket
    put_versions(raw, bucket, "x/ok")
    (held,) = put_versions(raw, bucket, "x/locked", 1)
    lock(raw, bucket, "x/locked", held)
    client = client_as(operator)
    job = finished(start_delete(client, endpoint, bucket, key=["x/ok", "x/locked"], versions="all"))
    assert job.state == Job.State.PARTIAL
    assert refused(job, 1) == {("x/locked", held if not s3_target.is_moto else "")}
    assert [k for k, _, _ in versions_in(raw, bucket)] == ["x/locked"]

    # The deleted key is written again: the retry is not a new delete of the selection.
    again = raw.put_object(Bucket=bucket, Key="x/ok", Body=b"again")["VersionId"]
    sent.clear()
    client.post(reverse("job_retry", args=[job.code]))
    job = finished(job)
    assert sent == [[("x/locked", held)]]
    assert refused(job, 2) == refused(job, 1)
    assert {(k, v) for k, v, _ in versions_in(raw, bucket)} == {("x/locked", held), ("x/ok", again)}


# A killed worker, a cancel.


@pytest.mark.slow
def test_a_worker_killed_mid_delete_is_taken_over_from_its_cursor_and_counts_exactly(
    worker_process, s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    put_many(s3_target, bucket, [f"big/{i:05d}" for i in range(20000)])
    neighbours = ["big", "big0/k", "other/k"]
    put_many(s3_target, bucket, neighbours)
    first = worker_process()
    job = start_delete(client_as(operator), endpoint, bucket, confirm=bucket, prefix="big/")

    def mid_job():
        row = Job.objects.get(pk=job.pk)
        return row.items_done > 0 and JobBatch.objects.filter(job=job).exists() and row

    wait_for(mid_job, timeout=180, interval=0.02, what="deletes recorded and more in flight")
    first.kill()
    job.refresh_from_db()
    assert job.state == Job.State.RUNNING  # the dead worker's job looks alive
    assert 0 < job.items_done < 20000
    cursor = job.params["cursor"]
    assert cursor["pass"] == 1 and cursor["after"].startswith("big/")
    # Requests were in flight. Whether the server carried one out before the worker
    # died is a matter of timing, so make sure of it for the first: its keys are
    # gone and no listing finds them again, yet they must be counted.
    pending = JobBatch.objects.filter(job=job).order_by("id")
    assert pending.exists()
    landed = [{"Key": item["Key"]} for item in pending[0].items]
    raw.delete_objects(Bucket=bucket, Delete={"Objects": landed, "Quiet": True})

    worker_process()  # the sweep hands it the job once the heartbeat is stale
    time.sleep(2.5)
    assert jobs.sweep(stale_seconds=2) == 1
    job = finished(job, timeout=300)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_failed) == (20000, 0)
    assert keys_in(raw, bucket, "big/") == []
    assert sorted(keys_in(raw, bucket)) == neighbours
    assert not JobBatch.objects.filter(job=job).exists()
    assert jobs.sweep(stale_seconds=0) == 0


@pytest.fixture
def paced(settings, monkeypatch):
    """Two requests in flight, pages of 20 keys and each request taking a while, so
    that a person's cancel or pause lands between batches. Yields the times the
    requests started."""
    settings.BULK_REQUESTS_IN_FLIGHT = 2
    list_keys, delete_objects = s3.list_keys, s3.delete_objects
    started = []

    def small_pages(endpoint, bucket, *, prefix="", start_after="", max_keys=1000):
        return list_keys(
            endpoint, bucket, prefix=prefix, start_after=start_after, max_keys=min(max_keys, 20)
        )

    def slow_delete(endpoint, bucket, items):
        started.append(time.monotonic())
        time.sleep(0.2)
        return delete_objects(endpoint, bucket, items)

    monkeypatch.setattr(s3, "list_keys", small_pages)
    monkeypatch.setattr(s3, "delete_objects", slow_delete)
    return started


def test_cancel_in_the_middle_stops_after_the_requests_in_flight(
    worker, s3_target, bucket, endpoint, operator, client_as, paced
):
    raw = s3_target.client()
    put_many(s3_target, bucket, [f"c/{i:03d}" for i in range(600)])
    client = client_as(operator)
    job = start_delete(client, endpoint, bucket, confirm=bucket, prefix="c/")
    wait_for(lambda: Job.objects.get(pk=job.pk).items_done >= 40, what="some deletes")
    assert client.post(reverse("job_cancel", args=[job.code])).status_code == 302
    canceled_at = time.monotonic()

    job = finished(job)
    assert job.state == Job.State.CANCELED
    left = keys_in(raw, bucket, "c/")
    assert left, "the job went on to the end"
    assert (job.items_done, job.items_failed) == (600 - len(left), 0)
    # At most the one request waiting for a free slot went out after the cancel.
    assert len([t for t in paced if t > canceled_at]) <= 1
    assert not JobBatch.objects.filter(job=job).exists()
    card = client.get(reverse("job_detail", args=[job.code])).content.decode()
    assert "Canceled" in card
    assert f"{job.items_done} items" in card


def test_a_delete_paused_in_the_middle_resumes_and_counts_exactly(
    worker, s3_target, bucket, endpoint, operator, client_as, paced
):
    raw = s3_target.client()
    put_many(s3_target, bucket, [f"p/{i:03d}" for i in range(600)])
    client = client_as(operator)
    job = start_delete(client, endpoint, bucket, confirm=bucket, prefix="p/")
    wait_for(lambda: Job.objects.get(pk=job.pk).items_done >= 40, what="some deletes")
    client.post(reverse("job_pause", args=[job.code]))
    paused_at = time.monotonic()

    def paused():
        job.refresh_from_db()
        return job.state == Job.State.PAUSED

    wait_for(paused, what="the pause")
    left = keys_in(raw, bucket, "p/")
    assert left, "the job went on to the end"
    assert job.items_done == 600 - len(left)
    assert len([t for t in paced if t > paused_at]) <= 1
    # The batch listed when the pause came waits for the next run.
    assert JobBatch.objects.filter(job=job).count() <= 1

    client.post(reverse("job_resume", args=[job.code]))
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_failed) == (600, 0)
    assert keys_in(raw, bucket, "p/") == []


# Hostile keys.


def test_every_hostile_key_is_deleted_by_a_folder_job(
    worker, s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    for key in KEYS:
        raw.put_object(Bucket=bucket, Key=key, Body=body_for(key))
    folders = sorted({key[: key.index("/") + 1] for key in KEYS})
    assert folders == ["/", "h/"]
    job = finished(start_delete(client_as(operator), endpoint, bucket, prefix=folders))
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_failed) == (len(KEYS), 0)
    assert keys_in(raw, bucket) == []


@pytest.mark.parametrize("versions", ["current", "all"])
def test_every_hostile_key_is_deleted_by_a_selection_job(
    worker, s3_target, bucket, endpoint, operator, client_as, versions
):
    raw = s3_target.client()
    if versions == "all":
        versioned(raw, bucket)
    for key in KEYS:
        raw.put_object(Bucket=bucket, Key=key, Body=b"old")
        raw.put_object(Bucket=bucket, Key=key, Body=body_for(key))
    job = start_delete(client_as(operator), endpoint, bucket, key=KEYS, versions=versions)
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.items_failed == 0
    assert keys_in(raw, bucket) == []
    if versions == "all":
        assert job.items_done == 2 * len(KEYS)
        assert versions_in(raw, bucket) == []
    else:
        assert job.items_done == len(KEYS)


# Versioned buckets.


def test_a_current_versions_delete_of_a_versioned_bucket_writes_delete_markers(
    worker, s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    versioned(raw, bucket)
    for key in ("v/a", "v/b/c"):
        put_versions(raw, bucket, key)
    raw.put_object(Bucket=bucket, Key="w", Body=b"w")
    before = {(k, v) for k, v, _ in versions_in(raw, bucket, "v/")}
    client = client_as(operator)
    text = review(client, endpoint, bucket, prefix="v/").content.decode()
    assert "This bucket keeps versions." in text
    assert "2 objects," in text

    job = finished(start_delete(client, endpoint, bucket, prefix="v/"))
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_failed) == (2, 0)
    assert keys_in(raw, bucket) == ["w"]
    after = versions_in(raw, bucket, "v/")
    assert {(k, v) for k, v, marker in after if not marker} == before
    assert sorted(k for k, _, marker in after if marker) == ["v/a", "v/b/c"]


def test_a_selected_key_with_every_version_leaves_the_keys_it_is_a_prefix_of(
    worker, s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    versioned(raw, bucket)
    for key in ("a", "a/b", "ab", "a "):
        put_versions(raw, bucket, key)
    delete_markers(raw, bucket, ["a", "a/b"])
    others = sorted((k, v, m) for k, v, m in versions_in(raw, bucket) if k != "a")
    job = finished(start_delete(client_as(operator), endpoint, bucket, key="a", versions="all"))
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_failed) == (3, 0)
    assert sorted(versions_in(raw, bucket)) == others
