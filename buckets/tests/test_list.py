from __future__ import annotations

import pytest

pytestmark = pytest.mark.s3


def test_list_shows_creation_date_and_links_to_browser_and_settings(
    client_as, manager, endpoint, bucket
):
    response = client_as(manager).get(f"/e/{endpoint.code}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"/e/{endpoint.code}/b/{bucket}/" in body
    assert f"/e/{endpoint.code}/b/{bucket}/settings/" in body
    assert f"/e/{endpoint.code}/b/{bucket}/delete/" in body
    assert "New bucket" in body
    # A creation date in the table, as YYYY-MM-DD.
    assert "<td>20" in body


def test_viewer_sees_no_create_or_delete(client_as, viewer, endpoint, bucket):
    body = client_as(viewer).get(f"/e/{endpoint.code}/").content.decode()
    assert bucket in body
    assert "New bucket" not in body
    assert f"/b/{bucket}/delete/" not in body


def test_filter_by_name(client_as, viewer, endpoint, s3_target):
    keep, drop = s3_target.make_bucket("alpha"), s3_target.make_bucket("beta")
    response = client_as(viewer).get(f"/e/{endpoint.code}/", {"q": "ALPHA"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert keep in body and drop not in body
    assert "<html" not in body  # the fragment only


def test_list_of_300_buckets_costs_one_request(client_as, viewer, endpoint, s3_target, s3_calls):
    if not s3_target.is_moto:
        pytest.skip("creating 300 buckets is only done on the throw-away moto server")
    raw = s3_target.client()
    names = [s3_target.bucket_name(f"many{i}") for i in range(300)]
    for name in names:
        raw.create_bucket(Bucket=name)
    response = client_as(viewer).get(f"/e/{endpoint.code}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert all(name in body for name in names)
    assert s3_calls == ["ListBuckets"]
