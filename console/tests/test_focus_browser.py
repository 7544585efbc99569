"""Focus and announcements after htmx swaps, in Chromium: a click that fills another
region takes the focus there, a swap that replaces the focused control puts the
focus back on it, a poll takes the focus from nobody, and a job's end is read out."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from console import jobs
from console.models import Job

pytestmark = [pytest.mark.browser, pytest.mark.s3]

FOCUSED_IN = "selector => !!document.activeElement.closest(selector)"


def test_a_row_menu_action_takes_the_focus_to_the_panel_it_fills(
    live_server, page, browser_login, operator, endpoint, s3_target, bucket
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    browser_login(operator)
    page.goto(reverse("objects:browse", args=[endpoint.code, bucket]))
    row = page.locator("tr.object").first
    row.locator("summary").click()
    row.get_by_role("link", name="Copy or move…").click()
    page.locator("#bulk-panel form").wait_for()
    page.wait_for_function("() => document.activeElement.closest('#bulk-panel')")
    assert page.evaluate(FOCUSED_IN, "#bulk-panel")


@pytest.mark.worker
def test_a_polled_job_card_keeps_the_focus_where_it_is_and_announces_the_end(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    # Queued but not sent yet: the page sees the job before it runs.
    job = Job.objects.create(
        kind=Job.Kind.INSIGHTS,
        owner=operator,
        endpoint=endpoint,
        bucket=bucket,
        params={"prefix": "", "as_of": timezone.now().isoformat()},
        heartbeat_at=timezone.now(),
    )
    browser_login(operator)
    page.goto(reverse("job_detail", args=[job.code]))
    assert page.locator("#announcer").inner_text() == ""
    page.locator("a.brand").focus()
    jobs.enqueue(job)
    page.locator(".job-card[data-state=succeeded]").wait_for(timeout=30000)
    page.wait_for_function("() => document.querySelector('#announcer').innerText.trim()")
    assert "ended" in page.locator("#announcer").inner_text()
    assert page.evaluate(FOCUSED_IN, "a.brand")  # the polls took the focus from nobody


def test_a_swap_that_replaces_the_focused_control_gives_it_back(
    live_server, page, browser_login, admin_user, endpoint
):
    browser_login(admin_user)
    page.goto(reverse("endpoint_detail", args=[endpoint.code]))
    button = page.locator("form[hx-post*='/test/'] button")
    button.focus()
    page.keyboard.press("Enter")
    page.locator("#test-result [data-code]").wait_for()
    # The result has the focus now, not <body> (the button was disabled meanwhile).
    page.wait_for_function("() => document.activeElement.closest('#test-result')")
