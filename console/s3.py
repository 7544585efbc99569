"""The one module that owns boto3.

Views and tasks call the small functions here (or take a client from
`client_for`) and only ever see `S3Error`, whose message is in words and carries
the S3 error code, HTTP status and request id. Secrets are decrypted in memory
when a client is built and never leave this module.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EndpointResolutionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console.crypto import SecretUnreadable
from console.providers import Addressing

# The S3 error codes a person may meet, in words. The provider's own message is
# shown beside these, and the code and request id always.
MESSAGES = {
    "AccessDenied": _("Access denied: these credentials are not allowed to do this."),
    "AccountProblem": _("The account behind these credentials has a problem (check billing)."),
    "AllAccessDisabled": _("All access to this resource has been disabled by the provider."),
    "BadDigest": _("The data was damaged on the way (checksum mismatch); try again."),
    "BucketAlreadyExists": _(
        "That bucket name is taken by someone else; bucket names are global. Pick another."
    ),
    "BucketAlreadyOwnedByYou": _(
        "You already own a bucket with that name: it exists and is yours, so nothing was created."
    ),
    "BucketNotEmpty": _("The bucket is not empty; delete its objects first."),
    "EntityTooLarge": _("The upload is larger than the provider allows in one request."),
    "EntityTooSmall": _("A part of a multipart upload is smaller than the 5 MiB minimum."),
    "ExpiredToken": _("The session token has expired; store fresh temporary credentials."),
    "IllegalLocationConstraintException": _(
        "The region does not match this endpoint; choose the endpoint's own region."
    ),
    "IncompleteBody": _("The request body was shorter than announced; the upload was cut off."),
    "InternalError": _("The storage service had an internal error; try again."),
    "InvalidAccessKeyId": _("The access key ID is not known to this endpoint."),
    "InvalidArgument": _("The request had an invalid argument."),
    "InvalidBucketName": _("The bucket name is not valid for this endpoint."),
    "InvalidBucketState": _("The bucket is not in a state that allows this."),
    "InvalidLocationConstraint": _(
        "This endpoint does not accept that region; leave the region empty or use its own."
    ),
    "InvalidDigest": _("The Content-MD5 sent does not match the data."),
    "InvalidObjectState": _("The object is archived; restore it before reading it."),
    "InvalidPart": _("A part of the multipart upload is missing or its ETag does not match."),
    "InvalidPartOrder": _("The parts of the multipart upload were not listed in order."),
    "InvalidRange": _("The requested byte range is outside the object."),
    "InvalidRequest": _("The storage service rejected the request as invalid."),
    "InvalidStorageClass": _("That storage class is not supported by this endpoint."),
    "InvalidToken": _("The session token is malformed or invalid."),
    "KeyTooLongError": _("The object key is too long (1024 bytes at most)."),
    "MalformedXML": _("The storage service could not read the document sent."),
    "MalformedPolicy": _("The bucket policy is not valid."),
    "MethodNotAllowed": _("This endpoint does not allow this operation."),
    "MissingContentLength": _("The request did not say how long its body is."),
    "NoSuchBucket": _("The bucket does not exist."),
    "NoSuchKey": _("The object does not exist."),
    "NoSuchUpload": _("The multipart upload does not exist; it was completed or aborted."),
    "NoSuchVersion": _("That version of the object does not exist."),
    "NotImplemented": _("This endpoint does not implement this operation."),
    "ObjectAlreadyInActiveTierError": _("This object is not archived."),
    "PreconditionFailed": _("A condition of the request did not hold (the object changed)."),
    "RequestTimeTooSkewed": _(
        "This machine's clock differs too much from the endpoint's; fix the server time."
    ),
    "RequestTimeout": _("The connection was idle too long; try again."),
    "RestoreAlreadyInProgress": _("A restore of this object is already in progress."),
    "ServiceUnavailable": _("The storage service is unavailable right now; try again."),
    "SignatureDoesNotMatch": _(
        "The secret key is wrong: the endpoint could not verify the request signature."
    ),
    "SlowDown": _("The storage service asks to slow down; try again shortly."),
    "TooManyBuckets": _("The account has reached its limit on the number of buckets."),
    "UserSuspended": _(
        "The user behind these credentials is suspended on this endpoint; "
        "its administrator must re-enable it."
    ),
    "XAmzContentSHA256Mismatch": _("The data was damaged on the way (checksum mismatch)."),
    # Our own codes for failures that never reached an S3 answer.
    "DnsFailure": _("The endpoint's host name could not be resolved (DNS). Check the URL."),
    "ConnectionRefused": _("The endpoint refused the connection. Is the URL and port right?"),
    "ConnectionFailed": _("The endpoint could not be reached."),
    "ConnectionClosed": _(
        "The endpoint closed the connection without answering. "
        "Check that the URL says http or https as the endpoint expects."
    ),
    "InvalidEndpoint": _("The endpoint URL or region is not valid."),
    # Answers that carry only an HTTP status (often from a proxy in front of the storage).
    "500": _("The storage service had an internal error (HTTP 500); try again."),
    "502": _("A gateway in front of the storage service got no valid answer (HTTP 502)."),
    "503": _("The storage service is unavailable right now (HTTP 503); try again."),
    "504": _("A gateway in front of the storage service timed out (HTTP 504); try again."),
    "TlsFailure": _(
        "The TLS connection failed: the certificate is not trusted or does not match the host."
    ),
    "NotTls": _(
        "The endpoint does not speak TLS on this port (is it plain HTTP?). "
        "Use an http:// URL, or the port where it serves https."
    ),
    "Timeout": _("The endpoint did not answer in time."),
    "NoCredentials": _("The endpoint has no usable credentials."),
    "SecretUnreadable": _(
        "The stored secret cannot be decrypted with the configured encryption keys."
    ),
    "InvalidParameter": _("The request was not valid."),
    "Unknown": _("The storage service returned an error."),
}

RETRYABLE = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "Timeout",
    "ConnectionFailed",
    "ConnectionRefused",
    "ConnectionClosed",
    "503",
    "500",
    "502",
    "504",
}

# Errors that mean "this setting is not configured", per bucket-settings panel.
NOT_CONFIGURED = {
    "NoSuchBucketPolicy",
    "NoSuchTagSet",
    "NoSuchTagSetError",
    "NoSuchCORSConfiguration",
    "NoSuchLifecycleConfiguration",
    "NoSuchWebsiteConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
    "ObjectLockConfigurationNotFoundError",
    "NoSuchObjectLockConfiguration",
    "ReplicationConfigurationNotFoundError",
}
# Errors that mean "this endpoint does not implement that".
NOT_SUPPORTED = {"NotImplemented", "MethodNotAllowed", "UnsupportedOperation", "501", "405"}


class S3Error(Exception):
    """An S3 failure in words, with what a person needs to report it."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        status: int | None = None,
        request_id: str = "",
        detail: str = "",
        operation: str = "",
    ):
        self.code = code
        self.message = str(message or MESSAGES.get(code) or MESSAGES["Unknown"])
        self.status = status
        self.request_id = request_id
        # The provider's own text, when it adds something to ours.
        self.detail = detail if detail and detail != self.message else ""
        self.operation = operation
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.detail:
            parts.append(f"({self.detail})")
        parts.append(f"[{self.code}")
        if self.request_id:
            parts[-1] += f", request id {self.request_id}"
        parts[-1] += "]"
        return " ".join(parts)

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    @property
    def not_configured(self) -> bool:
        return self.code in NOT_CONFIGURED

    @property
    def not_supported(self) -> bool:
        return self.code in NOT_SUPPORTED or self.status in (405, 501)

    @property
    def not_found(self) -> bool:
        return self.code in ("NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NoSuchUpload")


