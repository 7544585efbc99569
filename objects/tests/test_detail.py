"""Object detail, download and preview."""

from __future__ import annotations

import urllib.request

import pytest
from django.urls import reverse

from objects.common import attachment
from objects.detail import parse_restore

pytestmark = pytest.mark.s3

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _url(name, endpoint, bucket):
    return reverse(f"objects:{name}", args=[endpoint.code, bucket])


def test_detail_shows_headers_metadata_tags_and_acl(s3_target, bucket, endpoint, viewer, client_as):
    s3_target.client().put_object(
        Bucket=bucket,
        Key="docs/a.txt",
        Body=b"hello",
        ContentType="text/plain",
        CacheControl="max-age=60",
        ContentDisposition="inline",
        ContentEncoding="identity",
        Metadata={"owner": "alice"},
        Tagging="team=blue",
    )
    response = client_as(viewer).get(_url("detail", endpoint, bucket), {"key": "docs/a.txt"})
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "text/plain",
        "max-age=60",
        "x-amz-meta-owner",
        "alice",
        "team",
        "blue",
        "FULL_CONTROL",
        "not archived",
    ):
        assert text in page, text
    assert "MD5" not in page
    # Viewers see no change forms.
    assert "Save metadata" not in page


def test_multipart_etag_is_never_called_an_md5(s3_target, bucket, endpoint, viewer, client_as):
    raw = s3_target.client()
    upload = raw.create_multipart_upload(Bucket=bucket, Key="big.bin")
    part = raw.upload_part(
        Bucket=bucket, Key="big.bin", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024
    )
    raw.complete_multipart_upload(
        Bucket=bucket,
        Key="big.bin",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    response = client_as(viewer).get(_url("detail", endpoint, bucket), {"key": "big.bin"})
    assert response.context["etag_parts"] == "1"
    page = response.content.decode()
    assert "multipart upload of 1 parts" in page and "MD5" not in page


def test_missing_object_is_a_clear_404_page(bucket, endpoint, viewer, client_as):
    response = client_as(viewer).get(_url("detail", endpoint, bucket), {"key": "no/such.txt"})
    assert response.status_code == 404
    page = response.content.decode()
    assert "No such object" in page and "no/such.txt" in page


def test_restore_header_is_read_as_words():
    assert parse_restore(None) is None
    assert parse_restore('ongoing-request="true"') == {"state": "restoring"}
    done = parse_restore('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')
    assert done["state"] == "restored" and done["until"].year == 2012


def test_download_is_a_presigned_attachment_with_the_real_name(
    s3_target, bucket, endpoint, viewer, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="报告 2024.txt", Body=b"data")
    response = client_as(viewer).get(_url("download", endpoint, bucket), {"key": "报告 2024.txt"})
    assert response.status_code == 302
    with urllib.request.urlopen(response["Location"], timeout=10) as answer:
        assert answer.read() == b"data"
        disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A%202024.txt" in disposition


def test_attachment_header_follows_rfc_6266():
    assert attachment("a/plain.txt") == 'attachment; filename="plain.txt"'
    value = attachment('d/naïve "q".txt')
    assert value.startswith("attachment; filename=\"na_ve _q_.txt\"; filename*=UTF-8''")
    assert "na%C3%AFve%20%22q%22.txt" in value


def test_download_streams_through_the_console_with_ranges(
    s3_target, bucket, endpoint, viewer, client_as
):
    endpoint.browser_reachable = False
    endpoint.save()
    s3_target.client().put_object(Bucket=bucket, Key="x/data.bin", Body=bytes(range(256)) * 10)
    client = client_as(viewer)
    whole = client.get(_url("download", endpoint, bucket), {"key": "x/data.bin"})
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == bytes(range(256)) * 10
    assert whole["Content-Disposition"] == 'attachment; filename="data.bin"'
    part = client.get(
        _url("download", endpoint, bucket), {"key": "x/data.bin"}, HTTP_RANGE="bytes=10-19"
    )
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == bytes(range(10, 20))
    assert part["Content-Range"] == "bytes 10-19/2560"


def test_preview_of_an_image_is_sandboxed(s3_target, bucket, endpoint, viewer, client_as):
    s3_target.client().put_object(Bucket=bucket, Key="pic.png", Body=PNG, ContentType="image/png")
    client = client_as(viewer)
    detail = client.get(_url("detail", endpoint, bucket), {"key": "pic.png"})
    assert detail.context["preview"] == "image"
    assert 'sandbox=""' in detail.content.decode()
    response = client.get(detail.context["preview_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert b"".join(response.streaming_content) == PNG


@pytest.mark.parametrize(
    "key,ctype",
    [("evil.html", "text/html"), ("evil.svg", "image/svg+xml"), ("evil.txt", "text/plain")],
)
def test_html_and_svg_preview_as_plain_text(
    s3_target, bucket, endpoint, viewer, client_as, key, ctype
):
    body = b"<script>alert(1)</script><svg onload=alert(1)>"
    s3_target.client().put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)
    response = client_as(viewer).get(_url("preview", endpoint, bucket), {"key": key})
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == body
    assert "sandbox" in response["Content-Security-Policy"]


def test_json_preview_is_pretty_printed(s3_target, bucket, endpoint, viewer, client_as):
    s3_target.client().put_object(
        Bucket=bucket, Key="a.json", Body=b'{"a":[1,2]}', ContentType="application/json"
    )
    response = client_as(viewer).get(_url("preview", endpoint, bucket), {"key": "a.json"})
    assert response.content.decode() == '{\n  "a": [\n    1,\n    2\n  ]\n}'


def test_large_text_gets_no_preview(s3_target, bucket, endpoint, viewer, client_as, settings):
    from objects import download

    s3_target.client().put_object(Bucket=bucket, Key="big.txt", Body=b"x" * 2048)
    old = download.PREVIEW_LIMITS["text"]
    download.PREVIEW_LIMITS["text"] = 1024
    try:
        detail = client_as(viewer).get(_url("detail", endpoint, bucket), {"key": "big.txt"})
    finally:
        download.PREVIEW_LIMITS["text"] = old
    assert "preview" not in detail.context and detail.context["preview_refused"]


def test_archived_objects_show_their_state_in_listing_and_detail(
    s3_target, bucket, endpoint, viewer, client_as
):
    # Which classes are archival is the provider table's word: on Ceph, GLACIER is a
    # plain placement target, so the test speaks as an endpoint whose GLACIER archives.
    endpoint.provider = "other"
    endpoint.save()
    raw = s3_target.client()
    try:
        raw.put_object(Bucket=bucket, Key="cold/a.txt", Body=b"x", StorageClass="GLACIER")
    except Exception:  # a gateway without that placement target
        pytest.skip("this endpoint has no GLACIER storage class")
    client = client_as(viewer)
    listing = client.get(_url("browse", endpoint, bucket), {"prefix": "cold/"})
    assert listing.context["rows"][0]["restore"] == {"state": "archived"}
    assert ">archived<" in listing.content.decode()
    detail = client.get(_url("detail", endpoint, bucket), {"key": "cold/a.txt"})
    assert "archived (restore it before reading)" in detail.content.decode()
    assert "preview" not in detail.context  # an archived object cannot be read
    if not s3_target.is_moto:
        return  # RestoreObject is not implemented everywhere (Ceph answers 501)
    raw.restore_object(Bucket=bucket, Key="cold/a.txt", RestoreRequest={"Days": 2})
    detail = client.get(_url("detail", endpoint, bucket), {"key": "cold/a.txt"})
    assert detail.context["restore"]["state"] in ("restoring", "restored")
    assert "restore" in detail.content.decode()


def test_viewer_sees_no_change_controls(s3_target, bucket, endpoint, viewer, client_as):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    client = client_as(viewer)
    listing = client.get(_url("browse", endpoint, bucket)).content.decode()
    assert "Delete" not in listing and "New folder" not in listing
    detail = client.get(_url("detail", endpoint, bucket), {"key": "a.txt"}).content.decode()
    for text in ("Copy or move", "Save metadata", "Save tags", "Save ACL", "Delete this object"):
        assert text not in detail


TAGGING_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet></TagSet></Tagging>'
)
SERVER_ERROR_HTML = "<html><body>Internal Server Error</body></html>"


@pytest.mark.local_servers
def test_failing_acl_is_read_once_and_said_unavailable_once(admin_user, client_as, settings):
    # A stand-in, because moto's ACLs never fail: like the demo server on objects
    # uploaded in parts, it answers GetObjectAcl with HTTP 500 and the rest normally.
    from console.models import Endpoint
    from console.tests.servers import FakeS3

    settings.S3_MAX_ATTEMPTS = 3
    answers = {"tagging": (200, TAGGING_XML), "acl": (500, SERVER_ERROR_HTML)}
    with FakeS3(answers=answers) as server:
        endpoint = Endpoint(name="Demo", endpoint_url=server.url, addressing_style="path")
        endpoint.access_key_id = "demo"
        endpoint.set_secret_key("demo")
        endpoint.save()
        response = client_as(admin_user).get(_url("detail", endpoint, "demo"), {"key": "big.bin"})
        acl_requests = [hit for hit in server.hits if hit.endswith("?acl")]
    page = response.content.decode()
    assert response.status_code == 200
    assert acl_requests == ["GET /demo/big.bin?acl"]
    assert page.count("The access control list of this object is unavailable right now.") == 1
    assert page.count("s3-error") == 1 and page.count("internal error (HTTP 500)") == 1
    # What could not be read is not offered for editing either.
    assert "Save ACL" not in page and "Save tags" in page


def test_every_control_of_the_object_page_has_a_name_and_its_help_exists(
    s3_target, bucket, endpoint, manager, client_as
):
    from console.tests.test_accessibility import unlabelled_controls

    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x", Tagging="k=v")
    url = reverse("objects:detail", args=[endpoint.code, bucket])
    body = client_as(manager).get(url, {"key": "a.txt"}).content.decode()
    assert "Edit tags" in body and "Change storage class" in body
    assert unlabelled_controls(body) == []
