"""Uploading through Chromium with the upload module, end to end."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console.models import Job
from console.tests.workers import wait_for
from objects.models import UploadChunk
from objects.tests.upload_helpers import (
    MiB,
    make_file,
    multipart_uploads,
    sha256_file,
    sha256_object,
)

pytestmark = [pytest.mark.s3, pytest.mark.worker, pytest.mark.browser, pytest.mark.slow]


def items(page, state):
    return page.locator(f".upload-item[data-state={state}]")


def test_browser_uploads_file_and_folder_pauses_resumes_and_cancels(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    big = make_file(tmp_path / "big.bin", 50 * MiB)
    folder = tmp_path / "album"
    (folder / "sub").mkdir(parents=True)
    make_file(folder / "a.txt", 100)
    make_file(folder / "b.jpg", 3000)
    make_file(folder / "sub" / "c.txt", 10)

    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]) + "?prefix=in/")
    page.set_input_files("[data-upload-files]", str(big))
    page.set_input_files("[data-upload-folder]", str(folder))
    page.locator(".upload-item").nth(3).wait_for()
    items(page, "sent").nth(3).wait_for(timeout=60000)
    assert page.locator("[data-upload-overall-bar]").get_attribute("value") == "100"
    assert "100 %" in page.locator("[data-upload-overall-text]").inner_text()
    # The job cards come from the server and poll until their job has succeeded.
    page.locator(".upload-item .job-card[data-state=succeeded]").nth(3).wait_for(timeout=60000)
    assert page.locator(".upload-item .job-card[hx-trigger]").count() == 0
    # The page's notice says jobs finished (it polls only while jobs are unfinished).
    page.locator("#job-notice .message").wait_for(timeout=15000)
    assert "finished" in page.locator("#job-notice").inner_text()

    raw = s3_target.client()
    keys = {o["Key"] for o in raw.list_objects_v2(Bucket=bucket, Prefix="in/")["Contents"]}
    assert keys == {"in/big.bin", "in/album/a.txt", "in/album/b.jpg", "in/album/sub/c.txt"}
    assert sha256_object(raw, bucket, "in/big.bin") == sha256_file(big)
    assert raw.head_object(Bucket=bucket, Key="in/album/b.jpg")["ContentType"] == "image/jpeg"

    # Pause and resume: the second chunk cannot get through until resumed.
    paused = make_file(tmp_path / "paused.bin", 12 * MiB)
    page.route("**/chunks/2", lambda route: route.abort())
    page.set_input_files("[data-upload-files]", str(paused))
    row = page.locator(".upload-item").nth(4)
    row.locator(".job-card").wait_for()
    row.locator("[data-action=pause]").click()
    wait_for(lambda: row.get_attribute("data-state") == "paused", what="the row to pause")
    job = wait_for(
        lambda: Job.objects.filter(target="in/paused.bin", state=Job.State.PAUSED).first(),
        what="the job to pause",
    )
    page.unroute("**/chunks/2")
    row.locator("[data-action=resume]").click()
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED
    assert sha256_object(raw, bucket, "in/paused.bin") == sha256_file(paused)

    # Cancel: nothing stays behind in the bucket.
    canceled = make_file(tmp_path / "canceled.bin", 12 * MiB)
    page.route("**/chunks/2", lambda route: route.abort())
    page.set_input_files("[data-upload-files]", str(canceled))
    row = page.locator(".upload-item").nth(5)
    row.locator(".job-card").wait_for()
    row.locator("[data-action=cancel]").click()
    row.locator(".job-card[data-state=canceled]").wait_for(timeout=30000)
    assert multipart_uploads(raw, bucket) == []
    assert "in/canceled.bin" not in {
        o["Key"] for o in raw.list_objects_v2(Bucket=bucket, Prefix="in/")["Contents"]
    }


def test_files_dropped_on_the_listing_upload_into_the_current_folder(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket
):
    s3_target.client().put_object(Bucket=bucket, Key="docs/old.txt", Body=b"old")
    browser_login(operator)
    page.goto(reverse("objects:browse", args=[endpoint.code, bucket]) + "?prefix=docs/")
    # A drop carries a DataTransfer built in the page, as a file manager's drag would.
    transfer = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["dropped body"], "dropped.txt", {type: "text/plain"}));
            return data;
        }"""
    )
    page.dispatch_event("#listing", "drop", {"dataTransfer": transfer})
    # The folded upload panel opens to show the queue, and the listing refreshes itself.
    page.locator("details.upload-here[open] .upload-item[data-state=sent]").wait_for()
    page.locator(".upload-item .job-card[data-state=succeeded]").wait_for(timeout=60000)
    # A sent file offers no pause, resume or cancel any more.
    controls = page.locator(".upload-item[data-state=sent] .upload-controls button")
    assert controls.count() == 4
    assert not any(controls.nth(i).is_visible() for i in range(4))
    page.locator("#listing >> text=dropped.txt").wait_for(timeout=30000)
    body = s3_target.client().get_object(Bucket=bucket, Key="docs/dropped.txt")["Body"].read()
    assert body == b"dropped body"


