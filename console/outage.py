"""When a service the console needs is away for a moment.

The database or Redis (cache and broker) may be unreachable for some seconds (a
restart, a failover). A request that meets such an outage gets 503 with
Retry-After and a sentence, not Django's bare "Server Error (500)": the page
and the upload module then try again. `/healthz` says which service is down.
"""

from __future__ import annotations

import json
import logging
import sys

from django.db import DatabaseError, connection
from django.http import HttpResponse

log = logging.getLogger("console.outage")

RETRY_AFTER_SECONDS = 10


def redis_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout

    return (RedisConnectionError, RedisTimeout, BrokerError)


def service_down(exc: BaseException | None) -> str:
    """The service an exception says is unreachable ("database", "redis"), or ""."""
    if exc is None:
        return ""
    if isinstance(exc, DatabaseError) and not _is_data_error(exc):
        return "database"
    if isinstance(exc, redis_errors()):
        return "redis"
    return ""


def _is_data_error(exc: DatabaseError) -> bool:
    """Errors about the data or the SQL (bugs, not outages) stay 500s."""
    from django.db import DataError, IntegrityError, ProgrammingError

    return isinstance(exc, DataError | IntegrityError | ProgrammingError)


MESSAGES = {
    "database": "The console's database is not answering right now.",
    "redis": "The console's queue and cache service is not answering right now.",
}


def server_error(request, *args, **kwargs):
    """handler500: 503 in words for an outage, Django's plain 500 for anything else.

    No template, no session and no database here: the page must render while
    they are away."""
    service = service_down(sys.exc_info()[1])
    if not service:
        from django.views.defaults import server_error as plain

        return plain(request, *args, **kwargs)
    if _is_healthz(request):
        # A session cookie (a person's browser) has the login check ask the database
        # before the view runs: /healthz still says which service is down.
        from console.views import healthz

        return healthz(request)
    sentence = MESSAGES[service] + " Nothing was lost; try again in a few seconds."
    wants_json = "/chunks/" in request.path or "application/json" in request.headers.get(
        "Accept", ""
    )
    if wants_json:
        body = json.dumps({"error": sentence, "retry": True, "service": service})
        response = HttpResponse(body, status=503, content_type="application/json")
    elif request.headers.get("HX-Request"):
        body = f'<p class="message error" role="alert">{sentence}</p>'
        response = HttpResponse(body, status=503)
    else:
        response = HttpResponse(PAGE.format(sentence=sentence), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _is_healthz(request) -> bool:
    from django.urls import Resolver404, resolve

    try:
        return resolve(request.path_info).url_name == "healthz"
    except Resolver404:
        return False


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unavailable for a moment</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto;">
<h1>Unavailable for a moment</h1><p>{sentence}</p>
<p>This page tries again by itself every 10 seconds.</p></body></html>"""


def checks() -> dict[str, str]:
    """Each service the console needs, "ok" or what went wrong (in a few words)."""
    results = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        results["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        results["database"] = f"down ({type(exc).__name__})"
        try:
            connection.close()  # the next request connects afresh
        except Exception:  # noqa: BLE001, S110 - closing a dead connection may fail too
            pass
    try:
        from django.core.cache import cache

        cache.get("healthz")
        results["cache"] = "ok"
    except Exception as exc:  # noqa: BLE001
        results["cache"] = f"down ({type(exc).__name__})"
    try:
        from console.celery import app

        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        results["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        results["broker"] = f"down ({type(exc).__name__})"
    return results
