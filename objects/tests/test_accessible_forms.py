"""Every form control of the console's pages has a name a screen reader can say,
and every help text a control points at (aria-describedby) exists."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from buckets.panels import PANELS
from console.tests.test_accessibility import unlabelled_controls

pytestmark = pytest.mark.s3


def test_the_pages_and_settings_panels_name_every_control(
    s3_target, bucket, endpoint, manager, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    client = client_as(manager)
    code = endpoint.code
    pages = [
        (reverse("home"), {}),
        (reverse("jobs"), {}),
        (reverse("audit"), {}),
        (reverse("endpoint_detail", args=[code]), {}),
        (reverse("buckets:list", args=[code]), {}),
        (reverse("buckets:settings", args=[code, bucket]), {}),
        (reverse("buckets:insights", args=[code, bucket]), {}),
        (reverse("objects:browse", args=[code, bucket]), {}),
        (reverse("objects:upload", args=[code, bucket]), {}),
        # The object page shows one tab at a time: each is checked.
        (reverse("objects:detail", args=[code, bucket]), {"key": "a.txt"}),
        (reverse("objects:detail", args=[code, bucket]), {"key": "a.txt", "tab": "metadata"}),
        (reverse("objects:detail", args=[code, bucket]), {"key": "a.txt", "tab": "permissions"}),
        (reverse("objects:detail", args=[code, bucket]), {"key": "a.txt", "tab": "versions"}),
        (reverse("objects:share", args=[code, bucket]), {"key": "a.txt"}),
        (reverse("objects:copy_job", args=[code, bucket]), {"key": "a.txt"}),
        (reverse("objects:bulk_delete", args=[code, bucket]), {"key": "a.txt"}),
        (reverse("objects:versions", args=[code, bucket]), {}),
        (reverse("objects:multipart", args=[code, bucket]), {}),
    ]
    problems = {}
    for url, query in pages:
        found = unlabelled_controls(client.get(url, query).content.decode())
        if found:
            problems[f"{url} {query}"] = found
    # Each settings panel has a page of its own (the side list and that panel).
    for panel in PANELS.values():
        url = reverse(panel.url_name, args=[code, bucket])
        found = unlabelled_controls(client.get(url).content.decode())
        if found:
            problems[url] = found
    assert problems == {}


def test_each_settings_panel_page_holds_each_id_once(
    s3_target, bucket, endpoint, manager, client_as
):
    client = client_as(manager)
    found = re.compile(r'\sid="([^"]+)"')
    repeated = {}
    for panel in PANELS.values():
        url = reverse(panel.url_name, args=[endpoint.code, bucket])
        ids = found.findall(client.get(url).content.decode())
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            repeated[url] = twice
    assert repeated == {}
