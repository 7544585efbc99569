"""A person whose browser asks for Chinese meets no English word on the way from
adding an endpoint to a finished upload and the bucket's settings: what is left in
Latin letters is their own data (names, keys, addresses), S3's codes and values,
header names and units."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from console.tests.test_untranslated import KEPT
from objects.tests.upload_helpers import make_file

pytestmark = [pytest.mark.browser, pytest.mark.s3, pytest.mark.worker, pytest.mark.slow]

# Everything a person reads or hears: the text, and the attributes read out or shown.
SHOWN_TEXT = """() => {
  const parts = [document.title];
  // Names of things in code (keys, ETags, request ids) and what is marked
  // translate="no" are data, not words of the console.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    const data = 'code, pre, kbd, samp, script, style, template, [translate=no], [hidden]';
    if (!el || el.closest(data)) continue;
    if (!el.checkVisibility()) continue;
    parts.push(node.textContent);
  }
  const shown = ['title', 'placeholder', 'aria-label', 'alt', 'aria-valuetext'];
  for (const el of document.querySelectorAll(shown.map(name => `[${name}]`).join(', '))) {
    for (const name of shown) {
      if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
    }
  }
  for (const el of document.querySelectorAll('option, input[type=submit], input[type=button]')) {
    if (el.closest('[translate=no]')) continue;
    parts.push(el.textContent || el.value);
  }
  return parts.join('\\n');
}"""
# S3's own values: storage classes and canned ACLs, codes, header and JSON names.
S3_VALUES = re.compile(
    r"\b([A-Z][A-Z0-9_]+|[A-Z][a-z]+[A-Z]\w*|x-amz-[\w-]+|"
    r"private|public-read-write|public-read|authenticated-read|bucket-owner-[\w-]+|"
    r"aws-exec-read|log-delivery-write|default)\b"
)
WORD = re.compile(r"[A-Za-z][A-Za-z-]*")


def english_words(text: str, user_data: list[str]) -> list[str]:
    for value in sorted(user_data, key=len, reverse=True):
        text = text.replace(value, " ")
    text = re.sub(r"https?://\S+|[\w.-]+\.(com|cn|net|org)\b", " ", text)  # addresses
    text = S3_VALUES.sub(" ", text)
    return sorted({w for w in WORD.findall(text) if not set(w.strip("-").split("-")) <= KEPT})


def test_english_words_finds_english_and_spares_data_codes_and_units():
    text = "存储桶 my-bucket 12.0 MiB STANDARD AccessDenied Content-Type Upload done"
    assert english_words(text, ["my-bucket"]) == ["Upload", "done"]


def test_a_chinese_browser_walks_from_endpoint_to_settings_in_chinese(
    worker, live_server, page, browser_login, admin_user, s3_target, tmp_path
):
    bucket = s3_target.make_bucket("walk")
    name = "演示端点"
    user_data = [
        name,
        bucket,
        admin_user.username,
        s3_target.url,
        s3_target.region,
        s3_target.access_key,
        "数据.bin",
    ]
    seen: dict[str, list[str]] = {}

    def check(label: str) -> None:
        page.wait_for_load_state("networkidle")
        found = english_words(page.evaluate(SHOWN_TEXT), user_data)
        if found:
            seen[f"{label} {page.url}"] = found

    page.set_extra_http_headers({"Accept-Language": "zh-CN,zh;q=0.9"})
    page.goto("/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    check("login")
    browser_login(admin_user)
    check("endpoints")

    page.goto(reverse("endpoint_add"))
    check("new endpoint")
    page.fill("input[name=name]", name)
    before = page.locator("input[name=endpoint_url]").element_handle()
    page.select_option("select[name=provider]", "other")
    before.wait_for_element_state("hidden")
    page.fill("input[name=endpoint_url]", s3_target.url)
    page.fill("input[name=region]", s3_target.region)
    page.select_option("select[name=addressing_style]", "path")
    page.fill("input[name=access_key_id]", s3_target.access_key)
    page.fill("input[name=secret_key]", s3_target.secret_key)
    page.locator("main button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/endpoints/[0-9a-f-]{36}/$"))
    check("endpoint saved")
    page.locator("form[hx-post*='/test/'] button").first.click()
    page.locator("#test-result [data-code]").wait_for()
    check("connection tested")

    code = re.search(r"/endpoints/([0-9a-f-]{36})/", page.url).group(1)
    page.goto(reverse("buckets:list", args=[code]))
    check("buckets")
    page.goto(reverse("objects:browse", args=[code, bucket]))
    check("empty listing")
    page.goto(reverse("objects:upload", args=[code, bucket]))
    check("upload page")
    page.set_input_files("[data-upload-files]", str(make_file(tmp_path / "数据.bin", 3000)))
    row = page.locator(".upload-item").first
    row.locator(".job-card[data-state=succeeded]").wait_for(timeout=60000)
    check("upload finished")

    page.goto(reverse("objects:browse", args=[code, bucket]))
    check("listing")
    page.goto(reverse("objects:detail", args=[code, bucket]) + "?key=%E6%95%B0%E6%8D%AE.bin")
    check("object page")
    for tab in page.locator("[role=tab], .tabs a").all():
        tab.click()
        check(f"object tab {tab.get_attribute('href')}")

    page.goto(reverse("jobs"))
    check("jobs")
    page.locator("a[href*='/jobs/']").first.click()
    check("job")

    page.goto(reverse("buckets:settings", args=[code, bucket]))
    check("settings")
    for link in page.locator(".settings-nav a, nav.panels a").all():
        href = link.get_attribute("href")
        page.goto(href)
        check(f"settings panel {href}")
    key = "?key=%E6%95%B0%E6%8D%AE.bin"
    for name in ["share", "bulk_delete", "copy_job", "versions", "multipart", "restore"]:
        page.goto(reverse(f"objects:{name}", args=[code, bucket]) + key)
        check(name)
    for name in ["insights", "delete"]:
        page.goto(reverse(f"buckets:{name}", args=[code, bucket]))
        check(name)
    page.goto(reverse("buckets:create", args=[code]))
    check("new bucket")
    page.goto(reverse("audit"))
    check("audit log")

    assert seen == {}, "\n".join(f"{where}: {words}" for where, words in seen.items())
