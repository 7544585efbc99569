from __future__ import annotations

from console import s3


def test_viewer_sees_buckets_of_granted_endpoint(client_as, viewer, endpoint, bucket):
    response = client_as(viewer).get(f"/e/{endpoint.code}/")
    assert response.status_code == 200
    assert bucket in response.content.decode()


def test_check_connection_ok_against_live_server(endpoint, bucket):
    result = s3.check_connection(endpoint)
    assert result.ok, result.message
    assert result.code == "OK" and result.bucket_count >= 1
    assert f"{result.bucket_count} bucket" in result.message


def test_outsider_gets_404_for_granted_endpoint(client_as, outsider, endpoint):
    assert client_as(outsider).get(f"/e/{endpoint.code}/").status_code == 404


def test_list_buckets_error_is_words_not_500(client_as, viewer, endpoint):
    endpoint.endpoint_url = "http://127.0.0.1:9"
    endpoint.save()
    s3.forget(endpoint)
    response = client_as(viewer).get(f"/e/{endpoint.code}/")
    assert response.status_code == 200
    assert "ConnectionRefused" in response.content.decode()


def test_pages_name_the_bucket_favicon(client):
    from xml.etree import ElementTree

    from django.conf import settings
    from django.templatetags.static import static

    page = client.get("/login/").content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">' in page
    icon = ElementTree.parse(settings.BASE_DIR / "static" / "favicon.svg").getroot()
    assert icon.tag == "{http://www.w3.org/2000/svg}svg"