def request_id_of(response: dict | None) -> str:
    """The provider's request id of an answer ('' for none), for audit rows and errors."""
    meta = (response or {}).get("ResponseMetadata") or {}
    headers = meta.get("HTTPHeaders") or {}
    return (
        meta.get("RequestId")
        or headers.get("x-amz-request-id")
        or headers.get("x-cos-request-id")
        or headers.get("x-oss-request-id")
        or headers.get("x-amz-id-2", "")
    )


def _from_client_error(exc: ClientError) -> S3Error:
    response = exc.response or {}
    error = response.get("Error") or {}
    code = str(error.get("Code") or "Unknown")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    operation = getattr(exc, "operation_name", "") or ""
    # HEAD answers carry no body, so botocore only knows the status.
    if code.isdigit():
        status = status or int(code)
        if code == "404":
            code = {"HeadBucket": "NoSuchBucket", "HeadObject": "NoSuchKey"}.get(operation, "404")
        elif code == "403":
            code = "AccessDenied"
        elif code == "301":
            code = "IllegalLocationConstraintException"
        elif code == "400" and operation in ("HeadBucket", "HeadObject"):
            code = "InvalidRequest"
    message = MESSAGES.get(code)
    if message is None and code == "404":
        message = _("Not found.")
    return S3Error(
        code,
        message or "",
        status=status,
        request_id=request_id_of(response),
        detail=str(error.get("Message") or ""),
        operation=operation,
    )