def test_a_failed_file_is_retried_afresh_or_carries_on(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    raw = s3_target.client()

    # The server has ended the upload (here it says so for every chunk): Retry
    # starts the file afresh, as a new upload.
    ended = make_file(tmp_path / "ended.bin", 100)
    page.route(
        "**/chunks/*",
        lambda route: route.fulfill(
            status=409, content_type="application/json", body='{"error": "This upload has ended."}'
        ),
    )
    page.set_input_files("[data-upload-files]", str(ended))
    row = page.locator(".upload-item").nth(0)
    items(page, "failed").first.wait_for()
    assert "This upload has ended." in row.locator(".upload-error").inner_text()
    assert not row.locator("[data-action=cancel]").is_visible()
    page.unroute("**/chunks/*")
    row.locator("[data-action=retry]").click()
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert not row.locator(".upload-error").is_visible()
    first, second = Job.objects.filter(target="ended.bin").order_by("created_at")
    assert first.state == Job.State.CANCELED and second.state == Job.State.SUCCEEDED
    assert raw.get_object(Bucket=bucket, Key="ended.bin")["Body"].read() == ended.read_bytes()

    # Every chunk arrived but saying so failed with an answer not worth trying again
    # by itself (a 502, 503 or 504 would be retried for minutes first): Retry carries
    # on with the same upload.
    cut = make_file(tmp_path / "cut.bin", 12 * MiB)
    page.route("**/complete/", lambda route: route.fulfill(status=500, body="Internal error"))
    page.set_input_files("[data-upload-files]", str(cut))
    row = page.locator(".upload-item").nth(1)
    row.locator(".upload-error").wait_for()
    assert row.get_attribute("data-state") == "failed"
    page.unroute("**/complete/")
    row.locator("[data-action=retry]").click()
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert Job.objects.filter(target="cut.bin").count() == 1
    assert sha256_object(raw, bucket, "cut.bin") == sha256_file(cut)


def test_a_reloaded_page_carries_on_when_the_same_file_is_chosen_again(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "long.bin", 20 * MiB)  # three chunks
    browser_login(operator)
    upload_page = reverse("objects:upload", args=[endpoint.code, bucket])
    page.goto(upload_page)
    page.route("**/chunks/3", lambda route: route.abort())
    page.set_input_files("[data-upload-files]", str(source))
    wait_for(
        lambda: UploadChunk.objects.filter(upload__key="long.bin").count() == 2,
        what="two chunks to arrive",
    )
    # The reload ends the old page's retries of chunk 3 before the route lets it
    # through (a retry that slipped in between would finish the first upload).
    page.goto(upload_page)  # the browser's queue is gone
    page.unroute("**/chunks/3")
    page.set_input_files("[data-upload-files]", str(source))
    row = page.locator(".upload-item").first
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert row.get_attribute("data-state") == "sent"
    assert Job.objects.filter(target="long.bin").count() == 1
    assert sha256_object(s3_target.client(), bucket, "long.bin") == sha256_file(source)


def _sent_bytes(row) -> float:
    """The bytes the row says are sent ("5.0 MiB / 12.0 MiB · 41 %" -> 5 MiB)."""
    number, unit = row.locator(".upload-text").inner_text().split(" / ")[0].split()
    return float(number) * {"B": 1, "KiB": 1024, "MiB": MiB, "GiB": 1024 * MiB}[unit]


@pytest.mark.usefixtures("worker", "small_parts", "live_server")
def test_the_panel_follows_pause_resume_and_cancel_made_on_the_jobs_page(
    page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "followed.bin", 12 * MiB)  # chunks of 5, 5 and 2 MiB
    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    page.route("**/chunks/2", lambda route: route.abort())  # holds the upload open
    page.set_input_files("[data-upload-files]", str(source))
    row = page.locator(".upload-item").nth(0)
    row.locator(".job-card").wait_for()
    wait_for(lambda: _sent_bytes(row) >= 7 * MiB, what="chunks 1 and 3 to be sent")
    job = Job.objects.get(target="followed.bin")

    jobs_page = page.context.new_page()
    jobs_page.goto(reverse("job_detail", args=[job.code]))
    jobs_page.get_by_role("button", name="Pause").click()
    wait_for(lambda: row.get_attribute("data-state") == "paused", what="the panel to pause")
    assert row.locator("[data-action=resume]").is_visible()
    assert not row.locator("[data-action=pause]").is_visible()
    assert _sent_bytes(row) >= 7 * MiB  # pausing does not take back what was sent
    wait_for(lambda: Job.objects.get(pk=job.pk).state == Job.State.PAUSED, what="the job")

    page.unroute("**/chunks/2")
    jobs_page.get_by_role("button", name="Resume").click()
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert row.get_attribute("data-state") == "sent"
    assert sha256_object(s3_target.client(), bucket, "followed.bin") == sha256_file(source)

    canceled = make_file(tmp_path / "dropped.bin", 12 * MiB)
    page.route("**/chunks/2", lambda route: route.abort())
    page.set_input_files("[data-upload-files]", str(canceled))
    row = page.locator(".upload-item").nth(1)
    row.locator(".job-card").wait_for()
    job = wait_for(lambda: Job.objects.filter(target="dropped.bin").first(), what="the job")
    jobs_page.goto(reverse("job_detail", args=[job.code]))
    jobs_page.get_by_role("button", name="Cancel").click()
    wait_for(lambda: row.get_attribute("data-state") == "canceled", what="the panel to stop")
    assert "canceled on the jobs page" in row.locator(".upload-error").inner_text()
    controls = row.locator(".upload-controls button")
    assert not any(controls.nth(i).is_visible() for i in range(controls.count()))
    assert multipart_uploads(s3_target.client(), bucket) == []


@pytest.mark.usefixtures("worker", "small_parts", "live_server")
def test_pausing_in_the_panel_keeps_the_progress_it_showed(
    page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "slow.bin", 12 * MiB)
    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    # A slow uplink (Chromium's own network throttling), so chunks are half-way
    # through when Pause is clicked.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 2 * MiB},
    )
    page.set_input_files("[data-upload-files]", str(source))
    row = page.locator(".upload-item").nth(0)
    wait_for(lambda: _sent_bytes(row) >= 1 * MiB, what="a chunk half-way")
    row.locator("[data-action=pause]").click()
    shown = _sent_bytes(row)
    assert shown >= 1 * MiB
    wait_for(lambda: row.get_attribute("data-state") == "paused", what="the pause")
    page.wait_for_timeout(1500)
    assert _sent_bytes(row) >= shown
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    row.locator("[data-action=resume]").click()
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert sha256_object(s3_target.client(), bucket, "slow.bin") == sha256_file(source)


