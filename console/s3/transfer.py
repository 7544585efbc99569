"""Copying objects: within an endpoint (CopyObject, UploadPartCopy) and between
endpoints (ranged GETs sent on as parts). Every byte that travels through the
worker is a part in memory, never more: a copy job's memory is its parts in
flight times the part size, whatever the object's size.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext as _

from console.s3.clients import client_for
from console.s3.errors import S3Error, s3_errors

# What a copy carries from the source's HeadObject to the new object.
CONTENT_HEADERS = (
    "ContentType",
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
)


def object_args(head: dict, tags: list[dict], storage_class: str = "") -> dict:
    """PutObject / CreateMultipartUpload arguments that rebuild the source's headers,
    user metadata and tags (and the chosen storage class) on the copy."""
    args = {name: head[name] for name in CONTENT_HEADERS if head.get(name)}
    if head.get("Metadata"):
        args["Metadata"] = dict(head["Metadata"])
    if tags:
        args["Tagging"] = urlencode([(t["Key"], t["Value"]) for t in tags])
    if storage_class:
        args["StorageClass"] = storage_class
    return args


def copy_within(endpoint, src_bucket, src_key, dst_bucket, dst_key, storage_class="") -> dict:
    """CopyObject (up to 5 GiB): headers, metadata and tags come along as they are."""
    params = {
        "Bucket": dst_bucket,
        "Key": dst_key,
        "CopySource": {"Bucket": src_bucket, "Key": src_key},
        "MetadataDirective": "COPY",
        "TaggingDirective": "COPY",
    }
    if storage_class:
        params["StorageClass"] = storage_class
    with s3_errors():
        return client_for(endpoint).copy_object(**params)


def start_multipart(endpoint, bucket: str, key: str, args: dict) -> str:
    with s3_errors():
        return client_for(endpoint).create_multipart_upload(Bucket=bucket, Key=key, **args)[
            "UploadId"
        ]


def part_copy(
    endpoint, src_bucket, src_key, dst_bucket, dst_key, upload_id, number, first, last, etag=""
):
    """UploadPartCopy of bytes first..last (inclusive) of the source; the part's ETag.
    Given the ETag the copy started from, a changed source fails the part."""
    params = {
        "Bucket": dst_bucket,
        "Key": dst_key,
        "UploadId": upload_id,
        "PartNumber": number,
        "CopySource": {"Bucket": src_bucket, "Key": src_key},
        "CopySourceRange": f"bytes={first}-{last}",
    }
    if etag:
        params["CopySourceIfMatch"] = etag
    with s3_errors():
        response = client_for(endpoint).upload_part_copy(**params)
    return response["CopyPartResult"]["ETag"]


class RangeReader:
    """Bytes first..last (inclusive) of an object, read in order through one GET,
    as a copy sends them on part by part (a server answers one long read faster
    than many ranged ones). A connection that breaks is opened again where it
    broke, up to S3_MAX_ATTEMPTS times. Given the ETag the copy started from, a
    source that changes meanwhile fails the read (PreconditionFailed) instead of
    mixing two versions of the object."""

    def __init__(self, endpoint, bucket: str, key: str, first: int, last: int, etag: str = ""):
        self.endpoint, self.bucket, self.key, self.etag = endpoint, bucket, key, etag
        self.position, self.last = first, last
        self.body = None
        self.breaks = 0

    def _open(self) -> None:
        params = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Range": f"bytes={self.position}-{self.last}",
        }
        if self.etag:
            params["IfMatch"] = self.etag
        with s3_errors():
            self.body = client_for(self.endpoint).get_object(**params)["Body"]

    def read(self, size: int) -> bytes:
        """The next `size` bytes (fewer only at the end of the range)."""
        size = min(size, self.last - self.position + 1)
        buffer = b""
        while len(buffer) < size:
            try:
                if self.body is None:
                    self._open()
                with s3_errors():
                    data = self.body.read(size - len(buffer))
            except S3Error as err:
                self.close()
                self.breaks += 1
                if not err.retryable or self.breaks >= settings.S3_MAX_ATTEMPTS:
                    raise
                continue
            if not data:
                raise S3Error("IncompleteRead", _("The source sent fewer bytes than it holds."))
            # Most reads answer whole at once; joining is for the rest.
            buffer = buffer + data if buffer else data
            self.position += len(data)
        return buffer

    def close(self) -> None:
        if self.body is not None:
            self.body.close()
            self.body = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_all(endpoint, bucket: str, key: str) -> bytes:
    with s3_errors():
        response = client_for(endpoint).get_object(Bucket=bucket, Key=key)
        with response["Body"] as body:
            return body.read()


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def send_part(endpoint, bucket, key, upload_id, number: int, data: bytes) -> str:
    """One part from memory, with its Content-MD5; its ETag."""
    with s3_errors():
        response = client_for(endpoint, transfer=True).upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ContentMD5=_md5(data),
        )
    return response["ETag"]


def put_bytes(endpoint, bucket: str, key: str, data: bytes, args: dict) -> dict:
    """A small object in one PutObject, with its Content-MD5."""
    with s3_errors():
        return client_for(endpoint, transfer=True).put_object(
            Bucket=bucket, Key=key, Body=data, ContentMD5=_md5(data), **args
        )
