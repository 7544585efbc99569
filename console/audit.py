"""The audit log: every change, who did it, and how it ended."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

from console import s3
from console.models import AuditEntry

log = logging.getLogger("console.audit")


def _client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    request_or_user,
    action: str,
    *,
    endpoint=None,
    bucket: str = "",
    key: str = "",
    outcome: str = AuditEntry.Outcome.OK,
    error=None,
    request_id: str = "",
    detail: str = "",
) -> AuditEntry:
    """Write one audit row. Pass `error` (an S3Error) for a failed action.

    Callers pass words, never secrets: the endpoint is stored by name, and an
    S3Error's text is built from its code and our own messages.
    """
    request = request_or_user if hasattr(request_or_user, "META") else None
    user = getattr(request_or_user, "user", request_or_user)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    if error is not None:
        outcome = AuditEntry.Outcome.FAILED
        request_id = request_id or getattr(error, "request_id", "")
        detail = detail or str(error)
    entry = AuditEntry.objects.create(
        user=user,
        username=user.get_username() if user else "",
        endpoint=endpoint,
        endpoint_name=endpoint.name if endpoint else "",
        bucket=bucket,
        key=key,
        action=action,
        outcome=outcome,
        request_id=request_id or "",
        detail=detail[:2000],
        ip=_client_ip(request),
    )
    log.info(
        "audit action=%s outcome=%s user=%s endpoint=%s bucket=%s",
        action,
        entry.outcome,
        entry.username,
        entry.endpoint_name,
        bucket,
    )
    return entry


@dataclass
class Note:
    """What an audited block tells the audit row about its success.

    `answer`: the S3 response whose request id goes on the row. `detail`: set
    inside the block after the request, it goes on the success row alone (a
    failure row then carries the error's text, as `record` does).
    """

    answer: dict | None = None
    detail: str = ""


@contextmanager
def audited(request, action: str, *, endpoint=None, bucket: str = "", key: str = "", detail=""):
    """Audit the S3 requests of one change: the block's S3Error is recorded as a
    failure (its code and request id) and raised again; a block that ends
    normally is recorded as a success with the request id of `note.answer`.
    Any other exception (a refusal before the request, a bug) writes no row."""
    note = Note(detail=detail)
    where = {"endpoint": endpoint, "bucket": bucket, "key": key}
    try:
        yield note
    except s3.S3Error as err:
        record(request, action, **where, error=err, detail=detail)
        raise
    record(
        request,
        action,
        **where,
        detail=note.detail,
        request_id=s3.request_id_of(note.answer),
    )
