"""Objects: browsing, versions and single-object operations.

Each function makes one request (or one small read-modify-write), so a view
that calls one of them costs one round trip whatever the bucket size. Presigned
URLs are made here too: signing is local, but it needs the endpoint's client.
"""

from __future__ import annotations

from console.s3.clients import client_for
from console.s3.errors import request_id_of, s3_errors

COPY_LIMIT = 5 * 1024**3  # CopyObject refuses sources above 5 GiB


def list_folder(
    endpoint,
    bucket: str,
    *,
    prefix: str = "",
    token: str = "",
    max_keys: int = 200,
    with_restore: bool = False,
) -> dict:
    """One page of one "folder": ListObjectsV2 with Delimiter "/"."""
    params = {"Bucket": bucket, "Delimiter": "/", "Prefix": prefix, "MaxKeys": max_keys}
    if token:
        params["ContinuationToken"] = token
    if with_restore:
        # Only AWS documents this header; other services may reject it.
        params["OptionalObjectAttributes"] = ["RestoreStatus"]
    with s3_errors():
        response = client_for(endpoint).list_objects_v2(**params)
    return {
        "folders": [p["Prefix"] for p in response.get("CommonPrefixes", [])],
        "objects": response.get("Contents", []),
        "next_token": response.get("NextContinuationToken", "")
        if response.get("IsTruncated")
        else "",
        "request_id": request_id_of(response),
    }


def head_object(endpoint, bucket: str, key: str, version_id: str = "") -> dict:
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    with s3_errors():
        return client_for(endpoint).head_object(**params)


def restore_object(
    endpoint, bucket: str, key: str, days: int, tier: str = "", version_id: str = ""
) -> int:
    """RestoreObject: a temporary readable copy of an archived object, kept `days` days.

    Returns the HTTP status: 202 when a restore started, 200 when a restored copy
    was already there (its expiry moves to `days` from now). Without a `tier` the
    provider's default tier is used. Everything goes through boto3, which sends
    the tier as GlacierJobParameters, the S3 name of the container.
    """
    request: dict = {"Days": days}
    if tier:
        request["GlacierJobParameters"] = {"Tier": tier}
    params = {"Bucket": bucket, "Key": key, "RestoreRequest": request}
    if version_id:
        params["VersionId"] = version_id
    with s3_errors():
        response = client_for(endpoint).restore_object(**params)
    return (response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 200)


def get_object_tags(endpoint, bucket: str, key: str, version_id: str = "") -> list[dict]:
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    with s3_errors():
        return client_for(endpoint).get_object_tagging(**params).get("TagSet", [])


def put_object_tags(endpoint, bucket: str, key: str, tags: list[tuple[str, str]]) -> dict:
    with s3_errors():
        client = client_for(endpoint)
        if not tags:
            return client.delete_object_tagging(Bucket=bucket, Key=key)
        tag_set = [{"Key": k, "Value": v} for k, v in tags]
        return client.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})


def get_object_acl(endpoint, bucket: str, key: str) -> dict:
    with s3_errors():
        return client_for(endpoint).get_object_acl(Bucket=bucket, Key=key)


def put_object_acl(endpoint, bucket: str, key: str, *, canned: str = "", grants=None) -> dict:
    """A canned ACL, or the grants given on top of the current owner (read-modify-write)."""
    with s3_errors():
        client = client_for(endpoint)
        if canned:
            return client.put_object_acl(Bucket=bucket, Key=key, ACL=canned)
        current = client.get_object_acl(Bucket=bucket, Key=key)
        policy = {"Owner": current["Owner"], "Grants": grants or []}
        return client.put_object_acl(Bucket=bucket, Key=key, AccessControlPolicy=policy)


def presign_get(
    endpoint,
    bucket: str,
    key: str,
    *,
    expires: int = 3600,
    disposition: str = "",
    version_id: str = "",
) -> str:
    params = {"Bucket": bucket, "Key": key}
    if disposition:
        params["ResponseContentDisposition"] = disposition
    if version_id:
        params["VersionId"] = version_id
    with s3_errors():
        return client_for(endpoint).generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires
        )


def presign_put(endpoint, bucket: str, key: str, *, expires: int = 3600) -> str:
    with s3_errors():
        return client_for(endpoint).generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )


def presign_post(
    endpoint,
    bucket: str,
    *,
    key: str = "",
    prefix: str = "",
    min_size: int = 0,
    max_size: int | None = None,
    content_type: str = "",
    expires: int = 3600,
) -> dict:
    """A browser POST policy: an exact key, or any key under `prefix` (starts-with)."""
    fields: dict = {}
    conditions: list = []
    if prefix:
        target = prefix + "${filename}"
        conditions.append(["starts-with", "$key", prefix])
    else:
        target = key
    if max_size is not None:
        conditions.append(["content-length-range", min_size, max_size])
    if content_type:
        fields["Content-Type"] = content_type
        conditions.append({"Content-Type": content_type})
    with s3_errors():
        return client_for(endpoint).generate_presigned_post(
            bucket, target, Fields=fields, Conditions=conditions, ExpiresIn=expires
        )


def get_object_stream(endpoint, bucket: str, key: str, *, range_header="", version_id=""):
    """GetObject; the caller reads `Body` in chunks and closes it."""
    params = {"Bucket": bucket, "Key": key}
    if range_header:
        params["Range"] = range_header
    if version_id:
        params["VersionId"] = version_id
    with s3_errors():
        return client_for(endpoint).get_object(**params)


def put_empty(endpoint, bucket: str, key: str) -> dict:
    """A zero-byte object, as a folder placeholder `name/`."""
    with s3_errors():
        return client_for(endpoint).put_object(Bucket=bucket, Key=key, Body=b"")


def delete_object(endpoint, bucket: str, key: str, version_id: str = "") -> dict:
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    with s3_errors():
        return client_for(endpoint).delete_object(**params)


def copy_object(
    endpoint,
    src_bucket: str,
    src_key: str,
    dst_bucket: str,
    dst_key: str,
    *,
    version_id: str = "",
    replace: dict | None = None,
    storage_class: str = "",
) -> dict:
    """CopyObject; `replace` holds the full new metadata and content headers."""
    source = {"Bucket": src_bucket, "Key": src_key}
    if version_id:
        source["VersionId"] = version_id
    params = {"Bucket": dst_bucket, "Key": dst_key, "CopySource": source}
    if replace is not None:
        params["MetadataDirective"] = "REPLACE"
        params.update({k: v for k, v in replace.items() if v not in ("", None)})
    if storage_class:
        params["StorageClass"] = storage_class
    with s3_errors():
        return client_for(endpoint).copy_object(**params)


def list_versions(
    endpoint, bucket: str, *, prefix="", key_marker="", version_marker="", max_keys=200
) -> dict:
    params = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
    if key_marker:
        params["KeyMarker"] = key_marker
        if version_marker:
            params["VersionIdMarker"] = version_marker
    with s3_errors():
        response = client_for(endpoint).list_object_versions(**params)
    truncated = response.get("IsTruncated", False)
    return {
        "versions": response.get("Versions", []),
        "markers": response.get("DeleteMarkers", []),
        "next_key": response.get("NextKeyMarker", "") if truncated else "",
        "next_version": response.get("NextVersionIdMarker", "") if truncated else "",
    }
