"""Driving the upload API the way the browser's upload module does."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from django.urls import reverse

MiB = 1024 * 1024


def make_file(path: Path, size: int) -> Path:
    """A file of random bytes (so no compression or dedup can flatter a test)."""
    with open(path, "wb") as out:
        left = size
        while left:
            piece = min(left, 4 * MiB)
            out.write(os.urandom(piece))
            left -= piece
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for piece in iter(lambda: source.read(1024 * 1024), b""):
            digest.update(piece)
    return digest.hexdigest()


def sha256_object(client, bucket: str, key: str) -> str:
    """Digest of a full download of the stored object."""
    digest = hashlib.sha256()
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    for piece in iter(lambda: body.read(1024 * 1024), b""):
        digest.update(piece)
    return digest.hexdigest()


def create_upload(client, endpoint, bucket, path: Path, name: str | None = None, **fields):
    data = {"path": name or path.name, "size": path.stat().st_size, **fields}
    response = client.post(reverse("objects:upload_create", args=[endpoint.code, bucket]), data)
    return response


def read_chunk(path: Path, answer: dict, number: int) -> bytes:
    size = answer["chunk_size"]
    with open(path, "rb") as source:
        source.seek((number - 1) * size)
        return source.read(size)


def send_chunk(client, path: Path, answer: dict, number: int):
    """A chunk as the browser sends it: the raw bytes, no checksum."""
    return client.put(
        f"{answer['chunk_url']}{number}",
        data=read_chunk(path, answer, number),
        content_type="application/octet-stream",
    )


def send_chunks(client, path: Path, answer: dict, numbers=None) -> None:
    for number in numbers or range(1, answer["chunks"] + 1):
        response = send_chunk(client, path, answer, number)
        assert response.status_code == 200, response.content


def complete(client, answer: dict):
    return client.post(answer["complete_url"])


def multipart_uploads(s3_client, bucket: str) -> list:
    return s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
