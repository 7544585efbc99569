"""The hostile-key corpus through the console."""

from __future__ import annotations

import urllib.request

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from objects.common import parent_prefix, survives_in_url
from objects.tests.hostile import KEYS, SCRIPT, body_for, renamed

pytestmark = pytest.mark.s3


def _no_markup(response):
    text = response.content.decode()
    assert SCRIPT not in text, "a key reached the page unescaped"
    return text


def _browse(client, endpoint, bucket, prefix):
    url = reverse("objects:browse", args=[endpoint.code, bucket])
    response = client.get(url, {"prefix": prefix, "size": 1000})
    assert response.status_code == 200
    _no_markup(response)
    return response


def _listed(client, endpoint, bucket, key) -> bool:
    # A key ending in "/" is a folder in its parent; its own object shows inside it.
    prefix = key if key.endswith("/") else parent_prefix(key)
    response = _browse(client, endpoint, bucket, prefix)
    return any(r["kind"] == "object" and r["key"] == key for r in response.context["rows"])


def _download(client, endpoint, bucket, key) -> bytes:
    url = reverse("objects:download", args=[endpoint.code, bucket])
    response = client.get(url, {"key": key})
    if not survives_in_url(key):
        # Browsers would resolve its dot segments in a presigned URL: streamed.
        assert response.status_code == 200, key
        return b"".join(response.streaming_content)
    assert response.status_code == 302
    assert "response-content-disposition" in response["Location"]
    with urllib.request.urlopen(response["Location"], timeout=10) as answer:
        return answer.read()


def test_every_hostile_key_round_trips_through_the_console(
    s3_target, bucket, endpoint, operator, client_as
):
    raw = s3_target.client()
    for key in KEYS:
        raw.put_object(Bucket=bucket, Key=key, Body=body_for(key))
    client = client_as(operator)

    # The parent folders render with every key escaped.
    for prefix in ("", "h/", "h/<script>alert(1)</"):
        _browse(client, endpoint, bucket, prefix)

    for key in KEYS:
        assert _listed(client, endpoint, bucket, key), f"not listed: {key!r}"

        detail = client.get(reverse("objects:detail", args=[endpoint.code, bucket]), {"key": key})
        assert detail.status_code == 200, key
        assert detail.context["key"] == key
        assert detail.context["head"]["ContentLength"] == len(body_for(key))
        _no_markup(detail)

        assert _download(client, endpoint, bucket, key) == body_for(key), key

        new_key = renamed(key)
        moved = client.post(
            reverse("objects:copy", args=[endpoint.code, bucket]),
            {"key": key, "target_bucket": bucket, "target_key": new_key, "move": "on"},
        )
        assert moved.status_code == 302, key
        assert raw.get_object(Bucket=bucket, Key=new_key)["Body"].read() == body_for(key)
        assert not _listed(client, endpoint, bucket, key), f"still there after rename: {key!r}"
        assert _listed(client, endpoint, bucket, new_key)

        deleted = client.post(
            reverse("objects:delete", args=[endpoint.code, bucket]), {"key": new_key}
        )
        assert deleted.status_code == 302
        assert not _listed(client, endpoint, bucket, new_key), f"not deleted: {new_key!r}"
        followed = client.get(deleted["Location"])
        _no_markup(followed)


def test_script_key_is_escaped_in_folder_names_links_and_messages(
    s3_target, bucket, endpoint, operator, client_as
):
    key = f"h/{SCRIPT}"
    s3_target.client().put_object(Bucket=bucket, Key=key, Body=b"x")
    client = client_as(operator)
    page = _browse(client, endpoint, bucket, "h/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/" in page
    inside = _browse(client, endpoint, bucket, "h/<script>alert(1)</")
    link = "?" + urlencode({"key": key})
    assert link.replace("&", "&amp;") in inside.content.decode() or link in inside.content.decode()
    response = client.post(
        reverse("objects:delete", args=[endpoint.code, bucket]),
        {"key": key},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    _no_markup(response)
    assert "&lt;script&gt;" in response.content.decode()
