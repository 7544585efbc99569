"""Bucket policy documents: validation before sending, and ready-made templates.

The checks are the ones a person gets wrong by hand; the provider
still has the last word and its MalformedPolicy answer is shown in words.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

VERSIONS = ("2012-10-17", "2006-03-01")


def parse_policy(text: str) -> dict:
    """The policy as a dict, or a ValidationError saying what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("The policy is not valid JSON: %(error)s (line %(line)d, column %(col)d).")
            % {"error": exc.msg, "line": exc.lineno, "col": exc.colno}
        ) from None
    if not isinstance(document, dict):
        raise ValidationError(_("The policy must be a JSON object ({ … })."))
    errors = []
    version = document.get("Version")
    if version not in VERSIONS:
        errors.append(
            _('"Version" must be "2012-10-17" or "2006-03-01" (found %(found)s).')
            % {"found": json.dumps(version) if version is not None else _("nothing")}
        )
    statements = document.get("Statement")
    if statements is None:
        errors.append(_('The policy has no "Statement"; it needs at least one.'))
    else:
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            errors.append(_('"Statement" must be a statement or a non-empty list of them.'))
        else:
            for number, statement in enumerate(statements, 1):
                errors.extend(_statement_errors(number, statement))
    if errors:
        raise ValidationError(errors)
    return document


def _statement_errors(number: int, statement) -> list[str]:
    where = _("Statement %(n)d") % {"n": number}
    if not isinstance(statement, dict):
        return [_("%(where)s is not a JSON object.") % {"where": where}]
    errors = []
    if statement.get("Effect") not in ("Allow", "Deny"):
        errors.append(_('%(where)s: "Effect" must be "Allow" or "Deny".') % {"where": where})
    if ("Resource" in statement) == ("NotResource" in statement):
        errors.append(
            _('%(where)s: give exactly one of "Resource" or "NotResource".') % {"where": where}
        )
    if ("Action" in statement) == ("NotAction" in statement):
        errors.append(
            _('%(where)s: give exactly one of "Action" or "NotAction".') % {"where": where}
        )
    return errors


def _document(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def public_read(bucket: str) -> str:
    return _document(
        {
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/*"],
        }
    )


def referer_allow_list(bucket: str, referers: list[str]) -> str:
    """Hotlink protection: objects are readable only from the listed sites."""
    return _document(
        {
            "Sid": "AllowListedReferers",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"StringLike": {"aws:Referer": referers or ["https://example.com/*"]}},
        }
    )


def deny_insecure_transport(bucket: str) -> str:
    return _document(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


TEMPLATES = {
    "public-read": public_read,
    "referer": referer_allow_list,
    "secure-transport": deny_insecure_transport,
}


def template(name: str, bucket: str, referers: list[str] | None = None) -> str:
    if name == "referer":
        return referer_allow_list(bucket, referers or [])
    return TEMPLATES[name](bucket)
