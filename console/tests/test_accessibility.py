"""What every page gives keyboard and screen-reader users: a skip link to the
content and navigation landmarks with names."""

from __future__ import annotations

import re
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
