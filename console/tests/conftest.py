"""Fixtures of the console's own tests: a signature-checking moto and stored endpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from conftest import free_port, start_moto

ALLOW_ALL_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}

# The requests `auth_moto` makes before moto starts checking: moto counts every
# request and enforces signatures and IAM policies from request number N on.
SETUP_REQUESTS = 9


@dataclass
class AuthMoto:
    url: str
    allowed: tuple[str, str]  # may do anything in S3
    denied: tuple[str, str]  # a valid key with no permission at all
    one_bucket: tuple[str, str]  # may only read `bucket`, not list buckets
    bucket: str


@pytest.fixture(scope="session")
def auth_moto():
    """A second moto server that checks signatures and IAM permissions.

    Started with INITIAL_NO_AUTH_ACTION_COUNT: the first requests (creating the IAM
    users, their keys and policies and a bucket) pass unchecked, every later one is
    authenticated like AWS does. It is never wiped; tests only read from it.
    """
    import boto3
    from botocore.config import Config

    port = free_port()
    process = start_moto(port, {"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS)})
    url = f"http://127.0.0.1:{port}"
    common = dict(
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam = boto3.client("iam", **common)
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **common)
    bucket = "auth-visible"

    def user(name, policy=None):
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        return key["AccessKeyId"], key["SecretAccessKey"]

    try:
        allowed = user("allowed", ALLOW_ALL_S3)  # 3 requests
        denied = user("denied")  # 2
        one = user(  # 3
            "one-bucket",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        # AWS checks s3:ListBucket for HeadBucket; moto names it s3:HeadBucket.
                        "Action": ["s3:ListBucket", "s3:HeadBucket"],
                        "Resource": f"arn:aws:s3:::{bucket}",
                    }
                ],
            },
        )
        s3.create_bucket(Bucket=bucket)  # 1 -> SETUP_REQUESTS
        yield AuthMoto(url, allowed, denied, one, bucket)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def make_endpoint(db):
    """Store an endpoint: `make_endpoint(url, access_key, secret, **fields)`."""
    from console.models import Endpoint

    counter = {"n": 0}

    def make(url, access_key="testing", secret="testing", **fields):
        counter["n"] += 1
        token = fields.pop("session_token", "")
        item = Endpoint(
            name=fields.pop("name", f"Endpoint {counter['n']}"),
            provider=fields.pop("provider", "other"),
            endpoint_url=url,
            region=fields.pop("region", "us-east-1"),
            addressing_style=fields.pop("addressing_style", "path"),
            access_key_id=access_key,
            **fields,
        )
        item.set_secret_key(secret)
        if token:
            item.set_session_token(token)
        item.save()
        return item

    return make


@pytest.fixture
def ctx(endpoint, s3_target, viewer, operator, manager, outsider, admin_user):
    """What the URL cases point at: the test endpoint, a bucket holding one object,
    and the viewer's grant (for the URL that revokes a grant)."""
    from console.models import Grant
    from console.tests.matrix import Ctx

    bucket = s3_target.make_bucket("matrix")
    s3_target.client().put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    grant = Grant.objects.get(endpoint=endpoint, user=viewer)
    return Ctx(endpoint, bucket, "hello.txt", s3_target, extra={"grant_id": grant.pk})
