"""The README's screenshots, taken of the real pages in English and in Chinese.

Every run takes them; `UPDATE_SCREENSHOTS=1` also writes them into docs/screenshots/
for the README."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from objects.tests.upload_helpers import MiB, make_file

pytestmark = [pytest.mark.browser, pytest.mark.s3, pytest.mark.worker, pytest.mark.slow]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LANGUAGES = {"en": "en", "zh": "zh-CN,zh;q=0.9"}


def fill(s3_target, bucket: str) -> None:
    client = s3_target.client()
    for key, size in [
        ("photos/2026/beach.jpg", 2_400_000),
        ("photos/2026/harbour.jpg", 3_100_000),
        ("reports/q3.pdf", 820_000),
        ("reports/q4.pdf", 910_000),
        ("backup/db-2026-11-29.sql.gz", 48_000_000),
        ("README.txt", 2_300),
        ("index.html", 5_400),
        ("logo.svg", 1_200),
    ]:
        client.put_object(Bucket=bucket, Key=key, Body=b"\0" * size)


@pytest.mark.parametrize("language", LANGUAGES)
def test_screenshots_of_the_browser_and_a_running_upload(
    worker,
    live_server,
    browser,
    browser_login,
    page,
    operator,
    endpoint,
    s3_target,
    bucket,
    small_parts,
    tmp_path,
    language,
):
    fill(s3_target, bucket)
    page.set_viewport_size({"width": 1100, "height": 640})
    page.set_extra_http_headers({"Accept-Language": LANGUAGES[language]})
    browser_login(operator)
    page.goto(reverse("objects:browse", args=[endpoint.code, bucket]))
    page.locator("table").first.wait_for()
    shots = {f"browser-{language}.png": page.screenshot()}

    # The second chunk is held back, never answered: the upload stays under way.
    page.route("**/chunks/2", lambda route: None)
    page.goto(reverse("objects:upload", args=[endpoint.code, bucket]))
    page.set_input_files("[data-upload-files]", str(make_file(tmp_path / "video.mp4", 12 * MiB)))
    page.locator(".upload-item .upload-text").first.wait_for()
    # The worker has stored the first part: the job card shows progress too.
    page.wait_for_function(
        "() => Number(document.querySelector('.upload-item .job-card progress')?.value) > 0",
        timeout=30000,
    )
    shots[f"upload-{language}.png"] = page.screenshot()
    page.unroute("**/chunks/2")

    for name, image in shots.items():
        assert image[:8] == b"\x89PNG\r\n\x1a\n" and len(image) < 400_000, name
        (tmp_path / name).write_bytes(image)
        if os.environ.get("UPDATE_SCREENSHOTS"):
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp_path / name, DOCS / name)
