"""On a phone (390 px wide) no page of the console scrolls sideways: the header
wraps, tables scroll inside their own box, long keys and names wrap."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from buckets.panels import PANELS
from console import audit
from console.models import Job
from objects.tests.hostile import KEYS

pytestmark = [pytest.mark.s3, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
LONG_KEY = "h/" + "k" * 998  # 1000 bytes
LONG_FOLDER = "a-folder-whose-name-goes-on-and-on-without-a-single-space-in-it/"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_no_page_scrolls_sideways_at_390_px(s3_target, endpoint, admin_user, browser_login):
    # The longest bucket name S3 allows, a 1000-byte key, folders with long names,
    # the other hostile keys beside them; a job and an audit entry about the key.
    bucket = s3_target.make_bucket("a-bucket-whose-name-is-as-long-as-s3-allows-it")
    assert len(bucket) == 63
    raw = s3_target.client()
    for key in [LONG_KEY, "h/" + LONG_FOLDER * 3 + "file.txt", *KEYS]:
        raw.put_object(Bucket=bucket, Key=key, Body=b"x" * 3000)
    Job.objects.create(
        kind=Job.Kind.UPLOAD,
        state=Job.State.SUCCEEDED,
        owner=admin_user,
        endpoint=endpoint,
        bucket=bucket,
        target=LONG_KEY,
    )
    audit.record(admin_user, "object.delete", endpoint=endpoint, bucket=bucket, key=LONG_KEY)

    page = browser_login(admin_user)  # staff: the header holds every link
    page.set_viewport_size(PHONE)
    browse = reverse("objects:browse", args=[endpoint.code, bucket])
    pages = [
        reverse("home"),
        reverse("buckets:list", args=[endpoint.code]),
        browse,
        f"{browse}?prefix=h/",
        f"{browse}?prefix=h/{LONG_FOLDER}{LONG_FOLDER}",
        reverse("jobs"),
        reverse("audit"),
        reverse("objects:upload", args=[endpoint.code, bucket]) + "?prefix=h/",
        reverse("buckets:settings", args=[endpoint.code, bucket]),
        *(reverse(panel.url_name, args=[endpoint.code, bucket]) for panel in PANELS.values()),
        f"{reverse('objects:detail', args=[endpoint.code, bucket])}?{urlencode({'key': LONG_KEY})}",
    ]
    wide = {}

    def visit(url):
        assert page.goto(url).status == 200, url
        if not page.evaluate(FITS):
            wide[url] = page.evaluate("document.documentElement.scrollWidth")

    for url in pages:
        visit(url)
    # Every tab of the object page (the last page visited) is a page of its own.
    tabs = page.locator("#object-tabs nav.tabs a").evaluate_all("a => a.map(e => e.href)")
    assert len(tabs) >= 3
    for href in tabs:
        visit(href)
    assert wide == {}

    # Opened, the upload panel and a row's menu stay inside the window too.
    page.goto(f"{browse}?prefix=h/")
    page.locator("details.upload-here > summary").click()
    page.locator("details.upload-here[open] [data-upload-drop]").wait_for()
    assert page.evaluate(FITS)
    menu = page.get_by_label(f"Actions for {LONG_KEY}", exact=True)
    menu.click()
    page.locator("details.row-menu[open]").get_by_role("link", name="Download").wait_for()
    assert page.evaluate(FITS)
