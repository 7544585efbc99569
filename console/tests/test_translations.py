"""Simplified Chinese: the catalogue holds a translation of every string marked in
the code and templates, and the compiled catalogue the console loads is that one;
a person switches language on any page."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
# What `manage.py makemessages` reads: the apps, the templates and our scripts.
SOURCES = ["console", "buckets", "objects", "templates", "static/js", "manage.py"]
DOMAINS = ["django", "djangojs"]  # Python and templates; the upload module's scripts


def entries(po: Path) -> dict[str, tuple[str, bool]]:
    """msgid (with its plural and context) -> (translation, fuzzy), without the header.

    Read line by line: an entry ends where the next one's comments or msgctxt/msgid
    begin, with or without a blank line between them."""
    found = {}
    key, text, fuzzy, field = [], [], False, None

    def flush():
        msgid = "".join(key)
        if key and msgid not in ('msgid""', '""'):
            found[msgid] = ("".join(t.strip('"') for t in text), fuzzy)

    for line in po.read_text().splitlines():
        starts = line.startswith("#") or re.match(r"^(msgctxt|msgid) ", line)
        if starts and text:  # the entry before this one is complete
            flush()
            key, text, fuzzy, field = [], [], False, None
        if line.startswith("#"):
            fuzzy = fuzzy or bool(re.match(r"^#,.*\bfuzzy\b", line))
            continue
        match = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (\".*\")$", line)
        if match:
            field, line = match.group(1), match.group(2)
        if not line.strip():
            continue
        (text if field and field.startswith("msgstr") else key).append(line)
    flush()
    return found


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_marked_string_has_a_chinese_translation_that_is_not_fuzzy(tmp_path, domain):
    assert shutil.which("xgettext"), "GNU gettext is needed (bin/test installs it)"
    # makemessages over a copy of the sources, so the catalogue here is not touched.
    for name in SOURCES:
        source = ROOT / name
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("tests"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES").mkdir(parents=True)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-d", domain, "-l", "zh_Hans"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite://:memory:"},
    )
    marked = set(entries(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"))
    ours = entries(CATALOGUE / f"{domain}.po")
    assert marked, "nothing found marked: the extraction itself failed"
    assert sorted(marked - set(ours)) == [], "marked in the code, missing from the catalogue"
    assert sorted(m for m in marked if not ours[m][0]) == [], "not translated"
    assert sorted(m for m in marked if ours[m][1]) == [], "fuzzy entries"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalogue_is_the_catalogue(tmp_path, domain):
    assert shutil.which("msgfmt"), "GNU gettext is needed (bin/test installs it)"
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "-o", str(compiled), str(CATALOGUE / f"{domain}.po")], check=True)
    assert compiled.read_bytes() == (CATALOGUE / f"{domain}.mo").read_bytes(), (
        f"run: msgfmt -o locale/zh_Hans/LC_MESSAGES/{domain}.mo "
        f"locale/zh_Hans/LC_MESSAGES/{domain}.po"
    )


def test_the_upload_module_gets_its_words_in_the_page_language(client_as, outsider):
    client = client_as(outsider)
    url = reverse("javascript_catalog")
    # The catalogue is a script whose strings are JSON (non-ASCII as \u escapes).
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert f'"%s left": {json.dumps("剩余 %s")}' in chinese
    assert json.dumps("上传任务失败。") in chinese
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '"%s left"' not in english


@pytest.mark.django_db
def test_a_browser_asking_for_chinese_gets_chinese_and_the_switch_brings_english_back(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    body = page.content.decode()
    assert '<html lang="zh-hans">' in body
    assert "登录" in body and "Log in" not in body
    switched = client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    assert switched.status_code == 302 and switched["Location"] == "/login/"
    again = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert '<html lang="en">' in again.content.decode()
    assert "Log in" in again.content.decode()


def test_the_image_carries_the_compiled_catalogue():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^COPY locale \./locale$", dockerfile, re.M)


def test_a_jobs_pool_threads_write_in_the_language_the_job_runs_in():
    from django.utils import translation

    from console import jobs
    from console.s3.errors import MESSAGES

    with translation.override("zh-hans"), jobs.pool(1, "test") as pool:
        said = pool.submit(lambda: str(MESSAGES["AccessDenied"])).result()
    assert "拒绝" in said
