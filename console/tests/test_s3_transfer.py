"""Reading a source for a copy between endpoints: one GET read in order, opened
again where a broken connection left it, and never mixing two versions.

The connection is broken by a TCP proxy between the console and the S3 server
under test (no S3 server breaks a connection on demand).
"""

from __future__ import annotations

import os

import pytest

from console import s3
from console.models import Endpoint
from console.tests.servers import TcpProxy

MiB = 1024 * 1024


@pytest.fixture
def proxied(db, s3_target, bucket):
    """An endpoint that reaches the S3 server under test through a proxy that can
    drop every open connection: (endpoint, proxy, boto3 client)."""
    port = int(s3_target.url.rsplit(":", 1)[1].split("/")[0])
    with TcpProxy(port) as proxy:
        item = Endpoint(
            name="Through a proxy",
            provider="ceph" if s3_target.kind == "external" else "other",
            endpoint_url=f"http://127.0.0.1:{proxy.port}",
            region=s3_target.region,
            addressing_style="path",
            access_key_id=s3_target.access_key,
        )
        item.set_secret_key(s3_target.secret_key)
        item.save()
        yield item, proxy, s3_target.client()


def test_a_connection_broken_mid_read_is_opened_again_where_it_broke(proxied, bucket):
    endpoint, proxy, raw = proxied
    data = os.urandom(48 * MiB)
    raw.put_object(Bucket=bucket, Key="big.bin", Body=data)
    with s3.RangeReader(endpoint, bucket, "big.bin", MiB, len(data) - 1) as reader:
        first = reader.read(MiB)
        proxy.drop()
        rest = b"".join(iter(lambda: reader.read(8 * MiB), b""))
    assert first + rest == data[MiB:]
    assert proxy.accepted == 2  # the first GET, and one more from where it broke


def test_a_source_that_changed_is_not_read_on_from_another_version(proxied, bucket):
    endpoint, proxy, raw = proxied
    old = os.urandom(48 * MiB)
    etag = raw.put_object(Bucket=bucket, Key="moving.bin", Body=old)["ETag"]
    with s3.RangeReader(endpoint, bucket, "moving.bin", 0, len(old) - 1, etag) as reader:
        assert reader.read(MiB) == old[:MiB]
        raw.put_object(Bucket=bucket, Key="moving.bin", Body=os.urandom(len(old)))
        proxy.drop()
        with pytest.raises(s3.S3Error) as failed:
            while reader.read(8 * MiB):
                pass
    assert failed.value.code == "PreconditionFailed"
    assert "changed" in failed.value.message


def test_a_source_shorter_than_the_range_asked_fails_instead_of_giving_a_short_part(
    proxied, bucket
):
    endpoint, _proxy, raw = proxied
    raw.put_object(Bucket=bucket, Key="short.bin", Body=b"x" * MiB)
    with s3.RangeReader(endpoint, bucket, "short.bin", 0, 2 * MiB - 1) as reader:
        with pytest.raises(s3.S3Error) as failed:
            reader.read(2 * MiB)
    assert failed.value.code == "IncompleteRead"
