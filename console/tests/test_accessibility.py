"""What every page gives keyboard and screen-reader users: a skip link to the
content and navigation landmarks with names."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.django_db
def test_every_page_starts_with_a_skip_link_and_names_its_navigation(client_as, outsider):
    body = client_as(outsider).get(reverse("home")).content.decode()
    first_link = re.search(r"<a [^>]*>", body).group(0)
    assert 'class="skip-link"' in first_link and 'href="#main"' in first_link
    assert '<main id="main"' in body
    navs = re.findall(r"<nav\b[^>]*>", body)
    assert navs and all("aria-label=" in nav for nav in navs), navs
    templates = TEMPLATES
    unnamed = [
        f"{path.relative_to(templates)}: {nav}"
        for path in templates.rglob("*.html")
        for nav in re.findall(r"<nav\b[^>]*>", path.read_text())
        if "aria-label" not in nav
    ]
    assert unnamed == []


class Controls(HTMLParser):
    """The form controls of a page, the ids it holds, the labels' targets and
    what each aria-describedby points at."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.ids: set[str] = set()
        self.labelled: set[str] = set()
        self.described: list[str] = []
        self.in_label = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if attrs.get("aria-describedby"):
            self.described += attrs["aria-describedby"].split()
        if tag == "label":
            self.in_label += 1
            if attrs.get("for"):
                self.labelled.add(attrs["for"])
        hidden = attrs.get("type") in ("hidden", "submit", "button")
        if tag in ("input", "select", "textarea") and not hidden:
            self.controls.append({**attrs, "_tag": tag, "_in_label": bool(self.in_label)})

    def handle_endtag(self, tag):
        if tag == "label":
            self.in_label -= 1


def unlabelled_controls(html: str) -> list[str]:
    """What a screen reader could not name, and help texts that do not exist."""
    page = Controls()
    page.feed(html)
    problems = [
        f"{c['_tag']} name={c.get('name')}"
        for c in page.controls
        if not (
            c["_in_label"]
            or c.get("aria-label")
            or c.get("aria-labelledby")
            or c.get("id") in page.labelled
        )
    ]
    problems += [f"aria-describedby={d} (no such id)" for d in page.described if d not in page.ids]
    return problems
