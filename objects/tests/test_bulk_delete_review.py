"""Before a bulk delete runs: who may start one, the typed confirmation, the dry
run (inline, or a count job that survives a restart) and "abort incomplete
uploads older than N days"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from console import jobs, s3
from console.display import human_size
from console.models import Endpoint, Grant, Job, Level
from objects import bulk, bulk_views
from objects.tests.bulk_helpers import (
    delete_markers,
    delete_url,
    finished,
    keys_in,
    put_many,
    review,
    start_delete,
    uploads_in,
)

pytestmark = pytest.mark.s3


# Who may start a delete, and the typed confirmation.


def test_a_viewer_cannot_start_a_delete_job(s3_target, bucket, endpoint, viewer, client_as):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="f/a", Body=b"a")
    client = client_as(viewer)
    url = delete_url(endpoint, bucket)
    assert client.get(url, {"prefix": "f/"}).status_code == 404
    for data in ({"prefix": "f/"}, {"key": "f/a"}, {"everything": "on"}):
        answer = client.post(url, {**data, "start": "on", "confirm_name": bucket})
        assert answer.status_code == 404
    assert not Job.objects.exists()
    assert keys_in(raw, bucket) == ["f/a"]


def test_an_operator_of_one_endpoint_cannot_delete_in_another(
    s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="f/a", Body=b"a")
    # The same storage under another endpoint, where the operator holds nothing...
    other = Endpoint(
        name="Other",
        endpoint_url=endpoint.endpoint_url,
        region=endpoint.region,
        addressing_style="path",
        access_key_id=s3_target.access_key,
    )
    other.set_secret_key(s3_target.secret_key)
    other.save()
    client = client_as(operator)
    for data in ({"prefix": "f/"}, {"key": "f/a"}):
        answer = client.post(
            delete_url(other, bucket), {**data, "start": "on", "confirm_name": bucket}
        )
        assert answer.status_code == 404
    # ...and where they are a viewer only.
    Grant.objects.create(endpoint=other, user=operator, level=Level.VIEWER)
    answer = client.post(delete_url(other, bucket), {"prefix": "f/", "start": "on"})
    assert answer.status_code == 404
    assert not Job.objects.exists()
    assert keys_in(raw, bucket) == ["f/a"]


def test_emptying_a_bucket_needs_a_manager(
    s3_target, bucket, endpoint, operator, manager, client_as
):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="a", Body=b"a")
    for data in ({"everything": "on"}, {"delete_bucket": "on"}):
        client = client_as(operator)
        assert client.get(delete_url(endpoint, bucket), data).status_code == 404
        answer = client.post(
            delete_url(endpoint, bucket), {**data, "start": "on", "confirm_name": bucket}
        )
        assert answer.status_code == 404
    assert not Job.objects.exists()

    client = client_as(manager)
    page = client.get(delete_url(endpoint, bucket), {"everything": "on"})
    assert page.status_code == 200
    assert "To confirm, type the bucket name" in page.content.decode()
    job = start_delete(client, endpoint, bucket, confirm=bucket, everything="on")
    assert job.kind == Job.Kind.DELETE and job.params["prefixes"] == [""]
    job = start_delete(client, endpoint, bucket, confirm=bucket, delete_bucket="on")
    assert job.kind == Job.Kind.EMPTY_BUCKET
    assert job.params["versions"] == bulk.ALL and job.params["uploads"]


def test_typed_confirmation_missing_or_wrong_is_refused_and_starts_nothing(
    s3_target, bucket, endpoint, operator, manager, client_as, monkeypatch, settings
):
    raw = s3_target.client()
    put_many(s3_target, bucket, [f"f/{i}" for i in range(5)])
    url = delete_url(endpoint, bucket)

    # The whole bucket asks for its name whatever the count.
    client = client_as(manager)
    token = review(client, endpoint, bucket, everything="on").context["counted_token"]
    for typed in (
        {},
        {"confirm_name": ""},
        {"confirm_name": bucket.upper()},
        {"confirm_name": bucket + " "},
    ):
        answer = client.post(url, {"everything": "on", "counted": token, "start": "on", **typed})
        assert answer.status_code == 400
        assert "Type the bucket name exactly to confirm." in answer.content.decode()

    # So does a folder the review could not finish counting while it waited...
    client = client_as(operator)
    settings.DRY_RUN_INLINE_ITEMS = 2
    token = review(client, endpoint, bucket, prefix="f/").context["counted_token"]
    answer = client.post(url, {"prefix": "f/", "counted": token, "start": "on"})
    assert answer.status_code == 400
    settings.DRY_RUN_INLINE_ITEMS = 50
    # ...one it counted above the limit...
    monkeypatch.setattr(bulk_views, "CONFIRM_ABOVE", 4)
    token = review(client, endpoint, bucket, prefix="f/").context["counted_token"]
    for typed in ({}, {"confirm_name": "wrong"}):
        answer = client.post(url, {"prefix": "f/", "counted": token, "start": "on", **typed})
        assert answer.status_code == 400
    # ...or one without a dry run, or with figures not signed by the console.
    forged = signing.dumps({"items": 1, "complete": True}, salt="another salt")
    for counted in ("", forged, token[:-2]):
        answer = client.post(url, {"prefix": "f/", "counted": counted, "start": "on"})
        assert answer.status_code == 400
    assert not Job.objects.exclude(kind=Job.Kind.COUNT).exists()
    assert len(keys_in(raw, bucket)) == 5

    # Under the limit the dry run's signed figures are enough.
    monkeypatch.setattr(bulk_views, "CONFIRM_ABOVE", 5)
    assert start_delete(client, endpoint, bucket, prefix="f/").kind == Job.Kind.DELETE


# The dry run.


def expected_tally(raw, bucket: str, prefix: str, versions: str, uploads: bool = False) -> dict:
    """What a count of the folder must find, from boto3's own listings."""
    tally = {"objects": 0, "noncurrent": 0, "markers": 0, "bytes": 0, "uploads": 0}
    if versions == bulk.CURRENT:
        for page in raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                tally["objects"] += 1
                tally["bytes"] += item["Size"]
    else:
        pages = raw.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Versions", []):
                tally["objects" if item["IsLatest"] else "noncurrent"] += 1
                tally["bytes"] += item["Size"]
            tally["markers"] += len(page.get("DeleteMarkers", []))
    if uploads:
        answer = raw.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
        tally["uploads"] = len(answer.get("Uploads", []))
    return tally


