from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.s3, pytest.mark.browser]


@pytest.mark.django_db(transaction=True)
def test_manager_creates_configures_and_deletes_bucket(
    page, browser_login, manager, endpoint, s3_target
):
    name = s3_target.bucket_name("ui")
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
    assert s3_target.client().get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    # A template fills the policy editor through htmx, then it is saved.
    policy = page.locator("#panel-policy")
    policy.locator("a:has-text('Public read')").click()
    editor = page.locator("#panel-policy textarea[name=policy]")
    expect(editor).to_have_value(re.compile("s3:GetObject"))
    assert f"arn:aws:s3:::{name}/*" in editor.input_value()
    page.locator("#panel-policy button:has-text('Save policy')").click()
    page.locator("#panel-policy >> text=Policy saved.").wait_for()
    stored = json.loads(s3_target.client().get_bucket_policy(Bucket=name)["Policy"])
    assert stored["Statement"][0]["Principal"] in ("*", {"AWS": "*"})

    page.click("a:has-text('Delete bucket')")
    page.locator("text=The bucket is empty").wait_for()
    page.fill("input[name=confirm_name]", name)
    page.click("button:has-text('Delete bucket')")
    page.wait_for_url(f"**/e/{endpoint.code}/")
    page.locator(f"text=Bucket {name} deleted.").wait_for()
    assert name not in [b["Name"] for b in s3_target.client().list_buckets()["Buckets"]]


# The contrast of a button's text with its own background (WCAG 2 relative
# luminance); 4.5:1 is the level for text of ordinary size.
CONTRAST = """(el) => {
  const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const style = getComputedStyle(el);
  const bg = rgb(style.backgroundColor);
  if (bg.length === 4 && bg[3] === 0) return null;  // transparent: a link-styled button
  const [a, b] = [lum(rgb(style.color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


def test_every_button_on_the_settings_and_browse_pages_is_legible(
    browser_login, manager, endpoint, s3_target
):
    bucket = s3_target.make_bucket("legible")
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    page = browser_login(manager)
    for url in (
        f"/e/{endpoint.code}/b/{bucket}/settings/",
        f"/e/{endpoint.code}/b/{bucket}/",
        f"/e/{endpoint.code}/b/{bucket}/object/?key=a.txt",
        f"/e/{endpoint.code}/b/{bucket}/delete/",
    ):
        page.goto(url)
        buttons = page.locator("button:visible, a.button:visible")
        assert buttons.count() > 0, url
        for i in range(buttons.count()):
            button = buttons.nth(i)
            ratio = button.evaluate(CONTRAST)
            label = button.inner_text()
            assert ratio is None or ratio >= 4.5, f"{url}: “{label}” has contrast {ratio:.2f}"
    page.goto(f"/e/{endpoint.code}/b/{bucket}/settings/")
    assert page.get_by_role("link", name="Delete bucket").is_visible()
