"""Copying a selection and a folder through Chromium: the listing's action bar, the
form in the bulk panel, the job card, and the copies where the form said."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from conftest import NO_SERVER_URL
from console.models import Endpoint, Grant, Job, Level

pytestmark = [pytest.mark.s3, pytest.mark.worker, pytest.mark.browser, pytest.mark.slow]


def test_two_objects_and_a_folder_picked_in_the_listing_are_copied_to_a_folder_of_another_bucket(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket
):
    raw = s3_target.client()
    sources = {
        "report.pdf": os.urandom(70_000),
        "notes.txt": b"first notes\n",
        "left-alone.txt": b"not picked",
        "photos/one.jpg": os.urandom(30_000),
        "photos/trip/two.jpg": os.urandom(40_000),
    }
    for key, data in sources.items():
        raw.put_object(Bucket=bucket, Key=key, Body=data)
    archive = s3_target.make_bucket("archive")
    elsewhere = Endpoint(name="Unreachable", endpoint_url=NO_SERVER_URL, access_key_id="x")
    elsewhere.set_secret_key("x")
    elsewhere.save()
    Grant.objects.create(endpoint=elsewhere, user=operator, level=Level.OPERATOR)

    browser_login(operator)
    page.goto(reverse("objects:browse", args=[endpoint.code, bucket]))
    page.get_by_label("Select report.pdf").check()
    page.get_by_label("Select notes.txt").check()
    page.get_by_label("Select photos/").check()
    assert page.locator("[data-selection-count]").inner_text() == "3"
    page.get_by_role("button", name="Copy or move…").click()

    # The form comes into the bulk panel, naming what was picked.
    form = page.locator("#bulk-panel #copy-review form")
    form.wait_for()
    picked = page.locator("#copy-review .bulk-targets").inner_text()
    assert "report.pdf" in picked and "notes.txt" in picked and "photos/" in picked
    assert "left-alone.txt" not in picked
    # The endpoint's buckets are offered for the destination (loaded by htmx).
    options = page.locator("#dest-bucket-list option")
    options.first.wait_for(state="attached")
    offered = {options.nth(i).get_attribute("value") for i in range(options.count())}
    assert {bucket, archive} <= offered
    # Another endpoint chosen and then this one again: the list follows each choice
    # and the form stays whole.
    endpoint_choice = form.get_by_label("Endpoint")
    endpoint_choice.select_option(label="Unreachable")
    page.locator("#dest-buckets .error").wait_for()
    endpoint_choice.select_option(label=endpoint.name)
    page.locator("#dest-buckets #dest-bucket-list option").first.wait_for(state="attached")
    assert page.locator("#dest-buckets .error").count() == 0
    form.get_by_label("Bucket").fill(archive)
    form.get_by_label("Folder").fill("kept/")
    form.get_by_role("button", name="Start").click()

    # The job's card replaces the form and follows the job until it has succeeded.
    card = page.locator("#bulk-panel .job-card")
    card.wait_for()
    page.locator("#bulk-panel .job-card[data-state=succeeded]").wait_for(timeout=60000)
    job = Job.objects.get(kind=Job.Kind.COPY)
    assert job.state == Job.State.SUCCEEDED and job.items_done == 4
    assert not job.params["move"]

    copied = {o["Key"] for o in raw.list_objects_v2(Bucket=archive).get("Contents", [])}
    assert copied == {
        "kept/report.pdf",
        "kept/notes.txt",
        "kept/photos/one.jpg",
        "kept/photos/trip/two.jpg",
    }
    for key in ("report.pdf", "notes.txt", "photos/one.jpg", "photos/trip/two.jpg"):
        data = raw.get_object(Bucket=archive, Key="kept/" + key)["Body"].read()
        assert data == sources[key], key
    # A copy, not a move: the sources are all still there.
    left = {o["Key"] for o in raw.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert left == set(sources)