def _cause_chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        for attr in ("error",):
            inner = getattr(exc, "kwargs", {}).get(attr) if hasattr(exc, "kwargs") else None
            if isinstance(inner, BaseException):
                yield from _cause_chain(inner)
        exc = exc.__cause__ or exc.__context__


# What OpenSSL says when the other side answers a TLS hello with something that
# is not TLS at all, such as a plain HTTP error page ("record layer failure" is
# OpenSSL 3.2's name for WRONG_VERSION_NUMBER).
NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
}


def _tls_code(exc: BaseException) -> str:
    """NotTls when the port speaks no TLS; TlsFailure for certificates and the rest."""
    for item in _cause_chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return "TlsFailure"
        if isinstance(item, ssl.SSLError) and getattr(item, "reason", "") in NOT_TLS_REASONS:
            return "NotTls"
    text = str(exc).upper().replace(" ", "_")
    if any(reason in text for reason in NOT_TLS_REASONS):
        return "NotTls"
    return "TlsFailure"


def _connection_code(exc: BaseException) -> str:
    for item in _cause_chain(exc):
        if isinstance(item, socket.gaierror):
            return "DnsFailure"
        if isinstance(item, ConnectionRefusedError):
            return "ConnectionRefused"
        if isinstance(item, ConnectionResetError):
            return "ConnectionClosed"
        if isinstance(item, ssl.SSLError):
            return _tls_code(exc)
        if isinstance(item, (TimeoutError, socket.timeout)):
            return "Timeout"
    text = str(exc)
    if "Name or service not known" in text or "NameResolution" in text or "getaddrinfo" in text:
        return "DnsFailure"
    if "Connection refused" in text:
        return "ConnectionRefused"
    return "ConnectionFailed"


def translate(exc: BaseException) -> S3Error:
    """Turn any boto3/botocore failure into an S3Error."""
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, ClientError):
        return _from_client_error(exc)
    if isinstance(exc, SecretUnreadable):
        return S3Error("SecretUnreadable")
    if isinstance(exc, SSLError):
        return S3Error(_tls_code(exc))
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return S3Error("Timeout")
    if isinstance(exc, EndpointConnectionError):
        return S3Error(_connection_code(exc))
    if isinstance(exc, ConnectionClosedError):
        return S3Error("ConnectionClosed")
    if isinstance(exc, HTTPClientError):
        return S3Error(_connection_code(exc))
    if isinstance(exc, EndpointResolutionError):
        return S3Error("InvalidEndpoint")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return S3Error("NoCredentials")
    if isinstance(exc, ParamValidationError):
        # botocore's text names the parameter; it never contains credentials.
        return S3Error("InvalidParameter", detail=str(exc).splitlines()[-1])
    if isinstance(exc, BotoCoreError):
        code = _connection_code(exc)
        return S3Error(code if code != "ConnectionFailed" else "Unknown")
    raise TypeError(f"not an S3 failure: {type(exc).__name__}")


TRANSLATED = (ClientError, BotoCoreError, SecretUnreadable)


@contextmanager
def s3_errors():
    """`with s3_errors(): client.x(...)` raises S3Error for every S3 failure."""
    try:
        yield
    except TRANSLATED as exc:
        raise translate(exc) from exc


# Clients are cached per process and per endpoint version, so an edited endpoint
# gets a new client without a restart.
_clients: dict[tuple, BaseClient] = {}
_lock = threading.Lock()


def _ca_bundle_path(endpoint) -> str:
    digest = hashlib.sha256(endpoint.ca_bundle.encode()).hexdigest()[:16]
    folder = Path(settings.VAR_DIR) / "ca"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{endpoint.code}-{digest}.pem"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(endpoint.ca_bundle)
        tmp.replace(path)
    return str(path)


def _verify(endpoint) -> bool | str:
    if not endpoint.verify_tls:
        return False
    if endpoint.ca_bundle.strip():
        return _ca_bundle_path(endpoint)
    return True


