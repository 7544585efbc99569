"""The bulk delete's form and plan, without a server: what a selection may hold,
what the whole bucket means, and when the bucket's name must be typed."""

from __future__ import annotations

from django.core import signing
from django.http import QueryDict

from objects import bulk
from objects.bulk_views import SIGNING_SALT, _counted, _fingerprint, _needs_name
from objects.forms import BulkDeleteForm


def form(query: str) -> BulkDeleteForm:
    return BulkDeleteForm(QueryDict(query))


def test_a_selection_keeps_keys_exactly_as_sent_and_folders_as_prefixes():
    f = form("key=%20lead+space&key=a%2Fb%3F&prefix=docs%2F")
    assert f.is_valid(), f.errors
    plan = bulk.Plan(
        **{k: f.cleaned_data[k] for k in ("versions", "uploads", "delete_bucket")},
        keys=f.cleaned_data["key"],
        prefixes=f.cleaned_data["prefix"],
    )
    assert plan.keys == [" lead space", "a/b?"]
    assert plan.prefixes == ["docs/"] and plan.versions == "current" and not plan.whole_bucket


def test_nothing_selected_is_refused_in_words():
    f = form("")
    assert not f.is_valid()
    assert "Select at least one object or folder." in str(f.errors)


def test_a_folder_must_end_in_a_slash_and_keys_are_at_most_1024_bytes():
    assert not form("prefix=docs").is_valid()
    assert not form("key=" + "k" * 1025).is_valid()
    assert form("key=" + "k" * 1024).is_valid()


def test_more_than_1000_selected_keys_are_refused():
    assert not form("&".join(f"key=k{i}" for i in range(1001))).is_valid()


def test_everything_means_the_whole_bucket_whatever_else_is_sent():
    f = form("everything=on&key=a&prefix=b%2F")
    assert f.is_valid()
    assert f.cleaned_data["key"] == [] and f.cleaned_data["prefix"] == [""]


def test_empty_and_delete_takes_every_version_and_every_incomplete_upload():
    f = form("delete_bucket=on&versions=current")
    assert f.is_valid()
    data = f.cleaned_data
    assert data["prefix"] == [""] and data["versions"] == "all" and data["uploads"]


def test_the_bucket_name_is_asked_for_the_whole_bucket_big_or_uncounted_deletes():
    small = {"tally": None, "items": 1000, "complete": True}
    assert not _needs_name(bulk.Plan(prefixes=["a/"]), small)
    assert _needs_name(bulk.Plan(prefixes=["a/"]), {**small, "items": 1001})
    assert _needs_name(bulk.Plan(prefixes=["a/"]), {**small, "complete": False})
    assert _needs_name(bulk.Plan(prefixes=[""]), small)


def test_a_forged_or_missing_dry_run_token_counts_as_not_counted():
    from types import SimpleNamespace

    endpoint = SimpleNamespace(code="e1")
    plan = bulk.Plan(prefixes=["a/"])
    counted = {"plan": _fingerprint(endpoint, "b", plan), "items": 3, "complete": True}
    real = signing.dumps(counted, salt=SIGNING_SALT)
    assert _counted(None, real, endpoint, "b", plan)["items"] == 3
    forged = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    assert _counted(None, forged, endpoint, "b", plan)["complete"] is False
    assert _counted(None, "", endpoint, "b", plan)["complete"] is False
    # A count of another folder does not stand for this one.
    other = bulk.Plan(prefixes=["z/"])
    assert _counted(None, real, endpoint, "b", other)["complete"] is False


def test_a_tally_counts_objects_older_versions_markers_and_bytes():
    tally = bulk.Tally()
    tally.add(
        [
            {"Key": "a", "Size": 5, "VersionId": "1"},
            {"Key": "a", "Size": 7, "VersionId": "0", "Noncurrent": True},
            {"Key": "b", "Size": 0, "VersionId": "2", "Marker": True},
        ]
    )
    assert (tally.objects, tally.noncurrent, tally.markers, tally.bytes) == (1, 1, 1, 12)
    assert tally.items == 3


def test_a_plan_names_its_target_for_the_job_list():
    assert bulk.Plan(prefixes=["docs/"]).describe() == "docs/"
    assert bulk.Plan(keys=["a", "b"], prefixes=["c/"]).describe() == "3 selected items"
    assert bulk.Plan(prefixes=[""]).describe() == "the whole bucket"