def test_the_upload_queue_marks_hidden_characters_of_file_names(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "rtl\u202egnp.exe", 10)
    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    page.set_input_files("[data-upload-files]", str(source))
    row = page.locator(".upload-item").first
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    assert row.locator(".upload-name").inner_text() == "rtlU+202Egnp.exe"
    assert row.locator(".job-target").inner_text().endswith("rtlU+202Egnp.exe")
    assert (
        s3_target.client().head_object(Bucket=bucket, Key="rtl\u202egnp.exe")["ContentLength"] == 10
    )


def test_the_upload_module_speaks_the_language_of_the_page(
    worker, live_server, page, browser_login, operator, endpoint, s3_target, bucket, tmp_path
):
    page.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9"})
    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.set_input_files("[data-upload-files]", str(make_file(tmp_path / "一.bin", 100)))
    row = page.locator(".upload-item").first
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    # The module's own words (its catalogue) and the job card's (the page's).
    assert "已发送" in row.locator(".upload-text").inner_text()
    assert "成功" in row.locator(".job-card .job-state").inner_text()


def test_the_hidden_file_inputs_show_keyboard_focus_on_their_buttons(
    live_server, page, browser_login, operator, endpoint, bucket
):
    browser_login(operator)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    for chooser in ("[data-upload-files]", "[data-upload-folder]"):
        page.focus(chooser)
        style = page.locator(chooser).evaluate(
            "el => getComputedStyle(el.closest('label')).outlineStyle"
        )
        assert style not in ("", "none"), chooser
