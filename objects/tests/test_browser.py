"""The object browser in a real browser: folder, preview, share, rename, delete."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlencode

import pytest

from objects.tests.test_detail import PNG

pytestmark = [pytest.mark.s3, pytest.mark.browser]


def test_browse_preview_share_rename_delete(s3_target, bucket, endpoint, operator, browser_login):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="photos/pic.png", Body=PNG, ContentType="image/png")
    page = browser_login(operator)

    page.goto(f"/e/{endpoint.code}/b/{bucket}/")
    page.click("#listing a:text('photos/')")
    page.wait_for_selector("#listing a:text('pic.png')")
    assert "prefix=photos%2F" in page.url

    page.click("#listing a:text('pic.png')")
    frame = page.frame_locator("iframe.preview")
    image = frame.locator("img")
    image.wait_for()
    assert page.locator("iframe.preview").get_attribute("sandbox") == ""

    page.click("a:text('Share')")
    page.click("button:text('Create link')")
    link = page.input_value("#share-link")
    with urllib.request.urlopen(link, timeout=10) as answer:
        assert answer.read() == PNG

    page.go_back()
    page.go_back()
    page.wait_for_selector("input[name=target_key]")
    page.fill("input[name=target_key]", "photos/renamed.png")
    page.check("input[name=move]")
    page.click("button:text('Copy or move')")
    page.wait_for_selector("text=Moved to")
    assert [o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "photos/renamed.png"
    ]

    page.click("button:text('Delete this object')")
    page.wait_for_selector("text=photos/renamed.png was deleted.")
    assert "Contents" not in raw.list_objects_v2(Bucket=bucket)
    assert page.locator("#listing").get_attribute("data-upload-drop-zone") is not None


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "docs/./notes.txt", "h/a//b", "/leading", "plain/file.txt"]
)
def test_keys_with_dot_segments_download_intact_in_chromium(
    key, s3_target, bucket, endpoint, viewer, browser_login, tmp_path
):
    # The endpoint is browser-reachable: plain keys go by presigned URL, the rest
    # through the console (Chromium would resolve the segments of a presigned URL).
    assert endpoint.browser_reachable
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key=key, Body=b"the right object: " + key.encode())
    raw.put_object(Bucket=bucket, Key="etc/passwd", Body=b"the wrong object")
    page = browser_login(viewer)
    page.goto(f"/e/{endpoint.code}/b/{bucket}/object/?{urlencode({'key': key})}")
    with page.expect_download() as info:
        page.click("a.button:text('Download')")
    saved = tmp_path / "saved"
    info.value.save_as(saved)
    assert saved.read_bytes() == b"the right object: " + key.encode()


def test_keys_with_invisible_characters_cannot_pass_for_other_names(
    s3_target, bucket, endpoint, operator, browser_login
):
    spoof = "in/rtl\u202egnp.exe"
    hidden = "in/zero\u200bwidth.txt"
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key=spoof, Body=b"x" * 7)
    raw.put_object(Bucket=bucket, Key=hidden, Body=b"y")
    page = browser_login(operator)
    page.goto(f"/e/{endpoint.code}/b/{bucket}/?prefix=in/")
    listing = page.locator("#listing").inner_text()
    assert "rtlU+202Egnp.exe" in listing and "zeroU+200Bwidth.txt" in listing
    assert "\u202e" not in listing and "\u200b" not in listing
    mark = page.locator("#listing mark.ctl").first
    assert mark.get_attribute("title") == "RIGHT-TO-LEFT OVERRIDE"

    # The link still reaches the real key: heading, breadcrumbs and title are marked too.
    page.click("#listing a:has-text('gnp.exe')")
    page.wait_for_selector("h1.key")
    assert page.locator("h1.key").inner_text() == "in/rtlU+202Egnp.exe"
    assert "\u202e" not in page.locator("nav.breadcrumbs").inner_text()
    assert page.title() == "in/rtl[U+202E]gnp.exe"
    assert "(7 B)" in page.content()