def versioned_folder(s3_target, bucket: str, prefix: str, n: int) -> None:
    """`n` keys under `prefix` of several sizes; every third with an older version,
    every fifth behind a delete marker; an incomplete upload; neighbours outside."""
    raw = s3_target.client()
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = [f"{prefix}k{i:03d}" for i in range(n)]
    put_many(s3_target, bucket, keys[::3], body=lambda k: b"old" * len(k))
    put_many(s3_target, bucket, keys, body=lambda k: k.encode() * (1 + int(k[-3:]) % 4))
    delete_markers(raw, bucket, keys[::5])
    raw.create_multipart_upload(Bucket=bucket, Key=f"{prefix}upload")
    # Not in the folder: a key that only starts like it, a sibling, an upload elsewhere.
    put_many(s3_target, bucket, [prefix.rstrip("/"), prefix.rstrip("/") + "x/k", "other/k"])
    raw.create_multipart_upload(Bucket=bucket, Key="other/upload")


def test_the_review_counts_objects_versions_markers_uploads_and_bytes_of_a_folder(
    s3_target, bucket, endpoint, operator, client_as
):
    versioned_folder(s3_target, bucket, "f/", 20)
    raw = s3_target.client()
    client = client_as(operator)
    url = delete_url(endpoint, bucket)

    current = expected_tally(raw, bucket, "f/", bulk.CURRENT)
    assert current["objects"] == 16
    text = client.get(url, {"prefix": "f/"}).content.decode()
    assert "Would be deleted:" in text
    assert f"{current['objects']} objects, {human_size(current['bytes'])}" in text

    every = expected_tally(raw, bucket, "f/", bulk.ALL, uploads=True)
    assert (every["noncurrent"], every["markers"], every["uploads"]) == (11, 4, 1)
    page = client.get(url, {"prefix": "f/", "versions": "all", "uploads": "on"})
    text = page.content.decode()
    assert f"{every['objects']} objects, {human_size(every['bytes'])}" in text
    assert f"{every['noncurrent']} older versions" in text
    assert f"{every['markers']} delete markers" in text
    assert "1 incomplete upload<" in text
    assert not Job.objects.exists()  # counted while the page waited


def test_a_big_folder_is_counted_by_a_count_job_whose_result_matches_the_listing(
    worker, s3_target, bucket, endpoint, operator, client_as, settings
):
    settings.DRY_RUN_INLINE_ITEMS = 50
    versioned_folder(s3_target, bucket, "big/", 90)
    raw = s3_target.client()
    client = client_as(operator)
    page = client.get(
        delete_url(endpoint, bucket), {"prefix": "big/", "versions": "all", "uploads": "on"}
    )
    assert page.status_code == 200
    job = Job.objects.get(kind=Job.Kind.COUNT)
    assert f'id="job-{job.code}"' in page.content.decode()
    assert "Counted so far" in page.content.decode()
    assert job.params["prefixes"] == ["big/"] and job.params["versions"] == "all"

    job = finished(job, timeout=60)
    assert job.state == Job.State.SUCCEEDED, job.error
    expected = expected_tally(raw, bucket, "big/", bulk.ALL, uploads=True)
    assert expected["objects"] + expected["noncurrent"] + expected["markers"] > 50
    assert job.params["result"] == expected
    assert job.items_done == expected["objects"] + expected["noncurrent"] + expected["markers"]


