"""Auth and safety: throttled login, CSP, CSRF, login everywhere,
a clean deploy check, and no 500 for any S3 failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import reverse

from console import s3
from console.middleware import S3ErrorPageMiddleware
from console.tests.servers import closed_port_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


@pytest.fixture
def throttle(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 120
    cache.clear()
    yield settings
    cache.clear()


def _login(client, username, password, addr="198.51.100.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=addr
    )


def test_login_with_the_right_password_works(client, outsider, password, throttle):
    response = _login(client, "outsider", password)
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_login_is_paused_after_failures_for_a_username(client, outsider, password, throttle):
    for n in range(3):
        response = _login(client, "outsider", "wrong", addr=f"198.51.100.{n + 10}")
        assert response.status_code == 200
        assert b"correct username and password" in response.content
    response = _login(client, "outsider", password, addr="198.51.100.99")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed attempts" in html and "wait 2 minutes" in html
    assert "_auth_user_id" not in client.session
    # Someone else, from elsewhere, is not affected.
    assert _login(Client(), "admin", password, addr="203.0.113.5").status_code in (200, 302)


def test_login_is_paused_after_failures_from_an_address(
    client, outsider, admin_user, password, throttle
):
    for name in ("alice", "bob", "carol"):
        _login(client, name, "wrong", addr="198.51.100.50")
    response = _login(client, "outsider", password, addr="198.51.100.50")
    assert response.status_code == 429
    assert _login(client, "outsider", password, addr="198.51.100.51").status_code == 302


def test_a_valid_login_does_not_reset_the_failures_counted_for_its_address(
    client, outsider, password, throttle
):
    addr = "198.51.100.70"
    _login(Client(), "alice", "wrong", addr=addr)
    _login(Client(), "bob", "wrong", addr=addr)
    assert _login(Client(), "outsider", password, addr=addr).status_code == 302
    _login(Client(), "carol", "wrong", addr=addr)
    assert _login(Client(), "dave", "guess", addr=addr).status_code == 429


def test_login_pause_ends_after_the_lockout(client, outsider, password, throttle):
    throttle.LOGIN_LOCKOUT_SECONDS = 1
    for _ in range(3):
        _login(client, "outsider", "wrong")
    assert _login(client, "outsider", password).status_code == 429
    time.sleep(1.2)
    assert _login(client, "outsider", password).status_code == 302


def test_login_redirects_only_to_this_site(client, outsider, password, throttle):
    response = client.post(
        reverse("login"),
        {"username": "outsider", "password": password, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("home")
    client.logout()
    response = client.post(
        reverse("login"), {"username": "outsider", "password": password, "next": "/audit/"}
    )
    assert response["Location"] == "/audit/"


def _assert_csp(response, where):
    policy = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in policy and "script-src 'self'" in policy, where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    assert "object-src 'none'" in policy


def test_every_page_sends_a_strict_content_security_policy(client, admin_user, make_endpoint):
    endpoint = make_endpoint(closed_port_url())
    _assert_csp(client.get(reverse("login")), "login")
    _assert_csp(client.get(reverse("home")), "redirect to login")
    client.force_login(admin_user)
    for url in [
        reverse("home"),
        reverse("audit"),
        reverse("endpoint_add"),
        reverse("endpoint_detail", args=[endpoint.code]),
        reverse("endpoint_edit", args=[endpoint.code]),
        reverse("buckets:list", args=[endpoint.code]),
        "/no/such/page/",
    ]:
        _assert_csp(client.get(url), url)


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<style", re.I), "<style> element"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"\shx-on", re.I), "hx-on attribute"),
    (re.compile(r"hx-trigger=\"[^\"]*\[", re.I), "hx-trigger filter (needs eval)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_templates_have_no_inline_script_or_style():
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")) + sorted(
        ROOT.glob("*/templates/**/*.html")
    ):
        text = path.read_text()
        for pattern, what in INLINE:
            if pattern.search(text):
                problems.append(f"{path.relative_to(ROOT)}: {what}")
    assert not problems, problems


def test_changes_need_the_csrf_token(admin_user, make_endpoint):
    endpoint = make_endpoint(closed_port_url(), name="Guarded")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = reverse("endpoint_delete", args=[endpoint.code])
    response = client.post(url, {"confirm_name": "Guarded"})
    assert response.status_code == 403
    # A page carries the token: in forms, and in the header htmx sends.
    page = client.get(reverse("endpoint_detail", args=[endpoint.code])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", page)
    response = client.post(url, {"confirm_name": "Guarded"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    from console.models import Endpoint

    assert not Endpoint.objects.filter(name="Guarded").exists()


def test_login_form_needs_the_csrf_token(outsider, password):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "outsider", "password": password})
    assert response.status_code == 403


@pytest.mark.parametrize("name", ["home", "audit", "audit_csv", "endpoint_add"])
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_login_and_health_check_are_public(client):
    assert client.get(reverse("login")).status_code == 200
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.content == b"ok"


def test_deploy_check_is_clean_under_production_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DEBUG", "SECURE_", "DJANGO_"))
    }
    env.update(
        CONSOLE_ENV="production",
        SECRET_KEY="x" * 20 + Fernet.generate_key().decode() + "y" * 20,
        ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="console.example.org",
        CONSOLE_VAR_DIR=str(tmp_path),
        STATIC_ROOT=str(tmp_path / "static"),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ENCRYPTION_KEYS")}
    env.update(CONSOLE_ENV="production", CONSOLE_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_unreachable_endpoint_shows_the_error_in_words_not_a_500(
    client, outsider, make_endpoint, settings
):
    from console.models import Grant

    endpoint = make_endpoint(closed_port_url())
    Grant.objects.create(endpoint=endpoint, user=outsider, level=10)
    client.force_login(outsider)
    response = client.get(reverse("buckets:list", args=[endpoint.code]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "refused the connection" in html and "ConnectionRefused" in html


def test_uncaught_s3_failure_becomes_a_page_in_words():
    # The safety net under every view: a view that lets an S3Error escape.
    request = RequestFactory().get("/somewhere/")
    request.htmx = False
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    middleware = S3ErrorPageMiddleware(lambda r: None)
    error = s3.S3Error("SlowDown", status=503, request_id="RID-9")
    response = middleware.process_exception(request, error)
    assert response.status_code == 502
    html = response.content.decode()
    assert "slow down" in html and "SlowDown" in html and "RID-9" in html
    missing = middleware.process_exception(request, s3.S3Error("NoSuchBucket", status=404))
    assert missing.status_code == 404
    assert middleware.process_exception(request, ValueError("not ours")) is None
