"""Secrets at rest and in use.

A stored secret key and session token must never come back out: not in a page, a
log record, an audit row, an error. They are encrypted with authenticated encryption
under rotatable keys.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from console import crypto, s3
from console.models import AuditEntry, Endpoint, Grant
from console.tests.matrix import Ctx
from console.tests.servers import closed_port_url
from console.tests.test_permissions import all_cases

SECRET = "sk-" + uuid.uuid4().hex + "-never-shown"
TOKEN = "tok-" + uuid.uuid4().hex + "-never-shown"


@pytest.fixture
def secret_endpoint(db, s3_target, admin_user):
    # moto without signature checks accepts any secret and token, so the
    # operations below succeed while using values only this test knows.
    if not s3_target.is_moto:
        pytest.skip("needs an S3 server that accepts an invented secret (moto)")
    endpoint = Endpoint(
        name="Secretive",
        provider="other",
        endpoint_url=s3_target.url,
        region="us-east-1",
        addressing_style="path",
        access_key_id="AKIDSECRETIVE",
        session_expires_at=timezone.now() + timedelta(minutes=30),
    )
    endpoint.set_secret_key(SECRET)
    endpoint.set_session_token(TOKEN)
    endpoint.save()
    return endpoint


def _assert_clean(text: str, where: str) -> None:
    assert SECRET not in text, f"secret key in {where}"
    assert TOKEN not in text, f"session token in {where}"


def _pages(client, endpoint, s3_target, bucket, staff):
    """Every GET page the console has, for this endpoint, as `client` sees it."""
    grant = Grant.objects.create(endpoint=endpoint, user=staff, level=30)
    ctx = Ctx(endpoint, bucket, "hello.txt", s3_target, extra={"grant_id": grant.pk})
    for case in all_cases():
        if case.method != "get":
            continue
        url = reverse(case.name, kwargs=case.kwargs(ctx))
        if case.query(ctx):
            url += "?" + urlencode(case.query(ctx))
        response = client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        yield url, response.status_code, body.decode(errors="replace")


@pytest.mark.s3
def test_stored_secrets_appear_in_no_page_log_audit_or_error(
    secret_endpoint, s3_target, client, admin_user, caplog
):
    caplog.set_level(logging.DEBUG)
    for name in ("console", "buckets", "objects", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    client.force_login(admin_user)
    bucket = s3_target.make_bucket("secret")
    s3_target.client().put_object(Bucket=bucket, Key="hello.txt", Body=b"hello")
    endpoint = secret_endpoint

    # Successful S3 work through the console.
    assert bucket in [b["name"] for b in s3.list_buckets(endpoint)]
    result = client.post(reverse("endpoint_test", args=[endpoint.code]))
    assert b"Connected" in result.content

    seen = []
    for url, status, body in _pages(client, endpoint, s3_target, bucket, admin_user):
        assert status < 500, f"{url} answered {status}"
        _assert_clean(body, url)
        assert endpoint.secret_key_encrypted not in body
        seen.append(url)
    assert reverse("endpoint_edit", args=[endpoint.code]) in seen
    assert reverse("buckets:list", args=[endpoint.code]) in seen

    # Failing S3 work: a missing bucket, then an endpoint that refuses connections.
    with pytest.raises(s3.S3Error) as missing:
        with s3.s3_errors():
            s3.client_for(endpoint).head_bucket(Bucket=s3_target.bucket_name("missing"))
    errors = [missing.value]
    endpoint.endpoint_url = closed_port_url()
    endpoint.save()
    response = client.get(reverse("buckets:list", args=[endpoint.code]))
    assert response.status_code == 200 and b"ConnectionRefused" in response.content
    _assert_clean(response.content.decode(), "bucket list error")
    response = client.post(reverse("endpoint_test", args=[endpoint.code]))
    assert b"ConnectionRefused" in response.content
    _assert_clean(response.content.decode(), "test result")
    with pytest.raises(s3.S3Error) as refused:
        s3.list_buckets(endpoint)
    errors.append(refused.value)
    for error in errors:
        text = " ".join([str(error), repr(error), error.message, error.detail, str(error.args)])
        _assert_clean(text, f"S3Error {error.code}")

    # A failed edit shows the form again without what was typed into the secret fields.
    response = client.post(
        reverse("endpoint_edit", args=[endpoint.code]),
        {
            "name": endpoint.name,
            "provider": "other",
            "endpoint_url": "ftp://x",
            "secret_key": SECRET,
        },
    )
    assert response.status_code == 200 and b"http://" in response.content
    _assert_clean(response.content.decode(), "edit form with errors")

    # Logs, at DEBUG for our loggers and Django's, and the audit rows.
    assert caplog.records, "nothing was logged at all; the capture is not working"
    for record in caplog.records:
        _assert_clean(record.getMessage(), f"log record of {record.name}")
    for entry in AuditEntry.objects.all():
        row = " ".join(str(getattr(entry, f.attname)) for f in AuditEntry._meta.fields)
        _assert_clean(row, f"audit row {entry.action}")
    assert AuditEntry.objects.filter(action="endpoint.test").count() == 2


def test_botocore_debug_logs_stay_off_whatever_the_log_level():
    # botocore logs request headers at DEBUG: with botocore 1.44 a list_buckets call
    # logs the session token and the Authorization signature (the secret key itself
    # is not logged). The settings keep botocore, boto3, s3transfer and urllib3 at
    # WARNING whatever LOG_LEVEL says; the test above captures the root logger at
    # DEBUG under exactly this configuration.
    for name in ("botocore", "botocore.endpoint", "botocore.auth", "boto3", "s3transfer"):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING, name
    assert logging.getLogger("urllib3").getEffectiveLevel() >= logging.WARNING


def test_secret_fields_are_write_only(db, client, admin_user, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9", "AKIDWRITEONLY", SECRET, session_token=TOKEN)
    client.force_login(admin_user)
    html = client.get(reverse("endpoint_edit", args=[endpoint.code])).content.decode()
    _assert_clean(html, "edit form")
    assert 'name="secret_key"' in html and 'name="session_token"' in html
    for field in ("secret_key", "session_token"):
        tag = html[html.index(f'name="{field}"') - 200 : html.index(f'name="{field}"') + 200]
        tag = tag[tag.rindex("<input") :]
        tag = tag[: tag.index(">")]
        assert "value=" not in tag, tag
    assert "Leave blank to keep the stored secret." in html


def test_blank_secret_on_edit_keeps_the_stored_one(db, client, admin_user, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9", "AKIDKEEP", SECRET, session_token=TOKEN)
    endpoint.session_expires_at = timezone.now() + timedelta(hours=5)
    endpoint.save()
    client.force_login(admin_user)
    data = {
        "name": "Renamed",
        "provider": "other",
        "endpoint_url": "http://127.0.0.1:9",
        "region": "us-east-1",
        "addressing_style": "path",
        "access_key_id": "AKIDKEEP",
        "verify_tls": "on",
        "secret_key": "",
        "session_token": "",
        "session_expires_at": (timezone.now() + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
    }
    response = client.post(reverse("endpoint_edit", args=[endpoint.code]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed"
    assert endpoint.secret_key() == SECRET
    assert endpoint.session_token() == TOKEN

    response = client.post(
        reverse("endpoint_edit", args=[endpoint.code]), {**data, "secret_key": "new-secret"}
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.secret_key() == "new-secret"


def test_endpoint_forms_hide_secrets_from_error_reports(db, client, admin_user):
    # Django's error reports (500 mails, debug pages) leave out parameters the
    # view declares sensitive.
    client.force_login(admin_user)
    response = client.post(reverse("endpoint_add"), {"secret_key": SECRET, "session_token": TOKEN})
    assert {"secret_key", "session_token"} <= set(response.wsgi_request.sensitive_post_parameters)
    endpoint = Endpoint(name="x", endpoint_url="http://127.0.0.1:9", access_key_id="a")
    endpoint.set_secret_key("s")
    endpoint.save()
    response = client.post(reverse("endpoint_edit", args=[endpoint.code]), {"secret_key": SECRET})
    assert "secret_key" in response.wsgi_request.sensitive_post_parameters


def test_ciphertext_is_not_the_plaintext(db, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9", "AKID", SECRET, session_token=TOKEN)
    row = Endpoint.objects.values("secret_key_encrypted", "session_token_encrypted").get(
        pk=endpoint.pk
    )
    for stored, plain in (
        (row["secret_key_encrypted"], SECRET),
        (row["session_token_encrypted"], TOKEN),
    ):
        assert stored and plain not in stored and stored != plain
    # The same plaintext encrypts differently each time (random IV).
    assert crypto.encrypt(SECRET) != crypto.encrypt(SECRET)


def _tamper(token: str) -> str:
    raw = bytearray(token.encode())
    middle = len(raw) // 2
    raw[middle] = ord("A") if raw[middle] != ord("A") else ord("B")
    return raw.decode()


def test_tampered_secret_is_refused_in_words_not_a_500(db, client, admin_user, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9", "AKID", SECRET)
    Endpoint.objects.filter(pk=endpoint.pk).update(
        secret_key_encrypted=_tamper(endpoint.secret_key_encrypted)
    )
    endpoint.refresh_from_db()
    with pytest.raises(crypto.SecretUnreadable):
        endpoint.secret_key()
    s3.forget(endpoint)
    client.force_login(admin_user)
    response = client.get(reverse("buckets:list", args=[endpoint.code]))
    assert response.status_code == 200
    assert b"cannot be decrypted" in response.content and b"SecretUnreadable" in response.content
    response = client.post(reverse("endpoint_test", args=[endpoint.code]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'data-code="SecretUnreadable"' in response.content
    # The endpoint can still be repaired by storing the secret again.
    assert client.get(reverse("endpoint_edit", args=[endpoint.code])).status_code == 200


@pytest.fixture
def keys():
    return {name: Fernet.generate_key().decode() for name in "ABC"}


def test_rotate_secrets_moves_every_secret_to_the_newest_key(db, settings, keys, make_endpoint):
    settings.ENCRYPTION_KEYS = [keys["A"]]
    first = make_endpoint("http://127.0.0.1:9", "AKID1", SECRET, session_token=TOKEN)
    second = make_endpoint("http://127.0.0.1:9", "AKID2", "other-secret")
    updated = {e.pk: e.updated_at for e in (first, second)}

    settings.ENCRYPTION_KEYS = [keys["B"], keys["A"]]
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))

    settings.ENCRYPTION_KEYS = [keys["B"]]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.secret_key() == SECRET
    assert first.session_token() == TOKEN
    assert second.secret_key() == "other-secret"
    assert second.session_token() == ""
    assert {e.pk: e.updated_at for e in (first, second)} == updated


def test_rotate_secrets_with_an_unknown_key_fails_and_changes_nothing(
    db, settings, keys, make_endpoint
):
    settings.ENCRYPTION_KEYS = [keys["A"]]
    first = make_endpoint("http://127.0.0.1:9", "AKID1", SECRET, session_token=TOKEN)
    second = make_endpoint("http://127.0.0.1:9", "AKID2", "other-secret")
    before = list(
        Endpoint.objects.order_by("pk").values_list(
            "secret_key_encrypted", "session_token_encrypted"
        )
    )
    settings.ENCRYPTION_KEYS = [keys["C"]]  # A is gone: nothing can be decrypted
    with pytest.raises(CommandError, match="Endpoint 1.*cannot be decrypted.*Nothing was changed"):
        call_command("rotate_secrets")
    after = list(
        Endpoint.objects.order_by("pk").values_list(
            "secret_key_encrypted", "session_token_encrypted"
        )
    )
    assert after == before
    settings.ENCRYPTION_KEYS = [keys["A"]]
    assert Endpoint.objects.get(pk=first.pk).secret_key() == SECRET
    assert Endpoint.objects.get(pk=second.pk).secret_key() == "other-secret"
