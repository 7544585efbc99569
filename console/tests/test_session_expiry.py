"""Temporary credentials: every page of the endpoint warns before and after they expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.s3

PASTE = "An administrator must paste new ones"


def _pages(endpoint, bucket):
    return {
        "bucket list": reverse("buckets:list", args=[endpoint.code]),
        "browse": reverse("objects:browse", args=[endpoint.code, bucket]),
        "object detail": reverse("objects:detail", args=[endpoint.code, bucket]) + "?key=a.txt",
        "bucket settings": reverse("buckets:settings", args=[endpoint.code, bucket]),
    }


def _expire(endpoint, delta):
    # moto ignores session tokens, so the pages still load; only the stored expiry
    # time decides what they say.
    endpoint.set_session_token("temporary-token")
    endpoint.session_expires_at = timezone.now() + delta
    endpoint.save()


def test_every_page_of_the_endpoint_says_its_credentials_expired(
    s3_target, bucket, endpoint, viewer, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    _expire(endpoint, -timedelta(minutes=5))
    client = client_as(viewer)
    for name, url in _pages(endpoint, bucket).items():
        page = client.get(url).content.decode()
        assert page.count("session-warning") == 1, name
        assert "temporary credentials of endpoint Test S3 expired at" in page, name
        assert PASTE in page and "on the endpoint page" in page, name
        # A viewer cannot edit the endpoint, so is not sent to its form.
        assert reverse("endpoint_edit", args=[endpoint.code]) not in page, name


def test_every_page_warns_a_day_before_the_credentials_expire(
    s3_target, bucket, endpoint, admin_user, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    _expire(endpoint, timedelta(hours=20))
    client = client_as(admin_user)
    for name, url in _pages(endpoint, bucket).items():
        page = client.get(url).content.decode()
        assert "temporary credentials of endpoint Test S3 expire in" in page, name
        assert reverse("endpoint_edit", args=[endpoint.code]) in page, name


def test_no_warning_while_the_credentials_have_more_than_a_day(
    s3_target, bucket, endpoint, viewer, client_as
):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    _expire(endpoint, timedelta(hours=25))
    client = client_as(viewer)
    for name, url in _pages(endpoint, bucket).items():
        assert "session-warning" not in client.get(url).content.decode(), name
