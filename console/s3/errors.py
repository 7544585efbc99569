"""S3 failures in words.

Every boto3 and botocore failure becomes an `S3Error` here, whose message is in
words and carries the S3 error code, HTTP status and request id; views and tasks
never see any other exception from storage. Nothing here talks to a server, so
every other module of the package can import it.
"""

from __future__ import annotations

import socket
import ssl
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EndpointResolutionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from django.utils.translation import gettext_lazy as _

from console.crypto import SecretUnreadable

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
    "ConnectionBroken": _("The connection broke while data was on its way; try again."),
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
    "ConnectionBroken",
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
    if isinstance(exc, (ResponseStreamingError, IncompleteReadError)):
        # An answer cut off in the middle of its body.
        return S3Error("ConnectionBroken")
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
