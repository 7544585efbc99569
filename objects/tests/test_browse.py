"""Browsing one folder, one page, one list call at a time."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse
from django.utils.http import urlencode

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


def _menus(page: str) -> dict[str, list[tuple[str, str]]]:
    """Each row menu of a listing: its button's name -> the (text, href) of its links."""
    found = {}
    for label, body in re.findall(
        r'<details class="row-menu"[^>]*><summary aria-label="([^"]*)">⋯</summary>(.*?)</details>',
        page,
        re.S,
    ):
        links = re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', body)
        found[html.unescape(label)] = [(text, html.unescape(href)) for href, text in links]
    return found


def test_each_row_has_a_menu_with_download_share_copy_and_delete(
    s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="in/a b+c.txt", Body=b"x")
    raw.put_object(Bucket=bucket, Key="in/sub/d.txt", Body=b"x")
    url = reverse("objects:browse", args=[endpoint.code, bucket])
    page = client_as(operator).get(url, {"prefix": "in/"}).content.decode()

    def at(name, **query):
        return f"{reverse(f'objects:{name}', args=[endpoint.code, bucket])}?{urlencode(query)}"

    menus = _menus(page)
    assert menus["Actions for in/a b+c.txt"] == [
        ("Download", at("download", key="in/a b+c.txt")),
        ("Share", at("share", key="in/a b+c.txt")),
        ("Copy or move…", at("copy_job", key="in/a b+c.txt", base="in/")),
        ("Delete…", at("bulk_delete", key="in/a b+c.txt")),
    ]
    # A folder can be copied or deleted (with everything under it), not downloaded.
    assert menus["Actions for in/sub/"] == [
        ("Copy or move…", at("copy_job", prefix="in/sub/", base="in/")),
        ("Delete…", at("bulk_delete", prefix="in/sub/")),
    ]


def test_the_row_menu_leads_to_a_review_and_deletes_nothing_by_itself(
    s3_target, bucket, endpoint, operator, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="in/a.txt", Body=b"x")
    client = client_as(operator)
    page = client.get(reverse("objects:browse", args=[endpoint.code, bucket]), {"prefix": "in/"})
    menu = _menus(page.content.decode())["Actions for in/a.txt"]
    links = dict(menu)
    review = client.get(links["Delete…"])
    assert review.status_code == 200 and review.context["plan"].keys == ["in/a.txt"]
    copy = client.get(links["Copy or move…"], HTTP_HX_REQUEST="true")
    assert copy.status_code == 200 and 'name="key" value="in/a.txt"' in copy.content.decode()
    assert "Contents" in s3_target.client().list_objects_v2(Bucket=bucket)


def test_viewers_row_menu_holds_only_download_and_share(
    s3_target, bucket, endpoint, viewer, client_as
):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    raw.put_object(Bucket=bucket, Key="sub/b.txt", Body=b"x")
    page = client_as(viewer).get(reverse("objects:browse", args=[endpoint.code, bucket]))
    menus = _menus(page.content.decode())
    assert [text for text, _href in menus["Actions for a.txt"]] == ["Download", "Share"]
    assert "Actions for sub/" not in menus  # nothing a viewer may do to a folder
    endpoint.share_links = False
    endpoint.save()
    page = client_as(viewer).get(reverse("objects:browse", args=[endpoint.code, bucket]))
    assert [t for t, _h in _menus(page.content.decode())["Actions for a.txt"]] == ["Download"]


def test_the_listing_offers_one_upload_control(bucket, endpoint, operator, client_as):
    url = reverse("objects:browse", args=[endpoint.code, bucket])
    page = client_as(operator).get(url, {"prefix": "in/"}).content.decode()
    # The folded panel's button in the toolbar; no second way to the upload page.
    toolbar = page[page.index('<div class="toolbar">') : page.index('<form id="bulk"')]
    assert toolbar.count('<details class="upload-here">') == 1
    assert page.count("data-upload-target") == 1
    assert reverse("objects:upload", args=[endpoint.code, bucket]) not in page
    assert re.findall(r"<summary[^>]*>([^<]*)</summary>", toolbar) == ["Upload", "Upload options"]


def test_sizes_are_binary_with_the_exact_bytes_beside_and_dates_on_one_line(
    s3_target, bucket, endpoint, viewer, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="big.bin", Body=b"x" * (3 * 1024 * 512))
    response = client_as(viewer).get(reverse("objects:browse", args=[endpoint.code, bucket]))
    page = response.content.decode()
    assert '<td class="size" title="1,572,864 bytes">1.5 MiB</td>' in page
    assert not re.search(r"\d ?[KMGT]B\b", page)  # never decimal-looking units
    modified = response.context["rows"][0]["modified_s"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", modified)
    assert f'<td class="date">{modified}</td>' in page
