"""The object browser in a real browser: folder, preview, share, rename, delete,
and the object page's tabs."""

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
    # By keyboard: a click right after scrolling can land on the preview frame the
    # scroll moved away (headless Chromium hit-tests it where it was).
    page.press("input[name=move]", "Space")
    assert page.is_checked("input[name=move]")
    page.click("button:text('Copy or move')")
    page.wait_for_selector("text=Moved to")
    assert [o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "photos/renamed.png"
    ]

    # Delete is reviewed first, as from the listing (the job itself is tested with
    # the bulk delete): nothing is gone until the review is confirmed.
    page.click(".object-summary a.danger")
    page.wait_for_url("**/bulk-delete/?key=photos%2Frenamed.png")
    assert "photos/renamed.png" in page.locator("main").inner_text()
    assert [o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]] == [
        "photos/renamed.png"
    ]


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


def test_object_tabs_swap_in_place_keep_their_url_and_fit_a_phone(
    s3_target, bucket, endpoint, operator, browser_login
):
    key = "a-folder-name-with-no-place-to-break-" + "x" * 80 + "/file.txt"
    s3_target.client().put_object(Bucket=bucket, Key=key, Body=b"x", Metadata={"owner": "alice"})
    page = browser_login(operator)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/e/{endpoint.code}/b/{bucket}/object/?{urlencode({'key': key})}")
    wide = "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    assert not page.evaluate(wide)
    # A marker on the window tells a swap from a page load.
    page.evaluate("window.sameDocument = true")

    page.click("#tab-metadata")
    page.wait_for_selector("#tab-panel[aria-labelledby=tab-metadata]")
    assert page.url.endswith("&tab=metadata")
    assert page.evaluate("window.sameDocument")
    assert page.get_attribute("#tab-metadata", "aria-current") == "page"
    assert page.get_attribute("#tab-overview", "aria-current") is None
    assert page.evaluate("document.activeElement.id") == "tab-panel"
    assert "x-amz-meta-owner" in page.inner_text("#tab-panel")
    assert not page.evaluate(wide)

    page.click("#tab-permissions")
    page.wait_for_selector("#tab-panel[aria-labelledby=tab-permissions]")
    assert "FULL_CONTROL" in page.inner_text("#tab-panel")
    assert not page.evaluate(wide)

    # Back goes to the previous tab; a reload of a tab's URL is the whole page on it.
    page.go_back()
    page.wait_for_selector("#tab-metadata[aria-current=page]")
    page.reload()
    page.wait_for_selector("#tab-metadata[aria-current=page]")
    assert page.locator(".object-summary h1").inner_text() == key
