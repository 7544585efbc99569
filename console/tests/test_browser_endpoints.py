"""In a real browser: an administrator adds an endpoint, tests it and sees its buckets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.s3]


def test_admin_adds_tests_and_opens_an_endpoint(browser_login, admin_user, s3_target):
    bucket = s3_target.make_bucket("browser")
    page = browser_login(admin_user)

    page.get_by_role("link", name="Add endpoint").click()
    page.fill("input[name=name]", "Browser S3")
    # Choosing the provider swaps the preset fields in place (htmx); the name stays.
    before = page.locator("input[name=endpoint_url]").element_handle()
    with page.expect_response(lambda r: "provider=other" in r.url and "name=Browser" in r.url):
        page.select_option("select[name=provider]", label="Other S3-compatible")
    # The old fields leave the page when htmx swaps the new ones in; type only then.
    before.wait_for_element_state("hidden")
    expect(page.locator("#endpoint-fields select[name=provider]")).to_have_value("other")
    expect(page.locator("input[name=name]")).to_have_value("Browser S3")
    page.fill("input[name=endpoint_url]", s3_target.url)
    page.fill("input[name=region]", s3_target.region)
    page.select_option("select[name=addressing_style]", "path")
    page.fill("input[name=access_key_id]", s3_target.access_key)
    page.fill("input[name=secret_key]", s3_target.secret_key)
    page.get_by_role("button", name="Save").click()

    expect(page.locator("h1")).to_have_text("Browser S3")
    expect(page.locator("#messages")).to_contain_text("Endpoint Browser S3 saved.")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result [data-code=OK]")).to_contain_text("Connected.")

    page.get_by_role("link", name="Buckets", exact=True).click()
    expect(page).to_have_url(re.compile(r"/e/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("link", name=bucket)).to_be_visible()