@pytest.mark.parametrize("versions", [bulk.CURRENT, bulk.ALL])
def test_a_count_job_restarted_from_its_cursor_counts_nothing_twice(
    s3_target, bucket, endpoint, operator, client_as, settings, monkeypatch, versions
):
    settings.DRY_RUN_INLINE_ITEMS = 10
    versioned_folder(s3_target, bucket, "p/", 30)
    versioned_folder(s3_target, bucket, "q/", 12)
    raw = s3_target.client()
    selected = ["s/one", "s/two"]
    raw.put_object(Bucket=bucket, Key="s/one", Body=b"1")
    raw.put_object(Bucket=bucket, Key="s/two", Body=b"22")
    raw.put_object(Bucket=bucket, Key="s/two", Body=b"333")

    # Pages of 7, so that a folder takes several steps.
    listed = []
    list_keys, list_versions = s3.list_keys, s3.list_versions

    def small_keys(endpoint, bucket, *, prefix="", start_after="", max_keys=1000):
        listed.append((prefix, start_after))
        return list_keys(
            endpoint, bucket, prefix=prefix, start_after=start_after, max_keys=min(max_keys, 7)
        )

    def small_versions(endpoint, bucket, *, max_keys=200, **kwargs):
        listed.append((kwargs.get("prefix", ""), kwargs.get("key_marker", "")))
        return list_versions(endpoint, bucket, max_keys=min(max_keys, 7), **kwargs)

    monkeypatch.setattr(s3, "list_keys", small_keys)
    monkeypatch.setattr(s3, "list_versions", small_versions)

    client = client_as(operator)
    query = {"key": selected, "prefix": ["p/", "q/"], "versions": versions}
    assert client.get(delete_url(endpoint, bucket), query).status_code == 200
    job = Job.objects.get(kind=Job.Kind.COUNT)

    # A worker counts the selected keys and some pages of p/, then dies.
    runner = bulk.CountRunner(jobs.claim(job.pk, "first"))
    for _ in range(4):
        assert runner.step()
        runner.progress.tick(force=True)
    del runner
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    cursor = Job.objects.get(pk=job.pk).params["cursor"]
    if versions == bulk.CURRENT:
        assert cursor["target"] == 1 and cursor["after"].startswith("p/")
    else:
        # A folder's versions are counted again from its start; the keys are done.
        assert cursor == {"target": 0, "after": "2"}

    listed.clear()
    jobs.run(job.pk, "second")
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert not [p for p, _ in listed if p.startswith("s/")], "the selected keys were counted again"
    if versions == bulk.CURRENT:
        assert listed[0] == ("p/", cursor["after"])
    expected = {name: 0 for name in ("objects", "noncurrent", "markers", "bytes", "uploads")}
    for prefix in ("s/one", "s/two", "p/", "q/"):
        found = expected_tally(raw, bucket, prefix, versions)
        expected = {name: expected[name] + found[name] for name in expected}
    assert job.params["result"] == expected


def test_a_count_job_whose_worker_died_just_before_the_end_finishes_with_its_result(
    s3_target, bucket, endpoint, operator, client_as, settings, monkeypatch
):
    settings.DRY_RUN_INLINE_ITEMS = 5
    versioned_folder(s3_target, bucket, "p/", 12)
    client = client_as(operator)
    query = {"prefix": "p/", "versions": "all", "uploads": "on"}
    assert client.get(delete_url(endpoint, bucket), query).status_code == 200
    job = Job.objects.get(kind=Job.Kind.COUNT)

    # Everything counted and written, then the worker dies before it ends the job.
    with monkeypatch.context() as dying:
        dying.setattr(jobs, "finish", lambda *args, **kwargs: False)
        jobs.run(job.pk, "first")
    counted = Job.objects.get(pk=job.pk).params["result"]
    stale = timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=stale)

    jobs.run(job.pk, "second")
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.params["result"] == counted
    assert counted == expected_tally(s3_target.client(), bucket, "p/", bulk.ALL, uploads=True)


# Abort incomplete uploads older than N days.


def test_abort_uploads_older_than_n_days_counts_them_first_then_aborts_those(
    worker, s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    for key in ("a", "b/c", "b/c"):
        upload = raw.create_multipart_upload(Bucket=bucket, Key=key)
    raw.upload_part(Bucket=bucket, Key="b/c", UploadId=upload["UploadId"], PartNumber=1, Body=b"p")
    client = client_as(operator)
    url = reverse("objects:abort_older", args=[endpoint.code, bucket])

    # Started less than 100 years ago: none is that old.
    text = client.get(url, {"days": 36500}).content.decode()
    assert "0 incomplete uploads were started more than 36500 days ago." in text
    answer = client.post(url, {"days": 36500})
    assert answer.status_code == 302
    job = finished(Job.objects.get(kind=Job.Kind.ABORT_UPLOADS))
    assert (job.state, job.items_done, job.items_failed) == (Job.State.SUCCEEDED, 0, 0)
    assert len(uploads_in(raw, bucket)) == 3

    # Started more than 0 days ago: every one.
    text = client.get(url, {"days": 0}).content.decode()
    assert "3 incomplete uploads were started more than 0 days ago." in text
    client.post(url, {"days": 0})
    job = finished(Job.objects.filter(kind=Job.Kind.ABORT_UPLOADS).first())
    assert job.params["days"] == 0
    assert (job.state, job.items_done, job.items_failed) == (Job.State.SUCCEEDED, 3, 0)
    assert uploads_in(raw, bucket) == []
