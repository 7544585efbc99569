"""Versions and incomplete multipart uploads."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from console.models import AuditEntry

pytestmark = pytest.mark.s3


def _url(name, endpoint, bucket):
    return reverse(f"objects:{name}", args=[endpoint.code, bucket])


@pytest.fixture
def versioned(s3_target, bucket):
    raw = s3_target.client()
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = raw.put_object(Bucket=bucket, Key="doc.txt", Body=b"one")["VersionId"]
    second = raw.put_object(Bucket=bucket, Key="doc.txt", Body=b"two")["VersionId"]
    raw.put_object(Bucket=bucket, Key="doc.txt.bak", Body=b"other key")
    raw.delete_object(Bucket=bucket, Key="doc.txt")
    return {"first": first, "second": second}


def test_versions_of_a_key_with_delete_markers_apart(
    bucket, endpoint, viewer, client_as, versioned
):
    response = client_as(viewer).get(_url("versions", endpoint, bucket), {"key": "doc.txt"})
    assert response.status_code == 200
    assert {v["VersionId"] for v in response.context["versions"]} == {
        versioned["first"],
        versioned["second"],
    }
    assert len(response.context["markers"]) == 1
    assert all(v["Key"] == "doc.txt" for v in response.context["versions"])
    page = response.content.decode()
    assert 'class="delete-marker"' in page
    assert "Restore as current" not in page  # viewers only read


def test_versions_page_through_markers_in_the_url(
    s3_target, bucket, endpoint, viewer, client_as, versioned, monkeypatch
):
    from console import s3

    real = s3.list_versions
    monkeypatch.setattr(s3, "list_versions", lambda *a, **kw: real(*a, **{**kw, "max_keys": 2}))
    client = client_as(viewer)
    first = client.get(_url("versions", endpoint, bucket), {"prefix": "doc"})
    assert "key_marker=" in first.context["next_url"]
    second = client.get(first.context["next_url"])
    assert second.status_code == 200
    seen = {v["VersionId"] for v in first.context["versions"] + second.context["versions"]}
    seen |= {m["VersionId"] for m in first.context["markers"] + second.context["markers"]}
    assert {versioned["first"], versioned["second"]} <= seen


def test_download_an_old_version(s3_target, bucket, endpoint, viewer, client_as, versioned):
    import urllib.request

    # moto refuses the signature of a presigned GET of a version whose key's latest
    # entry is a delete marker, so the key is made current again first.
    s3_target.client().put_object(Bucket=bucket, Key="doc.txt", Body=b"three")
    response = client_as(viewer).get(
        _url("download", endpoint, bucket), {"key": "doc.txt", "version": versioned["first"]}
    )
    with urllib.request.urlopen(response["Location"], timeout=10) as answer:
        assert answer.read() == b"one"


def test_restore_an_old_version_as_current(
    s3_target, bucket, endpoint, operator, client_as, versioned
):
    response = client_as(operator).post(
        _url("version_restore", endpoint, bucket),
        {"key": "doc.txt", "version": versioned["first"]},
    )
    assert response.status_code == 302
    assert s3_target.client().get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"one"
    assert AuditEntry.objects.filter(action="object.version_restore").exists()


def test_viewer_cannot_restore_a_version(s3_target, bucket, endpoint, viewer, client_as, versioned):
    response = client_as(viewer).post(
        _url("version_restore", endpoint, bucket),
        {"key": "doc.txt", "version": versioned["first"]},
    )
    assert response.status_code == 404
    # The key stays deleted: its delete marker is still the latest entry.
    answer = s3_target.client().list_object_versions(Bucket=bucket, Prefix="doc.txt")
    assert [m["IsLatest"] for m in answer["DeleteMarkers"]] == [True]
    assert len(answer["Versions"]) == 3  # two of doc.txt, one of doc.txt.bak
    assert not AuditEntry.objects.filter(action="object.version_restore").exists()


@pytest.fixture
def uploads(s3_target, bucket):
    raw = s3_target.client()
    made = []
    for key in ("m/one.bin", "m/two.bin", "m/<b>three</b>.bin"):
        upload = raw.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        made.append((key, upload))
    raw.upload_part(
        Bucket=bucket, Key=made[0][0], UploadId=made[0][1], PartNumber=1, Body=b"x" * 100
    )
    return made


def test_incomplete_uploads_are_listed_with_a_billing_warning(
    bucket, endpoint, viewer, client_as, uploads
):
    response = client_as(viewer).get(_url("multipart", endpoint, bucket))
    page = response.content.decode()
    assert "billed until" in page
    assert {u["UploadId"] for u in response.context["uploads"]} == {u for _, u in uploads}
    assert "&lt;b&gt;three&lt;/b&gt;" in page and "<b>three" not in page


def test_parts_of_an_upload(bucket, endpoint, viewer, client_as, uploads):
    key, upload_id = uploads[0]
    response = client_as(viewer).get(
        _url("multipart_parts", endpoint, bucket), {"key": key, "upload_id": upload_id}
    )
    assert [p["PartNumber"] for p in response.context["parts"]] == [1]
    assert response.context["total"] == 100


def test_abort_one_and_abort_selected(s3_target, bucket, endpoint, operator, client_as, uploads):
    client = client_as(operator)
    url = _url("multipart_abort", endpoint, bucket)
    one = client.post(url, {"item": json.dumps(list(uploads[0]))})
    assert one.status_code == 302
    left = s3_target.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert len(left) == 2
    rest = client.post(url, {"item": [json.dumps(list(u)) for u in uploads[1:]]})
    assert rest.status_code == 302
    assert not s3_target.client().list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert AuditEntry.objects.filter(action="multipart.abort").count() == 3


def test_abort_rejects_a_malformed_selection(
    s3_target, bucket, endpoint, operator, client_as, uploads
):
    # One malformed entry refuses the whole selection, its valid entries included.
    selection = ["not json", json.dumps(list(uploads[0]))]
    response = client_as(operator).post(
        _url("multipart_abort", endpoint, bucket), {"item": selection}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "An upload in the selection is malformed." in response.content.decode()
    left = s3_target.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert {u["UploadId"] for u in left} == {upload_id for _, upload_id in uploads}
    assert not AuditEntry.objects.filter(action="multipart.abort").exists()
