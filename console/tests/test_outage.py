"""A service the console needs is away: answers in words, never a bare 500.

The cache here is a real Redis client pointed at a port where nothing listens,
so its errors are the ones a stopped Redis gives. A database outage cannot be
made inside a test's own transaction: `handler500` is called with the error a
lost connection raises (a real outage is in objects/tests/test_service_faults.py).
"""

from __future__ import annotations

import json
import sys

import pytest
from django.core.cache import caches
from django.db import OperationalError
from django.test import RequestFactory
from django.urls import reverse

from console import outage


@pytest.fixture
def redis_away(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    caches._settings = None  # noqa: SLF001 - the handler re-reads CACHES
    yield
    caches._settings = None  # noqa: SLF001


def _handle(path: str, exc: BaseException, **headers):
    request = RequestFactory().get(path, **headers)
    try:
        raise exc
    except BaseException:  # noqa: BLE001 - handler500 reads sys.exc_info()
        assert sys.exc_info()[1] is exc
        return outage.server_error(request)


def test_a_database_outage_is_a_503_page_in_words_with_retry_after():
    response = _handle("/e/x/", OperationalError("connection refused"))
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert b"database is not answering" in response.content
    assert b"Server Error" not in response.content


def test_the_chunk_api_gets_json_a_browser_retries_on():
    response = _handle("/e/x/b/y/uploads/abc/chunks/3", OperationalError("gone"))
    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert json.loads(response.content)["retry"] is True


def test_htmx_gets_a_fragment_for_its_target():
    response = _handle("/jobs/notice/", OperationalError("gone"), HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert response.content.startswith(b'<p class="message error"')


def test_a_bug_stays_a_plain_500():
    response = _handle("/e/x/", ValueError("a bug"))
    assert response.status_code == 500


def test_login_works_while_the_cache_is_away(redis_away, client, outsider, password):
    response = client.post(reverse("login"), {"username": "outsider", "password": password})
    assert response.status_code == 302
    # A wrong password is still refused in words, not with a 500.
    client.logout()
    response = client.post(reverse("login"), {"username": "outsider", "password": "wrong"})
    assert response.status_code == 200 and b"correct username and password" in response.content


def test_health_check_names_the_service_that_is_down(redis_away, client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 503 and response["Retry-After"] == "10"
    text = response.content.decode()
    assert "database: ok" in text and "cache: down" in text