def build_config(
    endpoint, *, connect_timeout=None, read_timeout=None, max_attempts=None, transfer=False
):
    preset = endpoint.preset
    options = {
        "signature_version": "s3v4",
        "region_name": endpoint.region or preset.fixed_region or preset.default_region,
        "connect_timeout": connect_timeout or settings.S3_CONNECT_TIMEOUT,
        "read_timeout": read_timeout or settings.S3_READ_TIMEOUT,
        # botocore's `max_attempts` counts retries after the first try;
        # `total_max_attempts` counts every try, which is what S3_MAX_ATTEMPTS means.
        "retries": {
            "mode": "standard",
            "total_max_attempts": max(1, max_attempts or settings.S3_MAX_ATTEMPTS),
        },
        "s3": {"addressing_style": endpoint.addressing_style or Addressing.AUTO},
        "max_pool_connections": 20,
    }
    if preset.checksums_when_required:
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    if transfer:
        # Parts and small files always carry Content-MD5, which is a signed header
        # and which the server checks against the body: hashing the body once more
        # for the signature (SHA-256, which botocore does on http:// endpoints)
        # would only cost both sides another pass over every byte.
        options["s3"]["payload_signing_enabled"] = False
    return Config(**options)


# Reads made while a page is drawn (an object's tags and ACL, a bucket's settings
# panels) are tried once: the page says at once that a part is unavailable, where
# retrying a failing call would hold the whole page up and show the same error.
_one_attempt: ContextVar[bool] = ContextVar("s3_one_attempt", default=False)


@contextmanager
def single_attempt():
    """`with single_attempt(): ...` makes each S3 call inside it once, without retries."""
    token = _one_attempt.set(True)
    try:
        yield
    finally:
        _one_attempt.reset(token)


def client_for(endpoint, *, probe: bool = False, transfer: bool = False) -> BaseClient:
    """A boto3 S3 client for a stored endpoint.

    `probe=True` gives a client with one attempt and short timeouts, for the
    connection test, so that its answer comes quickly and says what happened.
    `transfer=True` gives the client for bodies sent with Content-MD5 (parts and
    small files), which leaves the body out of the signature. Inside
    `single_attempt()` the client makes one attempt per call.
    """
    once = _one_attempt.get() and not probe
    key = (
        endpoint.pk,
        endpoint.updated_at,
        probe,
        transfer,
        once,
        settings.S3_CONNECT_TIMEOUT,
        settings.S3_READ_TIMEOUT,
        settings.S3_MAX_ATTEMPTS,
    )
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            # Clients of an older version of this endpoint are stale.
            for stale in [k for k in _clients if k[0] == endpoint.pk and k[1] != key[1]]:
                del _clients[stale]
            client = _build_client(endpoint, probe, transfer, once)
            _clients[key] = client
    return client


def parse_timestamp(value):
    """Timestamps of S3 answers, for the client's response parser.

    Listings carry ISO 8601 times ("2026-11-21T09:30:00.000Z"), which the standard
    library reads about thirty times faster than dateutil, botocore's default: on a
    1000-key page that is most of the client's own time. Anything else (HTTP dates
    in headers, epoch seconds) goes to botocore's parser.
    """
    if isinstance(value, str) and len(value) >= 20 and value[10:11] == "T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return botocore_parse_timestamp(value)


def _build_client(endpoint, probe: bool, transfer: bool, once: bool = False) -> BaseClient:
    with s3_errors():
        config = build_config(
            endpoint,
            connect_timeout=min(settings.S3_CONNECT_TIMEOUT, 5) if probe else None,
            read_timeout=min(settings.S3_READ_TIMEOUT, 10) if probe else None,
            max_attempts=1 if probe or once else None,
            transfer=transfer,
        )
        core = botocore.session.get_session()
        core.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=parse_timestamp
        )
        session = boto3.session.Session(botocore_session=core)
        return session.client(
            "s3",
            endpoint_url=endpoint.endpoint_url or None,
            aws_access_key_id=endpoint.access_key_id,
            aws_secret_access_key=endpoint.secret_key(),
            aws_session_token=endpoint.session_token() or None,
            config=config,
            verify=_verify(endpoint),
        )


def forget(endpoint) -> None:
    """Drop cached clients of an endpoint (after an edit or a delete)."""
    with _lock:
        for stale in [k for k in _clients if k[0] == endpoint.pk]:
            del _clients[stale]


# Small functions the views call.


@dataclass
class ConnectionResult:
    ok: bool
    code: str
    message: str
    request_id: str = ""
    bucket_count: int | None = None
    # The provider's own text, when it adds to ours.
    detail: str = ""

    @classmethod
    def failed(cls, err: S3Error) -> ConnectionResult:
        return cls(False, err.code, err.message, err.request_id, detail=err.detail)


