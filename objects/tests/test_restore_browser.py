"""Restoring archived objects through Chromium, with a worker running the job."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from console.models import Job
from objects import restore

pytestmark = [pytest.mark.s3, pytest.mark.worker, pytest.mark.browser, pytest.mark.slow]


def wait_playing_beat(page, selector: str, timeout: float = 60) -> None:
    """Wait for `selector` while doing what the beat scheduler does every minute:
    queue the restore jobs whose next check is due."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator(selector).count():
            return
        restore.wake_due()
        page.wait_for_timeout(300)
    raise AssertionError(f"timed out after {timeout}s waiting for {selector}")


def test_restore_an_archived_object_from_its_page_and_the_listing(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket, settings
):
    # GLACIER archives on this endpoint (on Ceph it is a placement target: see test_restore).
    endpoint.provider = "other"
    endpoint.save()
    settings.RESTORE_CHECK_FIRST_SECONDS = 1
    raw = s3_target.client()
    for key in ("cold/a.pdf", "cold/b.pdf"):
        raw.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.4 old", StorageClass="GLACIER")
    browser_login(operator)

    # From the object's page: the form proposes the provider's tiers and a week.
    page.goto(reverse("objects:detail", args=[endpoint.code, bucket]) + "?key=cold%2Fa.pdf")
    assert "archived (restore it before reading)" in page.content()
    page.click("a.button:text('Restore…')")
    assert page.input_value("#id_days") == "7"
    assert page.is_checked("input[name=tier][value=Standard]")
    page.fill("#id_days", "2")
    page.click("button:text('Restore')")
    card = "#restore-panel article.job-card"
    page.locator(card).wait_for()
    job = Job.objects.get(kind=Job.Kind.RESTORE, target="cold/a.pdf")
    assert job.params["days"] == 2 and job.params["keys"] == ["cold/a.pdf"]

    if s3_target.is_moto:
        # Requested, waiting for its first check, then restored: the card follows it.
        wait_playing_beat(page, f"{card}[data-state=succeeded]")
        page.click(f"{card} header a")
        section = page.locator("#job-section").inner_text()
        assert "cold/a.pdf" in section and "restored until" in section
    else:
        # The Ceph gateway answers RestoreObject with 501: one sentence, once.
        page.locator(f"{card}[data-state=failed]").wait_for(timeout=60000)
        assert "Restore is not supported by this endpoint." in page.locator(card).inner_text()

    # From the listing: the selection goes to the same form, in the panel below the bar.
    page.goto(reverse("objects:browse", args=[endpoint.code, bucket]) + "?prefix=cold/")
    page.check("input[name=key][value='cold/b.pdf']")
    assert page.is_visible("button:text('Delete selected…')")
    page.click("button:text('Restore selected…')")
    panel = page.locator("#bulk-panel #restore-panel")
    panel.wait_for()
    assert "Restore 1 selected item" in panel.inner_text()
    panel.locator("button:text('Restore')").click()
    page.locator(f"#bulk-panel {card}").wait_for()
    job = Job.objects.get(kind=Job.Kind.RESTORE, target="cold/b.pdf")
    assert job.params["keys"] == ["cold/b.pdf"] and job.params["days"] == 7
