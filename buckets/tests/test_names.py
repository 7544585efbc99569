"""Bucket names are checked before any request."""

from __future__ import annotations

import pytest

from buckets.forms import bucket_name_errors
from console.providers import Provider

INVALID = [
    "",
    "ab",
    "a" * 64,
    "My-Bucket",
    "UPPER",
    "under_score",
    "with space",
    "-leading",
    "trailing-",
    "-both-",
    "dots..double",
    "192.168.1.1",
    "10.0.0.1",
    "xn--punycode",
    "sthree-bucket",
    "alias-s3alias",
    "access--ol-s3",
    "dir--x-s3",
    "semi;colon",
    "slash/inside",
    "percent%",
    "ümlaut",
    "emoji-🙂",
    "tab\tinside",
    "star*",
]


@pytest.mark.parametrize("name", INVALID)
def test_invalid_bucket_name_is_refused_in_words(name):
    errors = bucket_name_errors(name)
    assert errors, name
    assert all(len(e.split()) >= 4 for e in errors), errors


def test_at_least_twenty_invalid_names_are_covered():
    # Twenty different names refused, and between them every rule refuses one: a
    # rule that stopped refusing anything would leave fewer kinds of reason.
    refused = {name for name in INVALID if bucket_name_errors(name)}
    assert len(refused) >= 20
    reasons = {error.split(" (")[0] for name in INVALID for error in bucket_name_errors(name)}
    assert len(reasons) >= 7, reasons  # length, IP, "..", characters, hyphen, prefix, suffix


@pytest.mark.parametrize("name", ["abc", "my-bucket-01", "a" * 63, "0-9", "logs2026"])
def test_valid_bucket_name_passes(name):
    assert bucket_name_errors(name) == []


def test_cos_names_need_the_appid_suffix():
    assert bucket_name_errors("photos", Provider.COS)
    assert "APPID" in " ".join(bucket_name_errors("photos", Provider.COS))
    assert bucket_name_errors("photos-1250000000", Provider.COS) == []
    # Other providers do not ask for it.
    assert bucket_name_errors("photos", Provider.ZOS) == []


def test_length_error_names_the_length():
    assert "64" in " ".join(bucket_name_errors("a" * 64))