def check_connection(endpoint, bucket: str = "") -> ConnectionResult:
    """ListBuckets, or HeadBucket on `bucket` when listing is not allowed."""
    try:
        client = client_for(endpoint, probe=True)
        with s3_errors():
            response = client.list_buckets()
        count = len(response.get("Buckets", []))
        return ConnectionResult(
            True,
            "OK",
            str(
                ngettext(
                    "Connected. %(count)d bucket is visible.",
                    "Connected. %(count)d buckets are visible.",
                    count,
                )
                % {"count": count}
            ),
            request_id_of(response),
            count,
        )
    except S3Error as err:
        if err.code != "AccessDenied" or not bucket:
            return ConnectionResult.failed(err)
    try:
        with s3_errors():
            response = client.head_bucket(Bucket=bucket)
        return ConnectionResult(
            True,
            "OK",
            str(
                _("Connected. Listing buckets is not allowed, but bucket %(bucket)s answers.")
                % {"bucket": bucket}
            ),
            request_id_of(response),
        )
    except S3Error as err:
        return ConnectionResult.failed(err)


def list_buckets(endpoint) -> list[dict]:
    """Every bucket of the endpoint, in one ListBuckets call."""
    with s3_errors():
        response = client_for(endpoint).list_buckets()
    return [
        {"name": b["Name"], "created": b.get("CreationDate"), "region": b.get("BucketRegion", "")}
        for b in response.get("Buckets", [])
    ]


# ---------------------------------------------------------------------------
# Buckets: create, delete and the bucket-settings panels (SPEC B1–B4).
# Each function makes the one request its name says; reading functions return
# plain dicts, and "not configured" / "not supported" arrive as S3Error.


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


def delete_bucket(endpoint, bucket: str) -> None:
    _bucket_call(endpoint, "delete_bucket", Bucket=bucket)


@dataclass
class Blockers:
    """What stands in the way of deleting a bucket, from one page of each listing."""

    objects: int
    more_objects: bool
    uploads: int
    more_uploads: bool

    @property
    def empty(self) -> bool:
        return not (self.objects or self.uploads)


def bucket_blockers(endpoint, bucket: str, page: int = 100) -> Blockers:
    """One small ListObjectsV2 page and one ListMultipartUploads page, never more."""
    objects = _bucket_call(endpoint, "list_objects_v2", Bucket=bucket, MaxKeys=page)
    uploads = _bucket_call(endpoint, "list_multipart_uploads", Bucket=bucket, MaxUploads=1000)
    return Blockers(
        objects=int(objects.get("KeyCount", len(objects.get("Contents", [])))),
        more_objects=bool(objects.get("IsTruncated")),
        uploads=len(uploads.get("Uploads", [])),
        more_uploads=bool(uploads.get("IsTruncated")),
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


# Objects: browsing and single-object operations (SPEC O1–O5, O7, O8, O10).
# Each function makes one request (or one small read-modify-write), so a view
# that calls one of them costs one round trip whatever the bucket size.

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


def list_multipart(endpoint, bucket: str, *, key_marker="", upload_marker="", max_uploads=1000):
    params = {"Bucket": bucket, "MaxUploads": max_uploads}
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


def abort_multipart(endpoint, bucket: str, key: str, upload_id: str) -> dict:
    with s3_errors():
        return client_for(endpoint).abort_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id
        )


# Uploads (SPEC O6, J2): the worker's side of a browser upload. Every request that
# carries data sends its Content-MD5, so the bucket refuses damaged bytes.


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


def stored_parts(endpoint, bucket: str, key: str, upload_id: str) -> dict[int, str]:
    """Every part stored so far, number -> ETag (a worker's resume; never in a request)."""
    parts: dict[int, str] = {}
    marker = 0
    while True:
        page = list_parts(endpoint, bucket, key, upload_id, marker)
        parts.update((part["PartNumber"], part["ETag"]) for part in page["parts"])
        marker = page["next_part"]
        if not marker:
            return parts


def complete_multipart_upload(endpoint, bucket, key, upload_id, parts: dict[int, str]) -> None:
    ordered = [{"PartNumber": n, "ETag": parts[n]} for n in sorted(parts)]
    with s3_errors():
        client_for(endpoint).complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": ordered}
        )


def abort_multipart_upload(endpoint, bucket: str, key: str, upload_id: str) -> None:
    """Abort an upload; one that is already gone counts as aborted."""
    try:
        abort_multipart(endpoint, bucket, key, upload_id)
    except S3Error as err:
        if err.code not in ("NoSuchUpload", "404"):
            raise


def put_object_file(endpoint, bucket, key, path, md5_b64: str, options: dict) -> None:
    """A small file in one PutObject."""
    with s3_errors(), open(path, "rb") as body:
        client_for(endpoint, transfer=True).put_object(
            Bucket=bucket, Key=key, Body=body, ContentMD5=md5_b64, **_upload_args(options)
        )
