"""Share links and the presigned POST builder."""

from __future__ import annotations

import html
import re
import urllib.request
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from console.models import AuditEntry

pytestmark = pytest.mark.s3


def _url(name, endpoint, bucket):
    return reverse(f"objects:{name}", args=[endpoint.code, bucket])


def test_viewer_makes_a_download_link_that_works(s3_target, bucket, endpoint, viewer, client_as):
    s3_target.client().put_object(Bucket=bucket, Key="s/a b.txt", Body=b"shared")
    response = client_as(viewer).post(
        _url("share", endpoint, bucket), {"key": "s/a b.txt", "method": "GET", "expires": 120}
    )
    assert response.status_code == 200
    link = response.context["link"]
    assert "X-Amz-Expires=120" in link
    with urllib.request.urlopen(link, timeout=10) as answer:
        assert answer.read() == b"shared"
    assert AuditEntry.objects.filter(action="object.share", key="s/a b.txt").exists()


def test_expiry_defaults_to_one_hour_and_is_at_most_seven_days(bucket, endpoint, viewer, client_as):
    client = client_as(viewer)
    page = client.get(_url("share", endpoint, bucket), {"key": "k"})
    assert page.context["form"]["expires"].value() == 3600
    too_long = client.post(
        _url("share", endpoint, bucket), {"key": "k", "method": "GET", "expires": 604801}
    )
    assert too_long.status_code == 400
    assert "link" not in too_long.context


def test_viewer_cannot_make_an_upload_link(bucket, endpoint, viewer, client_as):
    response = client_as(viewer).post(
        _url("share", endpoint, bucket), {"key": "k", "method": "PUT", "expires": 60}
    )
    assert response.status_code == 400
    assert "link" not in response.context


def test_operator_upload_link_accepts_a_put(s3_target, bucket, endpoint, operator, client_as):
    response = client_as(operator).post(
        _url("share", endpoint, bucket), {"key": "up/new.txt", "method": "PUT", "expires": 60}
    )
    link = response.context["link"]
    answer = requests.put(link, data=b"uploaded", timeout=10)
    assert answer.status_code == 200
    assert (
        s3_target.client().get_object(Bucket=bucket, Key="up/new.txt")["Body"].read() == b"uploaded"
    )


def test_post_policy_builder_gives_url_fields_form_and_curl(
    s3_target, bucket, endpoint, operator, client_as
):
    response = client_as(operator).post(
        _url("share_post", endpoint, bucket),
        {
            "prefix": "drop/",
            "min_size": 1,
            "max_size": 100,
            "content_type": "text/plain",
            "expires": 600,
        },
    )
    assert response.status_code == 200
    policy = response.context["policy"]
    page = response.content.decode()
    assert "&lt;form action=" in page  # the HTML form is text to copy, escaped
    assert "curl -F" in response.context["curl"]
    fields = dict(policy["fields"])
    fields["key"] = "drop/hello.txt"
    answer = requests.post(
        policy["url"], data=fields, files={"file": ("hello.txt", b"hi there")}, timeout=10
    )
    assert answer.status_code in (200, 201, 204), answer.text
    assert s3_target.client().get_object(Bucket=bucket, Key="drop/hello.txt")["Body"].read() == (
        b"hi there"
    )
    assert re.search(
        r'name="key" value="drop/\$\{filename\}"', html.unescape(response.context["html_form"])
    )


def test_post_policy_needs_a_key_or_a_prefix(bucket, endpoint, operator, client_as):
    response = client_as(operator).post(_url("share_post", endpoint, bucket), {"expires": 60})
    assert response.status_code == 400
    assert "policy" not in response.context


def test_share_page_warns_that_links_carry_the_session_token(bucket, endpoint, viewer, client_as):
    client = client_as(viewer)
    page = client.get(_url("share", endpoint, bucket), {"key": "k"}).content.decode()
    assert "temporary session token" not in page
    endpoint.set_session_token("temporary-token-value")
    endpoint.session_expires_at = timezone.now() + timedelta(days=2)
    endpoint.save()
    page = client.get(_url("share", endpoint, bucket), {"key": "k"}).content.decode()
    assert "carries the endpoint's temporary session token" in page
    response = client.post(
        _url("share", endpoint, bucket), {"key": "k", "method": "GET", "expires": 60}
    )
    assert "X-Amz-Security-Token=temporary-token-value" in response.context["link"]
    assert "carries the endpoint's temporary session token" in response.content.decode()


def test_share_links_turned_off_make_no_link_or_form(bucket, endpoint, operator, client_as):
    endpoint.share_links = False
    endpoint.save()
    client = client_as(operator)
    page = client.get(_url("share", endpoint, bucket), {"key": "k"}).content.decode()
    assert "Share links are turned off for this endpoint" in page
    assert "Create link" not in page and "presigned POST" not in page
    for method in ("GET", "PUT"):
        response = client.post(
            _url("share", endpoint, bucket), {"key": "k", "method": method, "expires": 60}
        )
        assert response.status_code == 403
        assert "link" not in response.context
        assert "X-Amz-Signature" not in response.content.decode()
    response = client.post(_url("share_post", endpoint, bucket), {"key": "k", "expires": 60})
    assert response.status_code == 403
    assert "policy" not in response.context
    assert "Share links are turned off for this endpoint" in response.content.decode()
    assert not AuditEntry.objects.filter(action__startswith="object.share").exists()


def test_download_streams_through_the_console_when_share_links_are_off(
    s3_target, bucket, endpoint, viewer, client_as
):
    endpoint.share_links = False
    endpoint.save()
    s3_target.client().put_object(Bucket=bucket, Key="d/a.txt", Body=b"streamed")
    response = client_as(viewer).get(_url("download", endpoint, bucket), {"key": "d/a.txt"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"streamed"
    assert response["Content-Disposition"] == 'attachment; filename="a.txt"'


def test_share_page_warns_that_a_link_to_a_dot_segment_key_breaks_in_browsers(
    s3_target, bucket, endpoint, viewer, client_as
):
    url = reverse("objects:share", args=[endpoint.code, bucket])
    client = client_as(viewer)
    dotted = client.get(url, {"key": "a/../b.txt"}).content.decode()
    assert "curl --path-as-is" in dotted
    plain = client.get(url, {"key": "a/b.txt"}).content.decode()
    assert "curl --path-as-is" not in plain
