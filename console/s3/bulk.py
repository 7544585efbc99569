"""Work on many objects at once: flat listings of a prefix and DeleteObjects.

A bulk job walks a prefix page by page with these, 1 000 keys a request, and
deletes what it listed 1 000 keys a request: the cost of a job is its number of
pages, whatever the bucket holds beside them.
"""

from __future__ import annotations

from console.s3.clients import client_for
from console.s3.errors import request_id_of, s3_errors

# DeleteObjects takes at most this many keys a request.
DELETE_BATCH = 1000
# Per-key answers of DeleteObjects that mean the key (or version) is already gone.
ALREADY_GONE = {"NoSuchKey", "NoSuchVersion"}


def list_keys(endpoint, bucket: str, *, prefix: str = "", start_after: str = "", max_keys=1000):
    """One page of every key under `prefix` (no delimiter), after `start_after`.

    StartAfter, not a continuation token: it names a position in key order that
    stays valid when the keys before it are deleted meanwhile, so a job keeps it
    as its cursor."""
    params = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
    if start_after:
        params["StartAfter"] = start_after
    with s3_errors():
        response = client_for(endpoint).list_objects_v2(**params)
    return {"objects": response.get("Contents", []), "more": bool(response.get("IsTruncated"))}


def delete_objects(endpoint, bucket: str, items: list[dict]) -> list[dict]:
    """DeleteObjects in Quiet mode; `items` are {"Key", "VersionId"?} (at most 1 000).

    Returns the per-key errors ({"Key", "VersionId", "Code", "Message",
    "RequestId"}); every item not among them was deleted. A key or version that
    was already gone counts as deleted."""
    objects = [
        {"Key": i["Key"], "VersionId": i["VersionId"]} if i.get("VersionId") else {"Key": i["Key"]}
        for i in items
    ]
    with s3_errors():
        response = client_for(endpoint).delete_objects(
            Bucket=bucket, Delete={"Objects": objects, "Quiet": True}
        )
    request_id = request_id_of(response)
    return [
        {**error, "RequestId": request_id}
        for error in response.get("Errors", [])
        if error.get("Code") not in ALREADY_GONE
    ]
