"""Buckets: list, create, delete and the bucket-settings panels.

Each function makes the one request its name says; reading functions return
plain dicts, and "not configured" / "not supported" arrive as S3Error (see its
`not_configured` and `not_supported`).
"""

from __future__ import annotations

from dataclasses import dataclass

from console.s3.clients import client_for
from console.s3.errors import S3Error, request_id_of, s3_errors


def list_buckets(endpoint) -> list[dict]:
    """Every bucket of the endpoint, in one ListBuckets call."""
    with s3_errors():
        response = client_for(endpoint).list_buckets()
    return [
        {"name": b["Name"], "created": b.get("CreationDate"), "region": b.get("BucketRegion", "")}
        for b in response.get("Buckets", [])
    ]


def _bucket_call(endpoint, operation: str, **params) -> dict:
    with s3_errors():
        response = getattr(client_for(endpoint), operation)(**params)
    response.pop("ResponseMetadata", None)
    return response


def _owned_bucket(endpoint, name: str) -> S3Error | None:
    """BucketAlreadyOwnedByYou when these credentials can already open `name`, else None.

    Asking again for a bucket one owns succeeds in us-east-1 (AWS, Ceph's gateway and
    moto all answer 200 and change nothing), so the CreateBucket answer alone cannot
    say whether a bucket was made. A bucket that is missing (404) or someone else's
    (403) is left to CreateBucket, whose answer then says which.
    """
    try:
        with s3_errors():
            response = client_for(endpoint).head_bucket(Bucket=name)
    except S3Error as err:
        if err.status and 300 <= err.status < 500:
            return None
        raise
    return S3Error(
        "BucketAlreadyOwnedByYou",
        request_id=request_id_of(response),
        operation="HeadBucket",
    )


def create_bucket(
    endpoint, name: str, *, acl: str = "", location: str = "", object_lock: bool = False
) -> dict:
    """CreateBucket, after HeadBucket made sure no bucket of that name is ours already."""
    owned = _owned_bucket(endpoint, name)
    if owned is not None:
        raise owned
    params: dict = {"Bucket": name}
    if acl:
        params["ACL"] = acl
    # us-east-1 is the one region S3 refuses as an explicit location constraint.
    if location and location != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": location}
    if object_lock:
        params["ObjectLockEnabledForBucket"] = True
    return _bucket_call(endpoint, "create_bucket", **params)


def head_bucket(endpoint, bucket: str) -> None:
    """Whether the bucket is there and these credentials reach it (S3Error if not)."""
    _bucket_call(endpoint, "head_bucket", Bucket=bucket)


