"""Copy and move as a job, within an endpoint and between two of them.

The other side is a second S3 server of its own (moto, in a child process): with
the Ceph gateway as the endpoint under test, copies go Ceph ↔ moto; otherwise
moto ↔ another moto. Jobs start through the view a person uses and run in a real
Celery worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from conftest import S3Target, free_port, start_moto
from console import jobs, s3
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


def new_endpoint(url: str, name: str, key: str = "testing", secret: str = "testing") -> Endpoint:
    item = Endpoint(name=name, endpoint_url=url, addressing_style="path", access_key_id=key)
    item.set_secret_key(secret)
    item.save()
    return item


@pytest.fixture
def auth_moto_factory(db):
    """A moto server that checks IAM permissions, with one user under `policy` and a
    bucket: (endpoint, bucket, boto3 client as that user)."""
    import boto3
    from botocore.config import Config

    started = []

    def make(policy):
        port = free_port()
        # Unchecked: create user, access key, policy (3), then every request is checked.
        started.append(start_moto(port, {"INITIAL_NO_AUTH_ACTION_COUNT": "3"}))
        url = f"http://127.0.0.1:{port}"
        setup = {"endpoint_url": url, "region_name": "us-east-1"}
        iam = boto3.client("iam", aws_access_key_id="x", aws_secret_access_key="x", **setup)
        iam.create_user(UserName="mover")
        key = iam.create_access_key(UserName="mover")["AccessKey"]
        iam.put_user_policy(UserName="mover", PolicyName="p", PolicyDocument=json.dumps(policy))
        raw = boto3.client(
            "s3",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            config=Config(s3={"addressing_style": "path"}),
            **setup,
        )
        raw.create_bucket(Bucket="moves")
        endpoint = new_endpoint(url, "Checked", key["AccessKeyId"], key["SecretAccessKey"])
        return endpoint, "moves", raw

    yield make
    for process in started:
        process.terminate()
        process.wait(timeout=10)


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
    # The longest hostile key is cut so that with "copied/folder/" before it the
    # copy's key stays within S3's 1 024 bytes (the Ceph gateway enforces it).
    hostile = {f"in/folder/{k[:1000]}": body_for(k) for k in KEYS}
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


def test_between_endpoints_the_source_is_read_once_in_order_holding_few_parts(
    worker, small_copy_parts, settings, monkeypatch, client_as, operator, endpoint, s3_target,
    bucket, other,
):  # fmt: skip
    """One GET for the whole object (servers answer one long read faster than many
    ranged ones), and never more than COPY_PARTS_IN_FLIGHT parts in memory however
    slowly the destination takes them."""
    from objects.copy import CopyRunner

    settings.COPY_PARTS_IN_FLIGHT = 2
    target, dest_bucket, dest = other
    data = os.urandom(31 * MiB)  # seven parts of 5 MiB, the last one short
    s3_target.client().put_object(Bucket=bucket, Key="long.bin", Body=data)
    opened, held, most = [], [0], [0]
    lock = threading.Lock()
    real_open, real_read, real_send = (
        s3.RangeReader._open,
        s3.RangeReader.read,
        CopyRunner.send_part,
    )

    def counting_open(reader):
        opened.append((reader.position, reader.last))
        return real_open(reader)

    def holding_read(reader, size):
        with lock:
            held[0] += 1
            most[0] = max(most[0], held[0])
        return real_read(reader, size)

    def slow_send(runner, upload, number, part):
        try:
            time.sleep(0.3)
            return real_send(runner, upload, number, part)
        finally:
            with lock:
                held[0] -= 1

    monkeypatch.setattr(s3.RangeReader, "_open", counting_open)
    monkeypatch.setattr(s3.RangeReader, "read", holding_read)
    monkeypatch.setattr(CopyRunner, "send_part", slow_send)
    job = start_copy(client_as(operator), endpoint, bucket, target, dest_bucket, key=["long.bin"])
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, list(JobError.objects.filter(job=job).values())
    assert body(dest, dest_bucket, "long.bin") == data
    assert dest.head_object(Bucket=dest_bucket, Key="long.bin")["ETag"].endswith('-7"')
    assert opened == [(0, len(data) - 1)]
    assert most[0] == 2
    assert job.bytes_done == len(data)


def test_a_resumed_copy_whose_source_changed_starts_again_from_the_new_version(
    small_copy_parts, monkeypatch, client_as, operator, endpoint, s3_target, bucket, other
):
    """The parts a dead worker stored came from the old version: they are dropped
    with their upload, not completed with parts of the new one."""
    target, dest_bucket, dest = other
    source = s3_target.client()
    old = os.urandom(12 * MiB)
    old_etag = source.put_object(Bucket=bucket, Key="edited.bin", Body=old)["ETag"]
    # What the dead worker left: an upload with the old version's first part.
    upload_id = dest.create_multipart_upload(Bucket=dest_bucket, Key="edited.bin")["UploadId"]
    dest.upload_part(
        Bucket=dest_bucket, Key="edited.bin", UploadId=upload_id, PartNumber=1, Body=old[: 5 * MiB]
    )
    new = os.urandom(12 * MiB)
    source.put_object(Bucket=bucket, Key="edited.bin", Body=new)
    monkeypatch.setattr(jobs, "enqueue", lambda job: None)  # this test runs the job itself
    job = start_copy(client_as(operator), endpoint, bucket, target, dest_bucket, key=["edited.bin"])
    uploads = {"edited.bin": {"id": upload_id, "etag": old_etag}}
    Job.objects.filter(pk=job.pk).update(params={**job.params, "uploads": uploads})
    jobs.run(job.pk, "resumed")
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, list(JobError.objects.filter(job=job).values())
    assert body(dest, dest_bucket, "edited.bin") == new
    assert dest.list_multipart_uploads(Bucket=dest_bucket).get("Uploads", []) == []


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


def test_a_worker_killed_mid_copy_between_endpoints_is_resumed_from_the_stored_parts(
    worker_process, monkeypatch, client_as, operator, endpoint, s3_target, bucket, other
):
    target, dest_bucket, dest = other
    # The worker is another process: it reads its settings from the environment.
    monkeypatch.setenv("COPY_PART_SIZE", str(5 * MiB))
    monkeypatch.setenv("COPY_PARTS_IN_FLIGHT", "1")
    data = os.urandom(200 * MiB)
    s3_target.client().put_object(Bucket=bucket, Key="huge.bin", Body=data)
    first = worker_process()
    job = start_copy(client_as(operator), endpoint, bucket, target, dest_bucket, key=["huge.bin"])
    wait_for(
        lambda: Job.objects.get(pk=job.pk).bytes_done >= 30 * MiB,
        timeout=180,
        what="a good part of the copy",
    )
    first.kill()
    uploads = dest.list_multipart_uploads(Bucket=dest_bucket).get("Uploads", [])
    assert len(uploads) == 1
    stored = dest.list_parts(Bucket=dest_bucket, Key="huge.bin", UploadId=uploads[0]["UploadId"])
    assert 0 < len(stored.get("Parts", [])) < 40
    worker_process()
    time.sleep(2.5)
    assert jobs.sweep(stale_seconds=2) == 1
    job = finished(job, timeout=240)
    assert job.state == Job.State.SUCCEEDED, list(JobError.objects.filter(job=job).values())
    copied = dest.get_object(Bucket=dest_bucket, Key="huge.bin")["Body"].read()
    assert hashlib.sha256(copied).digest() == hashlib.sha256(data).digest()
    # The upload the dead worker began was completed, not begun again beside it.
    assert dest.list_multipart_uploads(Bucket=dest_bucket).get("Uploads", []) == []
    assert job.params["uploads"] == {}


@pytest.fixture
def delete_denied(auth_moto_factory):
    """An endpoint whose credentials may do anything in S3 but delete under locked/."""
    return auth_moto_factory(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "s3:DeleteObject",
                    "Resource": "arn:aws:s3:::*/m/locked/*",
                },
            ],
        }
    )


def test_a_move_whose_source_delete_is_refused_keeps_both_and_names_the_keys(
    worker, client_as, operator, delete_denied
):
    endpoint, bucket, raw = delete_denied
    Grant.objects.create(endpoint=endpoint, user=operator, level=Level.OPERATOR)
    sources = {"m/free/1.txt": b"1", "m/free/2.txt": b"2", "m/locked/3.txt": b"3"}
    put_many(raw, bucket, sources)
    job = finished(
        start_copy(
            client_as(operator),
            endpoint,
            bucket,
            endpoint,
            bucket,
            prefix=["m/"],
            base="m/",
            dest_prefix="n/",
            move="on",
        )  # fmt: skip
    )
    assert job.state == Job.State.PARTIAL
    assert list(JobError.objects.filter(job=job).values_list("key", "code")) == [
        ("m/locked/3.txt", "AccessDenied")
    ]
    left = [o["Key"] for o in raw.list_objects_v2(Bucket=bucket, Prefix="m/").get("Contents", [])]
    assert left == ["m/locked/3.txt"]
    for key, data in sources.items():
        assert body(raw, bucket, "n/" + key[2:]) == data
