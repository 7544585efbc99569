"""Two middlewares: the Content Security Policy header on every response, and
S3 failures that no view caught turned into pages."""

from __future__ import annotations

import logging

from django.shortcuts import render

from console.s3 import TRANSLATED, S3Error, translate

log = logging.getLogger("console.s3")

# No inline script, no eval, nothing from other origins but what a page names.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "frame-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Every response carries the policy, unless its view set one of its own (the preview does)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class S3ErrorPageMiddleware:
    """The safety net under every view: an S3 failure is a page in words, never a 500.

    It sits below ContentSecurityPolicyMiddleware in MIDDLEWARE, so the error
    page it renders passes back up through it and gets the header too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (S3Error, *TRANSLATED)):
            return None
        error = translate(exception)
        log.warning(
            "s3 error %s status=%s request_id=%s", error.code, error.status, error.request_id
        )
        if error.not_found:
            status = 404
        elif error.code == "AccessDenied":
            status = 403
        elif error.status == 400:
            # The endpoint refused what was asked (a malformed version id, say):
            # the request was at fault, not the gateway.
            status = 400
        else:
            status = 502
        template = "_s3_error.html" if getattr(request, "htmx", False) else "s3_error.html"
        return render(request, template, {"error": error}, status=status)
