from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.s3, pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_manager_creates_configures_and_deletes_bucket(page, browser_login, manager, endpoint, s3):
    name = s3.bucket_name("ui")
    browser_login(manager)
    page.goto(f"/e/{endpoint.code}/")
    page.click("text=New bucket")
    page.fill("input[name=name]", name)
    page.click("button:has-text('Create bucket')")
    page.wait_for_url(f"**/b/{name}/settings/")

    # Panels load themselves; versioning saves in place.
    versioning = page.locator("#panel-versioning")
    versioning.locator("button:has-text('Enable versioning')").click()
    versioning = page.locator("#panel-versioning")
    versioning.locator("text=Versioning is now enabled.").wait_for()
    assert s3.client().get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    # A template fills the policy editor through htmx, then it is saved.
    policy = page.locator("#panel-policy")
    policy.locator("a:has-text('Public read')").click()
    editor = page.locator("#panel-policy textarea[name=policy]")
    expect(editor).to_have_value(re.compile("s3:GetObject"))
    assert f"arn:aws:s3:::{name}/*" in editor.input_value()
    page.locator("#panel-policy button:has-text('Save policy')").click()
    page.locator("#panel-policy >> text=Policy saved.").wait_for()
    stored = json.loads(s3.client().get_bucket_policy(Bucket=name)["Policy"])
    assert stored["Statement"][0]["Principal"] in ("*", {"AWS": "*"})

    page.click("a:has-text('Delete bucket')")
    page.locator("text=The bucket is empty").wait_for()
    page.fill("input[name=confirm_name]", name)
    page.click("button:has-text('Delete bucket')")
    page.wait_for_url(f"**/e/{endpoint.code}/")
    page.locator(f"text=Bucket {name} deleted.").wait_for()
    assert name not in [b["Name"] for b in s3.client().list_buckets()["Buckets"]]
