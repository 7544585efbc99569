"""The review of a bulk delete: what its count lets start without the bucket's name."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from console.models import Job

pytestmark = pytest.mark.s3


@pytest.fixture
def no_worker(monkeypatch):
    """A job started here is never sent to a queue a worker might take it from."""
    from console.celery import app

    monkeypatch.setattr(app, "send_task", lambda name, **kw: None)


def test_a_count_lets_start_without_the_name_only_the_plan_it_counted(
    s3_target, bucket, endpoint, operator, client_as, no_worker
):
    raw = s3_target.client()
    raw.put_object(Bucket=bucket, Key="small/a", Body=b"a")
    raw.put_object(Bucket=bucket, Key="other/b", Body=b"b")
    client = client_as(operator)
    url = reverse("objects:bulk_delete", args=[endpoint.code, bucket])
    review = client.post(url, {"key": ["small/a"]}, HTTP_HX_REQUEST="true")
    assert review.status_code == 200 and 'name="confirm_name"' not in review.text
    token = re.search(r'name="counted" value="([^"]+)"', review.text).group(1)

    # The same token with another selection, or with every version where the
    # count was of current ones (a choice changed before its count came back):
    # nothing was counted for that, so the name is asked for and nothing starts.
    for other in ({"prefix": ["other/"]}, {"key": ["small/a"], "versions": "all"}):
        refused = client.post(
            url, {**other, "start": "on", "counted": token}, HTTP_HX_REQUEST="true"
        )
        assert refused.status_code == 400, other
        assert "Type the bucket name exactly to confirm." in refused.text
    # Nor in another bucket holding the same key.
    elsewhere = s3_target.make_bucket()
    refused = client.post(
        reverse("objects:bulk_delete", args=[endpoint.code, elsewhere]),
        {"key": ["small/a"], "start": "on", "counted": token},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 400
    assert not Job.objects.exists()

    started = client.post(
        url, {"key": ["small/a"], "start": "on", "counted": token}, HTTP_HX_REQUEST="true"
    )
    assert started.status_code == 200 and "job-card" in started.text
    assert Job.objects.get().kind == Job.Kind.DELETE
