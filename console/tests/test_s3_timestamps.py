"""The console's clients read S3 timestamps with a faster parser than botocore's
default; it must give exactly what botocore would."""

from __future__ import annotations

import pytest
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from console import s3


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-21T09:30:00.000Z",
        "2026-11-21T09:30:00Z",
        "2026-11-21T09:30:00.123456+08:00",
        "2026-11-21T09:30:00.000000123Z",  # more digits than datetime keeps
        "Sat, 21 Nov 2026 09:30:00 GMT",
        1700000000,
        "1700000000",
    ],
)
def test_timestamp_parser_agrees_with_botocore(value):
    assert s3.parse_timestamp(value) == botocore_parse_timestamp(value)


@pytest.mark.s3
def test_listing_times_through_the_console_client_equal_the_raw_client(endpoint, s3_target, bucket):
    s3_target.client().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    raw = s3_target.client().list_objects_v2(Bucket=bucket)["Contents"][0]["LastModified"]
    ours = s3.client_for(endpoint).list_objects_v2(Bucket=bucket)["Contents"][0]
    assert ours["LastModified"] == raw and ours["LastModified"].utcoffset() is not None
    head = s3.client_for(endpoint).head_object(Bucket=bucket, Key="a.txt")
    assert head["LastModified"] == raw.replace(microsecond=0)
