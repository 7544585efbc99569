from __future__ import annotations

import pytest

from console.models import AuditEntry

pytestmark = pytest.mark.s3


def test_delete_page_says_what_stands_in_the_way(
    client_as, manager, endpoint, bucket, s3_target, s3_calls
):
    raw = s3_target.client()
    for i in range(3):
        raw.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
    raw.create_multipart_upload(Bucket=bucket, Key="big")
    response = client_as(manager).get(f"/e/{endpoint.code}/b/{bucket}/delete/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "3 objects" in body
    assert "1 incomplete multipart upload" in body
    # One page of each listing, nothing more, and the way to empty it as a job.
    assert sorted(s3_calls) == ["ListMultipartUploads", "ListObjectVersions", "ListObjectsV2"]
    assert "Empty and delete" in body


def test_delete_page_counts_older_versions_and_delete_markers(
    client_as, manager, endpoint, bucket, s3_target
):
    raw = s3_target.client()
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    raw.put_object(Bucket=bucket, Key="k", Body=b"1")
    raw.put_object(Bucket=bucket, Key="k", Body=b"2")
    raw.delete_object(Bucket=bucket, Key="k")
    body = client_as(manager).get(f"/e/{endpoint.code}/b/{bucket}/delete/").content.decode()
    # No current object is left, yet the bucket is not empty: its history is in the way.
    assert "2 older versions" in body and "1 delete marker" in body
    assert "The bucket is empty" not in body


def test_delete_needs_the_typed_name(client_as, manager, endpoint, bucket, s3_target):
    response = client_as(manager).post(
        f"/e/{endpoint.code}/b/{bucket}/delete/", {"confirm_name": "something-else"}
    )
    assert response.status_code == 200
    assert "That is not the bucket&#x27;s name; nothing was deleted." in response.content.decode()
    s3_target.client().head_bucket(Bucket=bucket)  # still there


def test_delete_empty_bucket(client_as, manager, endpoint, bucket, s3_target):
    client = client_as(manager)
    page = client.get(f"/e/{endpoint.code}/b/{bucket}/delete/").content.decode()
    assert "The bucket is empty" in page
    response = client.post(f"/e/{endpoint.code}/b/{bucket}/delete/", {"confirm_name": bucket})
    assert response.status_code == 302
    assert response["Location"] == f"/e/{endpoint.code}/"
    names = [b["Name"] for b in s3_target.client().list_buckets()["Buckets"]]
    assert bucket not in names
    assert AuditEntry.objects.get(action="bucket.delete").outcome == "ok"


def test_delete_of_non_empty_bucket_fails_in_words(client_as, manager, endpoint, bucket, s3_target):
    s3_target.client().put_object(Bucket=bucket, Key="k", Body=b"x")
    response = client_as(manager).post(
        f"/e/{endpoint.code}/b/{bucket}/delete/", {"confirm_name": bucket}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "The bucket is not empty" in body and "BucketNotEmpty" in body
    assert AuditEntry.objects.get(action="bucket.delete").outcome == "failed"


def test_operator_cannot_delete_bucket(client_as, operator, endpoint, bucket, s3_target):
    client = client_as(operator)
    assert client.get(f"/e/{endpoint.code}/b/{bucket}/delete/").status_code == 404
    response = client.post(f"/e/{endpoint.code}/b/{bucket}/delete/", {"confirm_name": bucket})
    assert response.status_code == 404
    s3_target.client().head_bucket(Bucket=bucket)
