"""Every page under a bucket says where it is: Endpoints › endpoint › bucket ›
folders (› the object) › the page, as the listing and the object page do."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.s3


def crumbs(page: str) -> list[str]:
    """The breadcrumb trail of a page, as words."""
    trail = re.search(r'<nav class="breadcrumbs"[^>]*>(.*?)</nav>', page, re.S)
    assert trail, "no breadcrumbs"
    return [re.sub(r"<[^>]+>", "", part).strip() for part in trail.group(1).split(" › ")]


@pytest.mark.parametrize(
    ("name", "query", "trail"),
    [
        ("share", {"key": "docs/a.txt"}, ["docs", "a.txt", "Share"]),
        ("share_post", {}, ["Upload form"]),
        ("versions", {"prefix": "docs/"}, ["docs", "Versions"]),
        ("versions", {"key": "docs/a.txt"}, ["docs", "a.txt", "Versions"]),
        ("multipart", {}, ["Incomplete uploads"]),
        ("abort_older", {}, ["Incomplete uploads", "Abort old incomplete uploads"]),
        ("detail", {"key": "docs/gone.txt"}, ["docs", "docs/gone.txt"]),  # no such object
    ],
)
def test_pages_under_a_bucket_show_the_trail_to_it(
    name, query, trail, s3_target, bucket, endpoint, operator, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="docs/a.txt", Body=b"x")
    page = client_as(operator).get(reverse(f"objects:{name}", args=[endpoint.code, bucket]), query)
    assert crumbs(page.content.decode()) == ["Endpoints", endpoint.name, bucket, *trail]


def test_the_parts_page_leads_back_through_the_incomplete_uploads(
    s3_target, bucket, endpoint, viewer, client_as
):
    upload = s3_target.client().create_multipart_upload(Bucket=bucket, Key="big.bin")
    url = reverse("objects:multipart_parts", args=[endpoint.code, bucket])
    page = client_as(viewer).get(url, {"key": "big.bin", "upload_id": upload["UploadId"]})
    text = page.content.decode()
    assert crumbs(text) == ["Endpoints", endpoint.name, bucket, "Incomplete uploads", "Parts"]
    assert f'href="{reverse("objects:multipart", args=[endpoint.code, bucket])}"' in text
