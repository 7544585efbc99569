"""Object detail, download and preview."""

from __future__ import annotations

import re
import urllib.request
from html import escape

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


def _page(client, endpoint, bucket, key, headers=None, **query):
    return client.get(_url("detail", endpoint, bucket), {"key": key, **query}, headers=headers)


def _current_tab(page: str) -> str:
    """The slug of the tab link marked as the current page."""
    return re.search(r'<a [^>]*id="tab-(\w+)"[^>]*aria-current="page"', page).group(1)


def test_each_tab_has_its_own_url_and_shows_its_content(
    s3_target, bucket, endpoint, viewer, client_as
):
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
    client = client_as(viewer)
    shown = {
        "overview": ("not archived", "text/plain", "Server-side encryption"),
        "metadata": ("max-age=60", "x-amz-meta-owner", "alice", "team", "blue"),
        "permissions": ("FULL_CONTROL",),
        "versions": ("All versions and delete markers of this object",),
    }
    for tab, texts in shown.items():
        response = _page(client, endpoint, bucket, "docs/a.txt", tab=tab)
        assert response.status_code == 200
        page = response.content.decode()
        assert _current_tab(page) == tab
        assert f'aria-labelledby="tab-{tab}"' in page
        # The summary is on every tab.
        assert '<h1 class="key" id="object-name">docs/a.txt</h1>' in page
        for text in texts:
            assert text in page, (tab, text)
        for other, texts in shown.items():
            if other != tab:
                assert texts[0] not in page, (tab, texts[0])
        assert "MD5" not in page
        # Viewers see no change forms.
        assert "Save metadata" not in page
    # The overview is the page's plain URL, as linked from everywhere else.
    plain = _page(client, endpoint, bucket, "docs/a.txt")
    assert _current_tab(plain.content.decode()) == "overview"
    assert plain.context["tabs"][0]["url"].endswith("?key=docs%2Fa.txt")


