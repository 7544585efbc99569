"""Filling a bucket quickly, and starting and following bulk jobs as a person does."""

from __future__ import annotations

import http.client
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

from django.urls import resolve, reverse

from console.models import Job
from console.tests.workers import wait_for


def put_many(target, bucket: str, keys, body: bytes | Callable[[str], bytes] = b"x") -> None:
    """PUT every key, one request each, several at once, on plain HTTP connections
    signed here: boto3's own work per request would take most of the time of
    filling a bucket with thousands of objects."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials(target.access_key, target.secret_key)
    address = urlsplit(target.url)
    opener = (
        http.client.HTTPSConnection if address.scheme == "https" else http.client.HTTPConnection
    )
    local = threading.local()
    connections = []

    def put(key: str) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = opener(address.netloc, timeout=60)
            connections.append(conn)
        path = f"{address.path.rstrip('/')}/{bucket}/{quote(key, safe='/~')}"
        data = body(key) if callable(body) else body
        request = AWSRequest("PUT", f"{address.scheme}://{address.netloc}{path}", data=data)
        S3SigV4Auth(credentials, "s3", target.region).add_auth(request)
        conn.request("PUT", path, body=data, headers=dict(request.headers))
        answer = conn.getresponse()
        text = answer.read()
        assert answer.status == 200, (key, answer.status, text[:300])

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, keys))
    finally:
        for conn in connections:
            conn.close()


def delete_markers(raw, bucket: str, keys: list[str]) -> None:
    """A delete marker over each key (DeleteObjects without versions, 1 000 a request)."""
    for start in range(0, len(keys), 1000):
        objects = [{"Key": k} for k in keys[start : start + 1000]]
        answer = raw.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        assert not answer.get("Errors"), answer["Errors"][:3]


def keys_in(raw, bucket: str, prefix: str = "") -> list[str]:
    pages = raw.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def versions_in(raw, bucket: str, prefix: str = "") -> list[tuple[str, str, bool]]:
    """(key, version id, is a delete marker) of every version under `prefix`."""
    pages = raw.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    found = []
    for page in pages:
        found += [(v["Key"], v["VersionId"], False) for v in page.get("Versions", [])]
        found += [(m["Key"], m["VersionId"], True) for m in page.get("DeleteMarkers", [])]
    return found


def uploads_in(raw, bucket: str) -> list[tuple[str, str]]:
    pages = raw.get_paginator("list_multipart_uploads").paginate(Bucket=bucket)
    return [(u["Key"], u["UploadId"]) for page in pages for u in page.get("Uploads", [])]


def delete_url(endpoint, bucket: str) -> str:
    return reverse("objects:bulk_delete", args=[endpoint.code, bucket])


def counted_token(response) -> str:
    """The signed dry-run figures the review put in its form."""
    found = re.search(r'name="counted" value="([^"]*)"', response.content.decode())
    assert found, "the review has no counted field"
    return found.group(1)


def review(client, endpoint, bucket: str, **data):
    """The review a person sees first (the browser posts its selection)."""
    response = client.post(delete_url(endpoint, bucket), data)
    assert response.status_code == 200, response.content[:2000]
    return response


def start_delete(client, endpoint, bucket: str, confirm: str | None = None, **data) -> Job:
    """Start a delete as a person does: from the review's form, with the dry run's
    signed figures; or, for a job that asks for the bucket's name anyway (the
    whole bucket, or more than the review counts while it waits), typing it."""
    if confirm is None:
        data["counted"] = counted_token(review(client, endpoint, bucket, **data))
    else:
        data["confirm_name"] = confirm
    response = client.post(delete_url(endpoint, bucket), {**data, "start": "on"})
    assert response.status_code == 302, response.content[:2000]
    return Job.objects.get(code=resolve(response.url).kwargs["code"])


def finished(job: Job, timeout: float = 120) -> Job:
    def check():
        job.refresh_from_db()
        return job.finished and job

    return wait_for(check, timeout=timeout, what=f"the {job.kind} job to finish")