def delete_bucket(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket", Bucket=bucket)


@dataclass
class Blockers:
    """What stands in the way of deleting a bucket, from one page of each listing."""

    objects: int
    more_objects: bool
    uploads: int
    more_uploads: bool
    # Older versions and delete markers (which block a delete too), from one page.
    versions: int = 0
    markers: int = 0
    more_versions: bool = False

    @property
    def empty(self) -> bool:
        return not (self.objects or self.uploads or self.versions or self.markers)


def bucket_blockers(endpoint, bucket: str, page: int = 100) -> Blockers:
    """One small page each of ListObjectsV2, ListObjectVersions and
    ListMultipartUploads, never more."""
    objects = _bucket_call(endpoint, "list_objects_v2", Bucket=bucket, MaxKeys=page)
    versions = _bucket_call(endpoint, "list_object_versions", Bucket=bucket, MaxKeys=page)
    uploads = _bucket_call(endpoint, "list_multipart_uploads", Bucket=bucket, MaxUploads=1000)
    older = [v for v in versions.get("Versions", []) if not v.get("IsLatest", True)]
    return Blockers(
        objects=int(objects.get("KeyCount", len(objects.get("Contents", [])))),
        more_objects=bool(objects.get("IsTruncated")),
        uploads=len(uploads.get("Uploads", [])),
        more_uploads=bool(uploads.get("IsTruncated")),
        versions=len(older),
        markers=len(versions.get("DeleteMarkers", [])),
        more_versions=bool(versions.get("IsTruncated")),
    )


def get_bucket_location(endpoint, bucket: str) -> str:
    # An empty LocationConstraint is S3's way of saying us-east-1.
    answer = _bucket_call(endpoint, "get_bucket_location", Bucket=bucket)
    return answer.get("LocationConstraint") or "us-east-1"


def get_bucket_versioning(endpoint, bucket: str) -> str:
    """'' (never enabled), 'Enabled' or 'Suspended'."""
    return _bucket_call(endpoint, "get_bucket_versioning", Bucket=bucket).get("Status", "")


def put_bucket_versioning(endpoint, bucket: str, status: str) -> None:
    _bucket_call(
        endpoint,
        "put_bucket_versioning",
        Bucket=bucket,
        VersioningConfiguration={"Status": status},
    )


def get_bucket_acl(endpoint, bucket: str) -> dict:
    """{"Owner": {...}, "Grants": [...]}"""
    return _bucket_call(endpoint, "get_bucket_acl", Bucket=bucket)


def put_bucket_canned_acl(endpoint, bucket: str, acl: str) -> None:
    _bucket_call(endpoint, "put_bucket_acl", Bucket=bucket, ACL=acl)


def put_bucket_acl_policy(endpoint, bucket: str, owner: dict, grants: list[dict]) -> None:
    # The whole ACL is replaced, so the caller passes every grant it wants kept.
    _bucket_call(
        endpoint,
        "put_bucket_acl",
        Bucket=bucket,
        AccessControlPolicy={"Owner": owner, "Grants": grants},
    )


def get_bucket_policy(endpoint, bucket: str) -> str:
    return _bucket_call(endpoint, "get_bucket_policy", Bucket=bucket).get("Policy", "")


def put_bucket_policy(endpoint, bucket: str, policy: str) -> None:
    _bucket_call(endpoint, "put_bucket_policy", Bucket=bucket, Policy=policy)


def delete_bucket_policy(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket_policy", Bucket=bucket)


def get_bucket_cors(endpoint, bucket: str) -> list[dict]:
    return _bucket_call(endpoint, "get_bucket_cors", Bucket=bucket).get("CORSRules", [])


def cors_document_size(endpoint, rules: list[dict]) -> int:
    """The size in bytes of the XML PutBucketCors would send, without sending it."""
    from botocore.serialize import create_serializer

    client = client_for(endpoint)
    model = client.meta.service_model.operation_model("PutBucketCors")
    serializer = create_serializer("rest-xml", include_validation=False)
    with s3_errors():
        request = serializer.serialize_to_request(
            {"Bucket": "b", "CORSConfiguration": {"CORSRules": rules}}, model
        )
    return len(request["body"])


def put_bucket_cors(endpoint, bucket: str, rules: list[dict]) -> None:
    _bucket_call(endpoint, "put_bucket_cors", Bucket=bucket, CORSConfiguration={"CORSRules": rules})


def delete_bucket_cors(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket_cors", Bucket=bucket)


def get_bucket_lifecycle(endpoint, bucket: str) -> list[dict]:
    answer = _bucket_call(endpoint, "get_bucket_lifecycle_configuration", Bucket=bucket)
    return answer.get("Rules", [])


def put_bucket_lifecycle(endpoint, bucket: str, rules: list[dict]) -> None:
    _bucket_call(
        endpoint,
        "put_bucket_lifecycle_configuration",
        Bucket=bucket,
        LifecycleConfiguration={"Rules": rules},
    )


def delete_bucket_lifecycle(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket_lifecycle", Bucket=bucket)


def get_bucket_tagging(endpoint, bucket: str) -> list[dict]:
    return _bucket_call(endpoint, "get_bucket_tagging", Bucket=bucket).get("TagSet", [])


def put_bucket_tagging(endpoint, bucket: str, tags: list[dict]) -> None:
    _bucket_call(endpoint, "put_bucket_tagging", Bucket=bucket, Tagging={"TagSet": tags})


def delete_bucket_tagging(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket_tagging", Bucket=bucket)


def get_bucket_logging(endpoint, bucket: str) -> dict:
    """{} when logging is off, else {"TargetBucket": ..., "TargetPrefix": ...}."""
    return _bucket_call(endpoint, "get_bucket_logging", Bucket=bucket).get("LoggingEnabled") or {}


def put_bucket_logging(endpoint, bucket: str, target_bucket: str = "", prefix: str = "") -> None:
    # An empty BucketLoggingStatus is how S3 turns logging off.
    status = {}
    if target_bucket:
        status = {"LoggingEnabled": {"TargetBucket": target_bucket, "TargetPrefix": prefix}}
    _bucket_call(endpoint, "put_bucket_logging", Bucket=bucket, BucketLoggingStatus=status)


def get_bucket_website(endpoint, bucket: str) -> dict:
    return _bucket_call(endpoint, "get_bucket_website", Bucket=bucket)


def put_bucket_website(endpoint, bucket: str, index: str, error: str = "") -> None:
    config: dict = {"IndexDocument": {"Suffix": index}}
    if error:
        config["ErrorDocument"] = {"Key": error}
    _bucket_call(endpoint, "put_bucket_website", Bucket=bucket, WebsiteConfiguration=config)


def delete_bucket_website(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket_website", Bucket=bucket)


def get_bucket_encryption(endpoint, bucket: str) -> dict:
    """The default-encryption rule: {"SSEAlgorithm": ..., "KMSMasterKeyID": ...}.

    Some gateways (Ceph RGW before Quincy) do not know the `?encryption`
    subresource and answer the GET with an object listing, which parses to an
    empty configuration. A real answer always has at least one rule, so an empty
    one means the endpoint does not implement default encryption.
    """
    answer = _bucket_call(endpoint, "get_bucket_encryption", Bucket=bucket)
    rules = (answer.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if not rules:
        raise S3Error("NotImplemented", operation="GetBucketEncryption")
    return rules[0].get("ApplyServerSideEncryptionByDefault") or {}


def put_bucket_encryption(endpoint, bucket: str, algorithm: str, kms_key_id: str = "") -> None:
    default: dict = {"SSEAlgorithm": algorithm}
    if kms_key_id:
        default["KMSMasterKeyID"] = kms_key_id
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
    _bucket_call(
        endpoint, "put_bucket_encryption", Bucket=bucket, ServerSideEncryptionConfiguration=config
    )


def delete_bucket_encryption(endpoint, bucket: str) -> None:
    # Callers must read first (get_bucket_encryption): a gateway that ignores the
    # `?encryption` subresource takes this DELETE for DeleteBucket.
    _bucket_call(endpoint, "delete_bucket_encryption", Bucket=bucket)


def get_object_lock(endpoint, bucket: str) -> dict:
    """{"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {...}}}"""
    answer = _bucket_call(endpoint, "get_object_lock_configuration", Bucket=bucket)
    return answer.get("ObjectLockConfiguration") or {}


def put_object_lock_retention(endpoint, bucket: str, mode: str = "", days=None, years=None):
    config: dict = {"ObjectLockEnabled": "Enabled"}
    if mode:
        retention: dict = {"Mode": mode}
        if days:
            retention["Days"] = days
        if years:
            retention["Years"] = years
        config["Rule"] = {"DefaultRetention": retention}
    _bucket_call(
        endpoint, "put_object_lock_configuration", Bucket=bucket, ObjectLockConfiguration=config
    )
