"""Multipart uploads, and the worker's side of a browser upload.

Listing and aborting the incomplete uploads a bucket holds, and what a worker
sends: create, one part at a time, complete, or a small file in one PutObject.
Every request that carries data sends its Content-MD5, so the bucket refuses
damaged bytes.
"""

from __future__ import annotations

from console.s3.clients import client_for
from console.s3.errors import S3Error, s3_errors


def list_multipart(
    endpoint, bucket: str, *, prefix="", key_marker="", upload_marker="", max_uploads=1000
):
    params = {"Bucket": bucket, "MaxUploads": max_uploads}
    if prefix:
        params["Prefix"] = prefix
    if key_marker:
        params["KeyMarker"] = key_marker
        if upload_marker:
            params["UploadIdMarker"] = upload_marker
    with s3_errors():
        response = client_for(endpoint).list_multipart_uploads(**params)
    truncated = response.get("IsTruncated", False)
    return {
        "uploads": response.get("Uploads", []),
        "next_key": response.get("NextKeyMarker", "") if truncated else "",
        "next_upload": response.get("NextUploadIdMarker", "") if truncated else "",
    }


def list_parts(endpoint, bucket: str, key: str, upload_id: str, part_marker: int = 0) -> dict:
    params = {"Bucket": bucket, "Key": key, "UploadId": upload_id, "MaxParts": 1000}
    if part_marker:
        params["PartNumberMarker"] = part_marker
    with s3_errors():
        response = client_for(endpoint).list_parts(**params)
    parts = response.get("Parts", [])
    next_part = 0
    if response.get("IsTruncated"):
        # Some servers leave the marker out; the last part listed is where to go on.
        next_part = int(response.get("NextPartNumberMarker") or parts[-1]["PartNumber"])
    return {"parts": parts, "next_part": next_part}


def abort_multipart(
    endpoint, bucket: str, key: str, upload_id: str, *, missing_ok: bool = False
) -> dict:
    """AbortMultipartUpload; with `missing_ok`, an upload already gone counts as aborted.

    A person aborting uploads from the list is told when one was already gone (it
    was completed or aborted meanwhile); a worker cleaning up after a cancel only
    needs it gone, whoever got there first. An upload already gone answers {}.
    """
    try:
        with s3_errors():
            return client_for(endpoint).abort_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id
            )
    except S3Error as err:
        if missing_ok and err.code in ("NoSuchUpload", "404"):
            return {}
        raise


# The worker's side of a browser upload.


def _upload_args(options: dict) -> dict:
    """CreateMultipartUpload / PutObject arguments from an upload's chosen options."""
    from urllib.parse import urlencode

    args = {}
    names = {
        "content_type": "ContentType",
        "storage_class": "StorageClass",
        "acl": "ACL",
        "cache_control": "CacheControl",
        "content_disposition": "ContentDisposition",
    }
    for option, arg in names.items():
        if options.get(option):
            args[arg] = options[option]
    if options.get("metadata"):
        args["Metadata"] = dict(options["metadata"])
    if options.get("tags"):
        args["Tagging"] = urlencode(options["tags"])
    return args


def create_multipart_upload(endpoint, bucket: str, key: str, options: dict) -> str:
    with s3_errors():
        response = client_for(endpoint).create_multipart_upload(
            Bucket=bucket, Key=key, **_upload_args(options)
        )
    return response["UploadId"]


def upload_part(endpoint, bucket, key, upload_id, number: int, path, md5_b64: str) -> str:
    """Send one staged chunk as part `number`; returns its ETag."""
    with s3_errors(), open(path, "rb") as body:
        response = client_for(endpoint, transfer=True).upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ContentMD5=md5_b64,
        )
    return response["ETag"]


def _all_parts(endpoint, bucket: str, key: str, upload_id: str):
    """Every part stored so far, page after page of ListParts."""
    marker = 0
    while True:
        page = list_parts(endpoint, bucket, key, upload_id, marker)
        yield from page["parts"]
        marker = page["next_part"]
        if not marker:
            return


def stored_parts(endpoint, bucket: str, key: str, upload_id: str) -> dict[int, str]:
    """Every part stored so far, number -> ETag (a worker's resume; never in a request)."""
    return {
        part["PartNumber"]: part["ETag"] for part in _all_parts(endpoint, bucket, key, upload_id)
    }


def stored_part_bytes(endpoint, bucket: str, key: str, upload_id: str) -> int:
    """The bytes an incomplete upload's stored parts hold (what it costs meanwhile)."""
    return sum(int(part.get("Size", 0)) for part in _all_parts(endpoint, bucket, key, upload_id))


def complete_multipart_upload(endpoint, bucket, key, upload_id, parts: dict[int, str]) -> str:
    """The object's ETag, as the answer gives it."""
    ordered = [{"PartNumber": n, "ETag": parts[n]} for n in sorted(parts)]
    with s3_errors():
        answer = client_for(endpoint).complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": ordered}
        )
    return answer.get("ETag", "")


def put_object_file(endpoint, bucket, key, path, md5_b64: str, options: dict) -> None:
    """A small file in one PutObject."""
    with s3_errors(), open(path, "rb") as body:
        client_for(endpoint, transfer=True).put_object(
            Bucket=bucket, Key=key, Body=body, ContentMD5=md5_b64, **_upload_args(options)
        )
