"""axe-core, run in Chromium on every main page in English and in Chinese, finds no
critical or serious violation of WCAG 2.1 A and AA.

axe-core comes from the npm registry at the version package-lock.json pins
(`bin/test` installs it into node_modules/); nothing is downloaded here.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.s3]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    resultTypes: ['violations'],
  });
  return result.violations
    .filter(v => v.impact === 'critical' || v.impact === 'serious')
    .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
}"""


def pages(code: str, bucket: str, key: str) -> list[str]:
    b = [code, bucket]
    detail = reverse("objects:detail", args=b) + f"?key={quote(key)}"
    return [
        reverse("home"),
        reverse("endpoint_add"),
        reverse("endpoint_detail", args=[code]),
        reverse("buckets:list", args=[code]),
        reverse("buckets:create", args=[code]),
        reverse("objects:browse", args=b),
        reverse("objects:browse", args=b) + "?prefix=docs/",
        detail,
        detail + "&tab=metadata",
        detail + "&tab=permissions",
        detail + "&tab=versions",
        reverse("objects:upload", args=b),
        reverse("objects:share", args=b) + f"?key={quote(key)}",
        reverse("objects:versions", args=b),
        reverse("objects:multipart", args=b),
        reverse("objects:bulk_delete", args=b) + f"?key={quote(key)}",
        reverse("objects:copy_job", args=b) + f"?key={quote(key)}",
        reverse("buckets:settings", args=b),
        reverse("buckets:delete", args=b),
        reverse("buckets:insights", args=b),
        reverse("jobs"),
        reverse("audit"),
    ]


@pytest.fixture
def axe_context(browser, live_server):
    if not AXE.exists():
        pytest.fail("axe-core is missing: bin/test installs it (npm ci)")
    # axe is added to each page as a script: the context lets it past the
    # console's Content-Security-Policy, which forbids every script not its own.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    yield context
    context.close()


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_no_page_has_a_critical_or_serious_accessibility_violation(
    axe_context, language, admin_user, password, endpoint, s3_target, bucket
):
    key = "docs/readme <1>.txt"
    s3_target.client().put_object(Bucket=bucket, Key=key, Body=b"hello")
    page = axe_context.new_page()
    page.set_default_timeout(15000)
    page.set_extra_http_headers({"Accept-Language": language})
    page.goto("/login/")
    page.add_script_tag(path=str(AXE))
    found = {"/login/": page.evaluate(RUN_AXE)}
    page.fill("input[name=username]", admin_user.username)
    page.fill("input[name=password]", password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    for url in pages(str(endpoint.code), bucket, key):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.add_script_tag(path=str(AXE))
        found[url] = page.evaluate(RUN_AXE)
    found = {url: v for url, v in found.items() if v}
    assert found == {}, "\n".join(f"{url}: {v}" for url, v in found.items())


def test_the_check_finds_an_unlabelled_field(axe_context):
    # The same run on a page given a field without a name must report it.
    page = axe_context.new_page()
    page.goto("/login/")
    page.evaluate("() => document.querySelector('main').append(document.createElement('input'))")
    page.add_script_tag(path=str(AXE))
    assert any(v.startswith("label (critical)") for v in page.evaluate(RUN_AXE))
