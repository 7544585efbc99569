"""Browsing one folder, one page, one list call at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse

from console import s3

pytestmark = pytest.mark.s3


@pytest.fixture
def count_calls(endpoint):
    """Counts the S3 requests the console's own client sends."""
    calls = []
    client = s3.client_for(endpoint)
    handler = lambda model, **kw: calls.append(model.name)  # noqa: E731
    client.meta.events.register("before-call.s3", handler)
    yield calls
    client.meta.events.unregister("before-call.s3", handler)


def _put_many(raw, bucket, keys):
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: raw.put_object(Bucket=bucket, Key=k, Body=b""), keys))


def test_paging_visits_every_key_once_forwards_and_backwards(
    s3_target, bucket, endpoint, viewer, client_as, count_calls
):
    keys = [f"p/key-{i:05d}" for i in range(2500)]
    _put_many(s3_target.client(), bucket, keys)
    client = client_as(viewer)
    url = reverse("objects:browse", args=[endpoint.code, bucket]) + "?prefix=p%2F&size=200"

    forward, pages = [], []
    while url:
        count_calls.clear()
        response = client.get(url)
        assert response.status_code == 200
        assert count_calls == ["ListObjectsV2"], "one list call per page, nothing else"
        pages.append(url)
        forward += [r["key"] for r in response.context["rows"]]
        url = response.context.get("next_url")
    assert forward == keys
    assert len(pages) == 13

    # Back from the last page, through the token stack kept in the URL.
    backward_pages = []
    url = pages[-1]
    seen = []
    while url:
        response = client.get(url)
        backward_pages.append([r["key"] for r in response.context["rows"]])
        url = response.context.get("prev_url")
    for page_keys in backward_pages:
        seen += page_keys
    assert sorted(seen) == keys and len(seen) == len(set(seen))
    assert [k for page in reversed(backward_pages) for k in page] == keys


def test_folders_come_first_with_breadcrumbs_and_human_sizes(
    s3_target, bucket, endpoint, viewer, client_as
):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="docs/2024/report.pdf", Body=b"x" * 2048)
    raw.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"hello")
    client = client_as(viewer)
    response = client.get(
        reverse("objects:browse", args=[endpoint.code, bucket]), {"prefix": "docs/"}
    )
    rows = response.context["rows"]
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("folder", "2024/"),
        ("object", "readme.txt"),
    ]
    page = response.content.decode()
    assert "5 B" in page
    crumbs = response.context["crumbs"]
    assert [c["label"] for c in crumbs] == [bucket, "docs"]
    deeper = client.get(
        reverse("objects:browse", args=[endpoint.code, bucket]), {"prefix": "docs/2024/"}
    )
    assert "2.0 KiB" in deeper.content.decode()


def test_sort_filter_and_etag_toggle(s3_target, bucket, endpoint, viewer, client_as):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="a-small", Body=b"1")
    raw.put_object(Bucket=bucket, Key="b-big", Body=b"1" * 100)
    raw.put_object(Bucket=bucket, Key="c-mid", Body=b"1" * 10)
    client = client_as(viewer)
    url = reverse("objects:browse", args=[endpoint.code, bucket])
    by_size = client.get(url, {"sort": "-size"}).context["rows"]
    assert [r["key"] for r in by_size] == ["b-big", "c-mid", "a-small"]
    filtered = client.get(url, {"filter": "c-"}).context["rows"]
    assert [r["key"] for r in filtered] == ["c-mid"]
    etag = raw.head_object(Bucket=bucket, Key="a-small")["ETag"].strip('"')
    assert etag not in client.get(url).content.decode()
    assert etag in client.get(url, {"etag": "on"}).content.decode()


def test_jump_to_prefix_or_key(s3_target, bucket, endpoint, viewer, client_as):
    client = client_as(viewer)
    url = reverse("objects:jump", args=[endpoint.code, bucket])
    to_folder = client.get(url, {"to": "x/y/"})
    assert to_folder.status_code == 302 and "prefix=x%2Fy%2F" in to_folder["Location"]
    to_key = client.get(url, {"to": "x/y/z.txt"})
    assert "/object/?key=x%2Fy%2Fz.txt" in to_key["Location"]


def test_listing_container_refreshes_itself_and_accepts_uploads(
    bucket, endpoint, viewer, operator, client_as
):
    client = client_as(viewer)
    url = reverse("objects:browse", args=[endpoint.code, bucket])
    page = client.get(url, {"prefix": "in/"}).content.decode()
    assert 'id="listing"' in page and "data-upload-drop-zone" in page
    assert 'hx-trigger="objectsChanged from:body"' in page
    # Viewers get no upload panel; operators get it folded above the listing.
    assert "data-upload-target" not in page
    operator_page = client_as(operator).get(url, {"prefix": "in/"}).content.decode()
    assert "data-upload-target" in operator_page and 'data-prefix="in/"' in operator_page
    fragment = client.get(url, {"prefix": "in/"}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="listing"')


def test_missing_bucket_shows_the_error_not_a_500(endpoint, viewer, client_as, s3_target):
    client = client_as(viewer)
    response = client.get(
        reverse("objects:browse", args=[endpoint.code, s3_target.bucket_name("nx")])
    )
    assert response.status_code == 200
    assert "NoSuchBucket" in response.content.decode()


def test_page_size_is_capped_at_1000(bucket, endpoint, viewer, client_as):
    # What S3 is asked for: MaxKeys of every ListObjectsV2 the page sends.
    max_keys = []
    s3.client_for(endpoint).meta.events.register(
        "provide-client-params.s3.ListObjectsV2",
        lambda params, **kwargs: max_keys.append(params["MaxKeys"]),
    )
    client = client_as(viewer)
    url = reverse("objects:browse", args=[endpoint.code, bucket])
    assert client.get(url, {"size": "1000"}).context["opts"]["size"] == 1000
    # A larger size is not a choice: the page falls back to the default of 200.
    response = client.get(url, {"size": "5000"})
    assert response.context["opts"]["size"] == 200
    assert '<option value="200" selected>' in response.content.decode()
    assert max_keys == [1000, 200]


def test_previous_tokens_stay_short_in_the_url():
    from objects.browse import BACK_STACK_CHARS, _trim

    tokens = [f"token-{i:04d}-" + "x" * 200 for i in range(100)]
    kept = _trim(tokens)
    assert kept == tokens[-len(kept) :]
    assert sum(len(t) + 6 for t in kept) <= BACK_STACK_CHARS


def test_a_page_url_alone_leads_back(s3_target, bucket, endpoint, viewer, client_as):
    """The position lives in the URL: a fresh client with a bookmarked page-2 URL
    gets page 2 and a working link to page 1."""
    raw = s3_target.client()
    for i in range(15):
        raw.put_object(Bucket=bucket, Key=f"k{i:02d}", Body=b"")
    first = client_as(viewer).get(
        reverse("objects:browse", args=[endpoint.code, bucket]), {"size": 10}
    )
    second_url = first.context["next_url"]
    from django.test import Client

    fresh = Client()
    fresh.force_login(viewer)
    second = fresh.get(second_url)
    assert [r["key"] for r in second.context["rows"]] == [f"k{i:02d}" for i in range(10, 15)]
    back = fresh.get(second.context["prev_url"])
    assert [r["key"] for r in back.context["rows"]] == [f"k{i:02d}" for i in range(10)]