def test_tags_acl_and_versions_are_read_only_on_their_tabs(
    s3_target, bucket, endpoint, viewer, client_as, monkeypatch
):
    from console import s3

    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    calls = []

    def spy(name, real):
        def call(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        return call

    for name in ("get_object_tags", "get_object_acl", "list_versions"):
        monkeypatch.setattr(s3, name, spy(name, getattr(s3, name)))
    client = client_as(viewer)
    read = {}
    for tab in ("overview", "metadata", "permissions", "versions"):
        calls.clear()
        assert _page(client, endpoint, bucket, "a.txt", tab=tab).status_code == 200
        read[tab] = list(calls)
    assert read == {
        "overview": [],
        "metadata": ["get_object_tags"],
        "permissions": ["get_object_acl"],
        "versions": ["list_versions"],
    }


def test_htmx_request_for_a_tab_gets_the_tabs_alone_with_the_panel_to_focus(
    s3_target, bucket, endpoint, viewer, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x", Metadata={"k": "v"})
    client = client_as(viewer)
    response = _page(
        client, endpoint, bucket, "a.txt", tab="metadata", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    part = response.content.decode()
    assert part.lstrip().startswith('<div class="object-tabs" id="object-tabs">')
    assert "<html" not in part and "object-summary" not in part
    assert "x-amz-meta-k" in part and _current_tab(part) == "metadata"
    assert 'aria-labelledby="tab-metadata" tabindex="-1" autofocus' in part
    # The same URL gives a page or a fragment: caches keep them apart.
    assert "HX-Request" in response["Vary"]
    # Every tab is a real link too, and htmx fetches the same URL and shows it.
    links = re.findall(
        r'<a href="([^"]+)" id="tab-\w+" hx-get="([^"]+)"[^>]*hx-push-url="true"', part
    )
    assert len(links) == 4 and all(href == get for href, get in links)

    # The whole page takes no focus of its own; going back in history to a page
    # htmx no longer holds asks for it whole.
    assert "autofocus" not in _page(client, endpoint, bucket, "a.txt").content.decode()
    restored = _page(
        client,
        endpoint,
        bucket,
        "a.txt",
        tab="metadata",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    whole = restored.content.decode()
    assert "<html" in whole and "object-summary" in whole and "autofocus" not in whole


def test_an_unknown_tab_shows_the_overview(s3_target, bucket, endpoint, viewer, client_as):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    client = client_as(viewer)
    for value in ("nonsense", "<script>alert(1)</script>", "", "METADATA"):
        response = _page(client, endpoint, bucket, "a.txt", tab=value)
        assert response.status_code == 200, value
        assert response.context["tab"] == "overview"
        assert _current_tab(response.content.decode()) == "overview"
        assert "<script>alert" not in response.content.decode()
    # Without a key it stays a 404, whatever the tab.
    response = client.get(_url("detail", endpoint, bucket), {"tab": "metadata"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "form,data,tab",
    [
        ("metadata", {"content_type": "text/csv"}, "metadata"),
        ("storage_class", {"storage_class": "STANDARD_IA"}, "metadata"),
        ("tags", {"tags": "team=blue"}, "metadata"),
        ("tags", {"tags": "\n".join(f"k{i}=v" for i in range(11))}, "metadata"),
        ("acl", {"canned": "private"}, "permissions"),
    ],
    ids=["metadata", "storage class", "tags", "refused tags", "acl"],
)
def test_a_change_form_sends_back_to_its_tab(
    s3_target, bucket, endpoint, operator, client_as, form, data, tab
):
    s3_target.client().put_object(Bucket=bucket, Key="docs/a.txt", Body=b"x")
    client = client_as(operator)
    response = client.post(_url(form, endpoint, bucket), {"key": "docs/a.txt", **data})
    assert response.status_code == 302
    assert response["Location"] == f"{_url('detail', endpoint, bucket)}?key=docs%2Fa.txt&tab={tab}"
    back = client.get(response["Location"])
    assert back.context["tab"] == tab
    assert [m.message for m in back.context["messages"]]  # what happened is said there


def test_a_copy_lands_on_the_overview_of_the_copy(s3_target, bucket, endpoint, operator, client_as):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    response = client_as(operator).post(
        _url("copy", endpoint, bucket),
        {"key": "a.txt", "target_bucket": bucket, "target_key": "b.txt"},
    )
    assert response["Location"] == f"{_url('detail', endpoint, bucket)}?key=b.txt"


def test_the_summary_shows_size_in_mib_class_date_and_the_actions(
    s3_target, bucket, endpoint, operator, viewer, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="docs/big.bin", Body=b"\0" * (7 * 2**19))
    response = _page(client_as(operator), endpoint, bucket, "docs/big.bin", tab="permissions")
    page = response.content.decode()
    summary = page[page.index('class="object-summary"') : page.index('id="object-tabs"')]
    assert "3.5 MiB" in summary and "STANDARD" in summary
    assert f"{response.context['head']['LastModified']:%Y-%m-%d}" in summary
    copy_url = f"{_url('copy_job', endpoint, bucket)}?key=docs%2Fbig.bin&base=docs%2F"
    assert response.context["copy_url"] == copy_url
    # A delete is reviewed first (the bulk delete's dry run), never one click.
    assert (
        response.context["delete_url"]
        == f"{_url('bulk_delete', endpoint, bucket)}?key=docs%2Fbig.bin"
    )
    for action in ("download_url", "share_url", "copy_url", "delete_url"):
        assert f'href="{escape(response.context[action])}"' in summary, action
    assert f'action="{_url("delete", endpoint, bucket)}"' not in summary
    # Nothing to restore on an object that is not archived.
    assert "Restore…" not in summary

    seen = _page(client_as(viewer), endpoint, bucket, "docs/big.bin").content.decode()
    assert "3.5 MiB" in seen and "Download" in seen and "Share" in seen
    assert _url("copy_job", endpoint, bucket) not in seen
    assert _url("bulk_delete", endpoint, bucket) not in seen


def test_versions_tab_lists_the_versions_of_this_key_alone(
    s3_target, bucket, endpoint, viewer, client_as
):
    raw = s3_target.client()
    raw.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = raw.put_object(Bucket=bucket, Key="v.txt", Body=b"1")["VersionId"]
    new = raw.put_object(Bucket=bucket, Key="v.txt", Body=b"22")["VersionId"]
    raw.put_object(Bucket=bucket, Key="v.txt.bak", Body=b"3")
    client = client_as(viewer)
    detail = _url("detail", endpoint, bucket)
    response = _page(client, endpoint, bucket, "v.txt", tab="versions")
    listed = [(v["VersionId"], v["url"], v["viewing"]) for v in response.context["versions"]]
    assert listed == [
        (new, f"{detail}?key=v.txt", True),
        (old, f"{detail}?key=v.txt&version={old}", False),
    ]
    # An older version's tabs keep its version; its ACL is not the one shown.
    response = _page(client, endpoint, bucket, "v.txt", version=old, tab="permissions")
    assert all(f"version={old}" in t["url"] for t in response.context["tabs"])
    page = response.content.decode()
    assert "shown for the" in page and "FULL_CONTROL" not in page
    assert f'href="{detail}?key=v.txt&amp;tab=permissions"' in page


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
    for tab in ("overview", "metadata", "permissions", "versions"):
        detail = _page(client, endpoint, bucket, "a.txt", tab=tab).content.decode()
        for text in ("Copy or move", "Save metadata", "Change storage class", "Save tags"):
            assert text not in detail, (tab, text)
        assert "Save ACL" not in detail and _url("delete", endpoint, bucket) not in detail


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
        client = client_as(admin_user)
        response = _page(client, endpoint, "demo", "big.bin", tab="permissions")
        acl_requests = [hit for hit in server.hits if hit.endswith("?acl")]
        # The other tabs do not ask for the ACL at all.
        metadata = _page(client, endpoint, "demo", "big.bin", tab="metadata")
        assert [hit for hit in server.hits if hit.endswith("?acl")] == acl_requests
    page = response.content.decode()
    assert response.status_code == 200
    assert acl_requests == ["GET /demo/big.bin?acl"]
    assert page.count("The access control list of this object is unavailable right now.") == 1
    assert page.count("s3-error") == 1 and page.count("internal error (HTTP 500)") == 1
    # What could not be read is not offered for editing either.
    assert "Save ACL" not in page
    assert metadata.status_code == 200 and "Save tags" in metadata.content.decode()


def test_every_control_of_the_object_page_has_a_name_and_its_help_exists(
    s3_target, bucket, endpoint, manager, client_as
):
    from console.tests.test_accessibility import unlabelled_controls

    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x", Tagging="k=v")
    client = client_as(manager)
    bodies = {
        tab: _page(client, endpoint, bucket, "a.txt", tab=tab).content.decode()
        for tab in ("overview", "metadata", "permissions", "versions")
    }
    assert "Edit tags" in bodies["metadata"] and "Change storage class" in bodies["metadata"]
    assert "Save ACL" in bodies["permissions"] and "Copy or move" in bodies["overview"]
    assert {tab: unlabelled_controls(body) for tab, body in bodies.items()} == {
        tab: [] for tab in bodies
    }


def test_a_tab_link_to_an_object_gone_meanwhile_reloads_the_whole_page(
    s3_target, bucket, endpoint, viewer, client_as
):
    response = client_as(viewer).get(
        f"{_url('detail', endpoint, bucket)}?key=gone.txt&tab=metadata",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 404 and response["HX-Refresh"] == "true"
