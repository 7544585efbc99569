"""Bulk delete through Chromium: the selection, the review's dry run, the job card
and the listing that refreshes itself when the job ends."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from console.models import Job

pytestmark = [pytest.mark.s3, pytest.mark.worker, pytest.mark.browser]

# At the top of the bucket: the folder first, then the objects by name.
GOING = ["a.txt", "b.txt", "e.txt", "f.txt", "g.txt", "docs/1.txt", "docs/sub/2.txt"]
STAYING = ["c.txt", "d.txt", "docs.txt"]


def keys(raw, bucket) -> set[str]:
    return {o["Key"] for o in raw.list_objects_v2(Bucket=bucket).get("Contents", [])}


def box(page, key: str):
    """A row's checkbox, found by its accessible name as a screen reader says it."""
    return page.get_by_role("checkbox", name=f"Select {key}", exact=True)


def test_selected_objects_and_a_folder_go_in_a_job_and_the_listing_follows(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket
):
    raw = s3_target.client()
    for key in GOING:
        raw.put_object(Bucket=bucket, Key=key, Body=b"x" * 100)
    for key in STAYING:
        raw.put_object(Bucket=bucket, Key=key, Body=b"kept")
    browser_login(operator)
    page.goto(reverse("objects:browse", args=[endpoint.code, bucket]))

    # Every row's checkbox is labelled with its key, the header's with what it does.
    listed = page.locator('#listing input[type=checkbox][form="bulk"]')
    labels = [listed.nth(i).get_attribute("aria-label") for i in range(listed.count())]
    rows = ["docs/", "a.txt", "b.txt", "c.txt", "d.txt", "docs.txt", "e.txt", "f.txt", "g.txt"]
    assert labels == [f"Select {key}" for key in rows]
    assert page.locator("[data-select-all=bulk]").get_attribute("aria-label")
    count = page.locator("#bulk [data-selection-count]")
    delete_selected = page.get_by_role("button", name="Delete selected…")
    assert count.inner_text() == "0" and delete_selected.is_disabled()

    box(page, "a.txt").check()
    box(page, "b.txt").check()
    box(page, "docs/").check()
    assert count.inner_text() == "3" and delete_selected.is_enabled()
    # A range: e.txt, then shift and g.txt ticks f.txt between them too.
    box(page, "e.txt").click()
    box(page, "g.txt").click(modifiers=["Shift"])
    assert count.inner_text() == "6"
    ticked = {key for key in rows if box(page, key).is_checked()}
    assert ticked == {"docs/", "a.txt", "b.txt", "e.txt", "f.txt", "g.txt"}
    # Half the page is ticked: the header says so.
    assert page.locator("[data-select-all=bulk]").evaluate("el => el.indeterminate")

    # Whatever follows happens in this page: a reload or a navigation would lose this.
    page.evaluate("window.bulkTestMarker = 'still here'")
    delete_selected.click()
    review = page.locator("#bulk-panel #bulk-review")
    review.locator("#dry-run").wait_for()
    assert "6 selected items" in review.locator("h2").inner_text()
    dry_run = review.locator("#dry-run").inner_text()
    assert "Would be deleted:" in dry_run and "7 objects, 700 B" in dry_run
    # Seven objects are not enough to ask for the bucket's name.
    assert review.locator("input[name=confirm_name]").count() == 0
    assert keys(raw, bucket) == set(GOING) | set(STAYING)  # a dry run deletes nothing

    review.get_by_role("button", name="Delete", exact=True).click()
    card = page.locator("#bulk-panel .job-card")
    card.wait_for()
    page.locator("#bulk-panel .job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert card.locator(".job-state").inner_text() == "Succeeded"
    assert "7 items" in card.locator(".job-figures").inner_text()

    # The finished card tells the listing, which fetches itself again.
    page.locator("#listing tr.object", has_text="a.txt").wait_for(state="detached")
    remaining = page.locator("#listing tr").all_inner_texts()
    assert not any(key in row for row in remaining for key in ("a.txt", "e.txt", "g.txt"))
    assert not any(row.strip().startswith("docs/") for row in remaining)
    for key in STAYING:
        assert box(page, key).is_visible() and not box(page, key).is_checked()
    assert count.inner_text() == "0" and delete_selected.is_disabled()
    assert page.evaluate("window.bulkTestMarker") == "still here"

    assert keys(raw, bucket) == set(STAYING)
    job = Job.objects.get(kind=Job.Kind.DELETE)
    assert job.state == Job.State.SUCCEEDED and job.items_done == 7


def test_emptying_the_bucket_asks_for_its_name_and_deletes_nothing_without_it(
    worker, live_server, page, browser_login, manager, endpoint, s3_target, bucket
):
    raw = s3_target.client()
    for key in ("one.txt", "two.txt", "deep/three.txt"):
        raw.put_object(Bucket=bucket, Key=key, Body=b"12345")
    browser_login(manager)
    page.goto(reverse("buckets:settings", args=[endpoint.code, bucket]))
    page.get_by_role("link", name="Empty bucket…").click()
    page.wait_for_selector("#dry-run")
    assert page.locator("h1").inner_text() == f"Empty bucket {bucket}"
    assert "3 objects, 15 B" in page.locator("#dry-run").inner_text()

    review = page.locator("#bulk-review")
    name = review.get_by_label(f"To confirm, type the bucket name, {bucket}")
    delete = review.get_by_role("button", name="Delete", exact=True)
    delete.click()
    error = review.locator(".errorlist")
    error.wait_for()
    assert error.inner_text() == "Type the bucket name exactly to confirm."
    # The field says it is wrong and why, and has the focus to be typed into.
    assert name.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in name.get_attribute("aria-describedby").split()
    assert page.evaluate("document.activeElement.id") == "id_confirm_name"
    # The review is still there to be completed, with what it would delete.
    assert "3 objects, 15 B" in review.locator("#dry-run").inner_text()
    assert not Job.objects.filter(kind=Job.Kind.DELETE).exists()
    assert keys(raw, bucket) == {"one.txt", "two.txt", "deep/three.txt"}

    # A name that is almost the bucket's is not the bucket's.
    name.fill(bucket.upper())
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        delete.click()
    assert answer.value.status == 400
    expect(name).to_have_value("")  # the review drawn again
    expect(review.locator(".errorlist")).to_have_text("Type the bucket name exactly to confirm.")
    assert not Job.objects.filter(kind=Job.Kind.DELETE).exists()

    name.fill(bucket)
    delete.click()
    page.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert keys(raw, bucket) == set()
    raw.head_bucket(Bucket=bucket)  # emptied, not deleted
    job = Job.objects.get(kind=Job.Kind.DELETE)
    assert job.state == Job.State.SUCCEEDED and job.items_done == 3
