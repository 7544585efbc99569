"""Copy and move as a job, within an endpoint and between two of them.

The other side is a second S3 server of its own (moto, in a child process): with
the Ceph gateway as the endpoint under test, copies go Ceph ↔ moto; otherwise
moto ↔ another moto. Jobs start through the view a person uses and run in a real
Celery worker.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from conftest import S3Target, free_port, start_moto
from console.models import Endpoint, Grant, Job, JobError, Level
from console.tests.workers import wait_for
from objects.tests.hostile import KEYS, body_for

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def other_server():
    port = free_port()
    process = start_moto(port)
    yield S3Target(f"http://127.0.0.1:{port}", "testing", "testing", kind="moto")
    process.terminate()
    process.wait(timeout=10)


def new_endpoint(url: str, name: str) -> Endpoint:
    item = Endpoint(name=name, endpoint_url=url, addressing_style="path", access_key_id="testing")
    item.set_secret_key("testing")
    item.save()
    return item


@pytest.fixture
def other(other_server, operator):
    """A second endpoint the operator may write to, with a bucket of its own."""
    endpoint = new_endpoint(other_server.url, "Other side")
    Grant.objects.create(endpoint=endpoint, user=operator, level=Level.OPERATOR)
    bucket = other_server.make_bucket("dest")
    yield endpoint, bucket, other_server.client()
    other_server.wipe()


def put_many(client, bucket, objects: dict[str, bytes], **extra) -> None:
    def put(item):
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1], **extra)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, objects.items()))


def start_copy(client, endpoint, bucket, dest_endpoint, dest_bucket, **fields):
    data = {
        "dest_endpoint": str(dest_endpoint.code),
        "dest_bucket": dest_bucket,
        "start": "on",
        "on_exists": "overwrite",
        **fields,
    }
    response = client.post(reverse("objects:copy_job", args=[endpoint.code, bucket]), data)
    assert response.status_code == 302, response.content[:3000]
    return Job.objects.get(code=response.url.rstrip("/").rsplit("/", 1)[-1])


def finished(job, timeout=120):
    return wait_for(
        lambda: (row := Job.objects.get(pk=job.pk)).finished and row,
        timeout=timeout,
        what=f"the {job.kind} job to finish",
    )


def body(client, bucket, key) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_selection_and_a_folder_reach_another_endpoint_intact_with_headers_and_tags(
    worker, small_copy_parts, client_as, operator, endpoint, s3_target, bucket, other
):
    target, dest_bucket, dest = other
    source = s3_target.client()
    big = os.urandom(20 * MiB)
    source.put_object(
        Bucket=bucket,
        Key="in/big.bin",
        Body=big,
        ContentType="application/x-test",
        CacheControl="no-cache",
        Metadata={"owner": "ops"},
        Tagging="team=storage&tier=gold",
    )
    source.put_object(Bucket=bucket, Key="in/small.txt", Body=b"hello", ContentType="text/plain")
    hostile = {f"in/folder/{k}": body_for(k) for k in KEYS}
    put_many(source, bucket, hostile)
    source.put_object(Bucket=bucket, Key="in/not-picked.txt", Body=b"stay")
    job = start_copy(
        client_as(operator),
        endpoint,
        bucket,
        target,
        dest_bucket,
        key=["in/big.bin", "in/small.txt"],
        prefix=["in/folder/"],
        base="in/",
        dest_prefix="copied",
    )
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, list(JobError.objects.filter(job=job).values())
    assert job.items_done == 2 + len(KEYS) == job.items_total
    assert hashlib.sha256(body(dest, dest_bucket, "copied/big.bin")).digest() == (
        hashlib.sha256(big).digest()
    )
    head = dest.head_object(Bucket=dest_bucket, Key="copied/big.bin")
    assert head["ContentType"] == "application/x-test" and head["CacheControl"] == "no-cache"
    assert head["Metadata"] == {"owner": "ops"}
    tags = dest.get_object_tagging(Bucket=dest_bucket, Key="copied/big.bin")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "storage", "tier": "gold"}
    assert body(dest, dest_bucket, "copied/small.txt") == b"hello"
    for key, data in hostile.items():
        assert body(dest, dest_bucket, "copied/" + key[len("in/") :]) == data, key
    listed = dest.list_objects_v2(Bucket=dest_bucket, Prefix="copied/not-picked")
    assert listed.get("KeyCount", 0) == 0
    assert dest.list_multipart_uploads(Bucket=dest_bucket).get("Uploads", []) == []


@pytest.fixture
def small_copy_parts(settings):
    settings.COPY_PART_SIZE = 5 * MiB
    settings.COPY_MULTIPART_THRESHOLD = 6 * MiB


def test_above_the_threshold_an_object_is_copied_in_parts_on_the_same_endpoint(
    worker, small_copy_parts, client_as, operator, endpoint, s3_target, bucket
):
    source = s3_target.client()
    data = os.urandom(12 * MiB)
    source.put_object(Bucket=bucket, Key="a/large.bin", Body=data, Metadata={"k": "v"})
    job = start_copy(
        client_as(operator), endpoint, bucket, endpoint, bucket, key=["a/large.bin"], base="a/",
        dest_prefix="b/",
    )  # fmt: skip
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, list(JobError.objects.filter(job=job).values())
    head = source.head_object(Bucket=bucket, Key="b/large.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts by UploadPartCopy
    assert head["Metadata"] == {"k": "v"}
    assert body(source, bucket, "b/large.bin") == data
    assert job.bytes_done == job.bytes_total == 12 * MiB


def test_a_move_leaves_the_copy_and_removes_the_source(
    worker, client_as, operator, endpoint, s3_target, bucket
):
    source = s3_target.client()
    put_many(source, bucket, {f"old/{i}.txt": f"n{i}".encode() for i in range(30)})
    job = start_copy(
        client_as(operator), endpoint, bucket, endpoint, bucket, prefix=["old/"], base="",
        dest_prefix="new/", move="on",
    )  # fmt: skip
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED
    assert source.list_objects_v2(Bucket=bucket, Prefix="old/").get("KeyCount", 0) == 0
    assert body(source, bucket, "new/old/7.txt") == b"n7"


def test_existing_destinations_are_skipped_or_compared_as_chosen(
    worker, client_as, operator, endpoint, s3_target, bucket
):
    source = s3_target.client()
    put_many(source, bucket, {"s/same.txt": b"same", "s/changed.txt": b"new"})
    put_many(source, bucket, {"d/same.txt": b"same", "d/changed.txt": b"old"})
    client = client_as(operator)
    job = finished(
        start_copy(
            client,
            endpoint,
            bucket,
            endpoint,
            bucket,
            prefix=["s/"],
            base="s/",
            dest_prefix="d/",
            on_exists="different",
        )  # fmt: skip
    )
    assert job.state == Job.State.SUCCEEDED and job.params["skipped"] == 1
    assert body(source, bucket, "d/changed.txt") == b"new"
    source.put_object(Bucket=bucket, Key="d/changed.txt", Body=b"kept")
    job = finished(
        start_copy(
            client,
            endpoint,
            bucket,
            endpoint,
            bucket,
            prefix=["s/"],
            base="s/",
            dest_prefix="d/",
            on_exists="skip",
        )  # fmt: skip
    )
    assert job.params["skipped"] == 2 and body(source, bucket, "d/changed.txt") == b"kept"


@pytest.mark.s3
def test_nobody_copies_without_operator_level_on_both_sides(
    client_as, viewer, operator, endpoint, bucket
):
    url = reverse("objects:copy_job", args=[endpoint.code, bucket])
    data = {"key": ["x"], "dest_endpoint": str(endpoint.code), "dest_bucket": bucket, "start": "on"}
    assert client_as(viewer).post(url, data).status_code == 404
    # Only viewer on the destination: it is not among the choices, and nothing starts.
    elsewhere = new_endpoint("http://127.0.0.1:9", "Read only")
    Grant.objects.create(endpoint=elsewhere, user=operator, level=Level.VIEWER)
    response = client_as(operator).post(url, {**data, "dest_endpoint": str(elsewhere.code)})
    assert response.status_code == 400
    assert not Job.objects.filter(kind=Job.Kind.COPY).exists()
