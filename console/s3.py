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
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    SSLError,
)
from django.conf import settings
from django.utils.translation import gettext_lazy as _

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
    "BucketAlreadyOwnedByYou": _("You already own a bucket with that name."),
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
    "XAmzContentSHA256Mismatch": _("The data was damaged on the way (checksum mismatch)."),
    # Our own codes for failures that never reached an S3 answer.
    "DnsFailure": _("The endpoint's host name could not be resolved (DNS). Check the URL."),
    "ConnectionRefused": _("The endpoint refused the connection. Is the URL and port right?"),
    "ConnectionFailed": _("The endpoint could not be reached."),
    "TlsFailure": _(
        "The TLS connection failed: the certificate is not trusted or does not match the host."
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
    "503",
    "500",
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
        return self.code in NOT_SUPPORTED

    @property
    def not_found(self) -> bool:
        return self.code in ("NoSuchKey", "NoSuchBucket", "NoSuchVersion", "NoSuchUpload")


def _request_id(response: dict) -> str:
    meta = response.get("ResponseMetadata") or {}
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
        request_id=_request_id(response),
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


def _connection_code(exc: BaseException) -> str:
    for item in _cause_chain(exc):
        if isinstance(item, socket.gaierror):
            return "DnsFailure"
        if isinstance(item, ConnectionRefusedError):
            return "ConnectionRefused"
        if isinstance(item, ssl.SSLError):
            return "TlsFailure"
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
        return S3Error("TlsFailure")
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return S3Error("Timeout")
    if isinstance(exc, EndpointConnectionError):
        return S3Error(_connection_code(exc))
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


def build_config(endpoint, *, connect_timeout=None, read_timeout=None, max_attempts=None):
    preset = endpoint.preset
    options = {
        "signature_version": "s3v4",
        "region_name": endpoint.region or preset.fixed_region or preset.default_region,
        "connect_timeout": connect_timeout or settings.S3_CONNECT_TIMEOUT,
        "read_timeout": read_timeout or settings.S3_READ_TIMEOUT,
        "retries": {"mode": "standard", "max_attempts": max_attempts or settings.S3_MAX_ATTEMPTS},
        "s3": {"addressing_style": endpoint.addressing_style or Addressing.AUTO},
        "max_pool_connections": 20,
    }
    if preset.checksums_when_required:
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    return Config(**options)


def client_for(endpoint, *, probe: bool = False) -> BaseClient:
    """A boto3 S3 client for a stored endpoint.

    `probe=True` gives a client with one attempt and short timeouts, for the
    connection test, so that its answer comes quickly and says what happened.
    """
    key = (
        endpoint.pk,
        endpoint.updated_at,
        probe,
        settings.S3_CONNECT_TIMEOUT,
        settings.S3_READ_TIMEOUT,
    )
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] == endpoint.pk]:
                del _clients[stale]
            client = _build_client(endpoint, probe)
            _clients[key] = client
    return client


def _build_client(endpoint, probe: bool) -> BaseClient:
    with s3_errors():
        config = build_config(
            endpoint,
            connect_timeout=min(settings.S3_CONNECT_TIMEOUT, 5) if probe else None,
            read_timeout=min(settings.S3_READ_TIMEOUT, 10) if probe else None,
            max_attempts=1 if probe else None,
        )
        session = boto3.session.Session()
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
            str(_("Connected. %(count)d buckets are visible.") % {"count": count}),
            _request_id(response),
            count,
        )
    except S3Error as err:
        if err.code != "AccessDenied" or not bucket:
            return ConnectionResult(False, err.code, str(err), err.request_id)
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
            _request_id(response),
        )
    except S3Error as err:
        return ConnectionResult(False, err.code, str(err), err.request_id)


def list_buckets(endpoint) -> list[dict]:
    """Every bucket of the endpoint, in one ListBuckets call."""
    with s3_errors():
        response = client_for(endpoint).list_buckets()
    return [
        {"name": b["Name"], "created": b.get("CreationDate"), "region": b.get("BucketRegion", "")}
        for b in response.get("Buckets", [])
    ]


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
        response = client_for(endpoint).upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ContentMD5=md5_b64,
        )
    return response["ETag"]


def list_parts(endpoint, bucket: str, key: str, upload_id: str) -> dict[int, str]:
    """Every part stored so far, number -> ETag (a worker's resume; never in a request)."""
    parts: dict[int, str] = {}
    marker = 0
    client = client_for(endpoint)
    while True:
        with s3_errors():
            response = client.list_parts(
                Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
            )
        for part in response.get("Parts", []):
            parts[part["PartNumber"]] = part["ETag"]
        if not response.get("IsTruncated"):
            return parts
        marker = int(response.get("NextPartNumberMarker") or max(parts))


def complete_multipart_upload(endpoint, bucket, key, upload_id, parts: dict[int, str]) -> None:
    ordered = [{"PartNumber": n, "ETag": parts[n]} for n in sorted(parts)]
    with s3_errors():
        client_for(endpoint).complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": ordered}
        )


def abort_multipart_upload(endpoint, bucket: str, key: str, upload_id: str) -> None:
    """Abort an upload; one that is already gone counts as aborted."""
    try:
        with s3_errors():
            client_for(endpoint).abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except S3Error as err:
        if err.code not in ("NoSuchUpload", "404"):
            raise


def put_object_file(endpoint, bucket, key, path, md5_b64: str, options: dict) -> None:
    """A small file in one PutObject."""
    with s3_errors(), open(path, "rb") as body:
        client_for(endpoint).put_object(
            Bucket=bucket, Key=key, Body=body, ContentMD5=md5_b64, **_upload_args(options)
        )


def object_size(endpoint, bucket: str, key: str) -> int:
    with s3_errors():
        return client_for(endpoint).head_object(Bucket=bucket, Key=key)["ContentLength"]
