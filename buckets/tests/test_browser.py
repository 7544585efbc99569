from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from buckets.panels import PANELS

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

    # The side list brings one panel at a time; versioning saves in place.
    settings = page.get_by_role("navigation", name="Bucket settings")
    settings.get_by_role("link", name="Versioning").click()
    versioning = page.locator("#panel-versioning")
    versioning.locator("button:has-text('Enable versioning')").click()
    versioning = page.locator("#panel-versioning")
    versioning.locator("text=Versioning is now enabled.").wait_for()
    assert s3_target.client().get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    # A template fills the policy editor through htmx, then it is saved.
    settings.get_by_role("link", name="Bucket policy").click()
    policy = page.locator("#panel-policy")
    policy.locator("a:has-text('Public read')").click()
    editor = page.locator("#panel-policy textarea[name=policy]")
    expect(editor).to_have_value(re.compile("s3:GetObject"))
    assert f"arn:aws:s3:::{name}/*" in editor.input_value()
    page.locator("#panel-policy button:has-text('Save policy')").click()
    page.locator("#panel-policy >> text=Policy saved.").wait_for()
    stored = json.loads(s3_target.client().get_bucket_policy(Bucket=name)["Policy"])
    assert stored["Statement"][0]["Principal"] in ("*", {"AWS": "*"})

    page.locator(".danger-zone").get_by_role("link", name="Delete bucket").click()
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
        *(reverse(panel.url_name, args=[endpoint.code, bucket]) for panel in PANELS.values()),
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
    zone = page.get_by_role("region", name="Danger zone")
    assert zone.get_by_role("link", name="Delete bucket").is_visible()
    assert zone.get_by_role("link", name="Empty bucket…").is_visible()


def test_the_side_list_swaps_one_panel_pushes_its_url_and_focuses_it(
    page, browser_login, viewer, endpoint, bucket
):
    browser_login(viewer)
    page.goto(f"/e/{endpoint.code}/b/{bucket}/settings/")
    settings = page.get_by_role("navigation", name="Bucket settings")
    expect(settings.locator("[aria-current=page]")).to_have_text("Location")
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true") as asked:
        settings.get_by_role("link", name="Lifecycle").click()
    assert asked.value.url.endswith(f"/b/{bucket}/settings/lifecycle/")
    page.wait_for_url(f"**/b/{bucket}/settings/lifecycle/")
    expect(page.locator("section.panel")).to_have_count(1)
    expect(page.locator("#panel-lifecycle h2")).to_be_focused()
    expect(settings.locator("[aria-current=page]")).to_have_text("Lifecycle")
    expect(page).to_have_title(f"{bucket} · Lifecycle")
    # Back brings the first panel, and its link is the current one again.
    page.go_back()
    page.wait_for_url(f"**/b/{bucket}/settings/")
    page.locator("#panel-location").wait_for()
    expect(settings.locator("[aria-current=page]")).to_have_text("Location")


def test_no_settings_panel_scrolls_sideways_at_phone_width(
    page, browser_login, manager, endpoint, s3_target, bucket
):
    # A rule and a grant, so the panels' tables are there to be too wide.
    raw = s3_target.client()
    origin = "https://" + "a-very-long-subdomain." * 6 + "example.com"
    raw.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": [origin], "AllowedMethods": ["GET", "PUT"]}]
        },
    )
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(manager)
    for panel in PANELS.values():
        page.goto(reverse(panel.url_name, args=[endpoint.code, bucket]))
        page.locator(f"#panel-{panel.slug}").wait_for()
        # What the page's content needs (the top bar is the same on every page).
        width = page.evaluate(
            "Math.max(document.querySelector('main').scrollWidth,"
            " document.querySelector('.bucket-settings').getBoundingClientRect().right)"
        )
        assert width <= 390, f"{panel.slug}: the content is {width} px wide"
    # The side list sits above the panel, the danger zone below it.
    nav = page.get_by_role("navigation", name="Bucket settings").bounding_box()
    panel = page.locator("section.panel").bounding_box()
    zone = page.locator(".danger-zone").bounding_box()
    assert nav["y"] + nav["height"] <= panel["y"] < zone["y"]


def test_an_insights_run_started_from_the_bucket_page_ends_in_charts_and_tables(
    worker, page, browser_login, viewer, endpoint, s3_target, bucket
):
    raw = s3_target.client()
    for key, size in (("logs/2026/a.log", 4000), ("logs/2026/b.log", 6000), ("img/c.png", 500)):
        raw.put_object(Bucket=bucket, Key=key, Body=b"x" * size)
    raw.put_object(Bucket=bucket, Key="<b>odd</b>/k", Body=b"y")
    browser_login(viewer)
    page.goto(f"/e/{endpoint.code}/b/{bucket}/")
    page.click("a:has-text('Insights')")
    page.wait_for_url(f"**/b/{bucket}/insights/")
    page.locator("text=Not counted yet").wait_for()
    page.click("button:has-text('Count now')")
    # The run's card follows it; when it ends the report takes its place in the page.
    report = page.locator("#report")
    report.locator("svg.chart").first.wait_for(timeout=60000)
    expect(report.locator("svg.chart")).to_have_count(5)
    expect(report.locator(".job-card")).to_have_count(0)
    folders = report.locator("section[aria-labelledby=folders-1-heading]")
    expect(folders.locator("table a").first).to_have_text("logs/")
    expect(folders.locator("svg text.chart-label").first).to_have_text("logs/")
    # A hostile folder name is text in the chart and the table, not markup.
    expect(folders.locator("table a", has_text="<b>odd<")).to_have_count(1)
    assert report.locator("svg b").count() == 0
    facts = report.locator("dl.insights-totals").inner_text()
    assert "4 · 10.3 KiB" in facts  # 10 501 bytes in four objects
    # Each folder links to the browser there.
    folders.locator("table a", has_text="logs/").click()
    page.wait_for_url(re.compile(r".*prefix=logs%2F"))
