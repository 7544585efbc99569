"""boto3 clients: how they are configured, built and cached, and the connection test.

The rest of the package (and a few callers that need a raw client) take clients
from `client_for`. Secrets are decrypted in memory when a client is built and
never leave this module.
"""

from __future__ import annotations

import hashlib
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
from botocore.utils import parse_timestamp as botocore_parse_timestamp
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from console.providers import Addressing
from console.s3.errors import S3Error, request_id_of, s3_errors

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


# The connection test: whether these credentials reach the endpoint at all.


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
