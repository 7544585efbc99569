"""Insights without a server: how a run adds up listing pages, and how the page
and the exports show a kept result (hostile folder names included)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from buckets.insights import TOP, Usage, folder
from buckets.models import Insight
from objects.tests.hostile import SCRIPT

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def entry(key, size=1, days=0, current=True, storage="STANDARD", marker=False):
    item = {"Key": key, "LastModified": AS_OF - timedelta(days=days), "IsLatest": current}
    if not marker:
        item.update(Size=size, StorageClass=storage)
    return item


def counted(entries, base="", pages=1000) -> dict:
    """The report of a run over `entries` (in key order), a page of `pages` at a
    time, saved and loaded between pages as a task that starts again would."""
    saved = Usage().dump()
    for start in range(0, len(entries), pages):
        usage = Usage(**json.loads(json.dumps(saved)))
        usage.add(entries[start : start + pages], base, AS_OF)
        saved = usage.dump()
    usage = Usage(**saved)
    usage.finish()
    return usage.report()


def test_a_folder_is_named_by_its_first_levels_below_the_counted_prefix():
    assert folder("a/b/c.txt", "", 1) == "a/"
    assert folder("a/b/c.txt", "", 2) == "a/b/"
    assert folder("a/c.txt", "", 2) is None
    assert folder("top.txt", "", 1) is None
    assert folder("p/a/b/c", "p/", 2) == "p/a/b/"


def test_totals_split_current_noncurrent_markers_and_classes():
    entries = [
        entry("a/1", 10, current=True),
        entry("a/1", 5, current=False, storage="STANDARD_IA"),
        entry("a/2", marker=True),
        entry("a/2", 7, current=False),
        entry("b/x/y", 100, storage="GLACIER"),
        entry("top", 3),
    ]
    result = counted(entries)
    assert (result["objects"], result["current_bytes"]) == (3, 113)
    assert (result["noncurrent"], result["noncurrent_bytes"]) == (2, 12)
    assert result["markers"] == 1 and result["bytes"] == 125
    assert result["classes"] == {"STANDARD": [3, 20], "STANDARD_IA": [1, 5], "GLACIER": [1, 100]}
    assert result["here"] == [1, 3]
    # Folders count current objects and every version's bytes.
    assert result["top"][0] == [[100, "b/", 1], [22, "a/", 1]]
    assert result["top"][1] == [[100, "b/x/", 1]]
    assert result["largest"][0] == [100, "b/x/y"]


def test_ages_and_sizes_fall_into_their_bands():
    entries = [
        entry("a", 0, days=0),
        entry("b", 5000, days=3),
        entry("c", 2 * 1024**2, days=40),
        entry("d", 6 * 1024**3, days=800),
    ]
    result = counted(entries)
    assert [n for n, _size in result["ages"]] == [1, 1, 0, 1, 0, 0, 1]
    assert [n for n, _size in result["sizes"]] == [1, 0, 1, 1, 0, 0, 0, 1]
    assert result["sizes"][-1][1] == 6 * 1024**3


def test_pages_saved_and_loaded_between_them_count_exactly_what_one_pass_counts():
    rng = random.Random(7)
    keys = sorted(
        f"{rng.choice('abcdefgh')}/{rng.choice('xyz')}{rng.randrange(40)}/{i:05d}"
        for i in range(5000)
    )
    entries = [entry(k, rng.randrange(10_000), days=rng.randrange(900)) for k in keys]
    whole = counted(entries, pages=len(entries))
    assert counted(entries, pages=7) == whole == counted(entries, pages=1000)
    # The folder totals are exact, and only the largest TOP of them are named.
    by_folder: dict[str, int] = {}
    for item in entries:
        name = folder(item["Key"], "", 2)
        by_folder[name] = by_folder.get(name, 0) + item["Size"]
    expected = sorted(([size, name] for name, size in by_folder.items()), reverse=True)[:TOP]
    assert [[size, name] for size, name, _n in whole["top"][1]] == expected
    assert len(whole["top"][1]) == TOP < len(by_folder)
    assert len(whole["largest"]) == TOP


def test_the_aggregate_stays_small_over_200_000_objects_in_20_000_folders():
    """What a run keeps does not grow with the bucket: folders are ranked and
    dropped as the listing passes them, and what is saved with each page stays
    the same size."""
    usage = Usage()
    modified = AS_OF - timedelta(days=40)
    sizes = []
    for page in range(200):
        entries = [
            {"Key": f"f{page:03d}/s{i // 10:03d}/{i:04d}", "Size": i, "LastModified": modified}
            for i in range(1000)
        ]
        usage.add(entries, "", AS_OF)
        sizes.append(len(json.dumps(usage.dump())))
    usage.finish()
    assert usage.objects == 200_000
    assert [len(heap) for heap in usage.top] == [TOP, TOP] and len(usage.largest) == TOP
    assert usage.open == [None, None]
    assert max(sizes) < 32 * 1024 and max(sizes[100:]) <= max(sizes[:100]) + 64


@pytest.fixture
def kept(db, endpoint):
    """A kept result whose folders and largest object carry hostile names."""
    entries = [
        entry(f"{SCRIPT}/x/{SCRIPT}", 5000),
        entry('q"uote/&amp;/k', 10),
        entry("plain/a/b", 1),
    ]
    usage = Usage()
    usage.add(entries, "", AS_OF)
    usage.finish()
    return Insight.objects.create(
        endpoint=endpoint,
        bucket="bkt",
        finished_at=timezone.now(),
        object_count=usage.objects,
        bytes=usage.bytes,
        result=usage.report(),
    )


def test_hostile_folder_names_are_escaped_in_the_charts_and_tables(client_as, viewer, kept):
    response = client_as(viewer).get(reverse("buckets:insights", args=[kept.endpoint.code, "bkt"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert SCRIPT not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;/" in body
    svg = body[body.index("<svg") : body.rindex("</svg>")]
    assert "&lt;script&gt;" in svg and "<script" not in svg
    assert "&amp;amp;" in body  # "&amp;" in a key is shown as typed


def test_the_exports_hold_the_kept_numbers(client_as, viewer, kept):
    args = [kept.endpoint.code, "bkt", kept.pk]
    data = client_as(viewer).get(reverse("buckets:insights_json", args=args)).json()
    assert data["result"]["objects"] == 3 and data["bucket"] == "bkt"
    text = client_as(viewer).get(reverse("buckets:insights_csv", args=args)).content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert ["total", "current objects", "3", "5011"] in rows
    assert ["folder depth 1", folder(f"{SCRIPT}/x/{SCRIPT}", "", 1), "1", "5000"] in rows


def test_a_result_of_another_bucket_is_not_exported(client_as, viewer, kept):
    url = reverse("buckets:insights_csv", args=[kept.endpoint.code, "other", kept.pk])
    assert client_as(viewer).get(url).status_code == 404


def test_a_prefix_over_1024_bytes_is_refused_in_words_and_starts_nothing(
    client_as, viewer, endpoint
):
    url = reverse("buckets:insights", args=[endpoint.code, "bkt"])
    response = client_as(viewer).post(url, {"prefix": "é" * 600})
    assert response.status_code == 400
    assert "1024 bytes at most" in response.content.decode()
    assert not endpoint.jobs.exists()


@pytest.mark.parametrize(
    "prefix", ["../../etc/", "a\x00b/", "\x1b[31m/", "<script>/", "%2e%2e/", "é" * 512]
)
def test_hostile_prefixes_get_an_answer_in_words_never_a_500(client_as, viewer, endpoint, prefix):
    url = reverse("buckets:insights", args=[endpoint.code, "bkt"])
    response = client_as(viewer).get(url, {"prefix": prefix})
    assert response.status_code in (200, 400)


def test_an_export_number_too_big_for_the_database_is_not_found(client_as, viewer, endpoint):
    url = reverse("buckets:insights_json", args=[endpoint.code, "bkt", 2**70])
    assert client_as(viewer).get(url).status_code == 404
