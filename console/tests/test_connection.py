"""Test connection: every outcome is told apart, in words, with code and request id.

Signatures, unknown keys and permissions come from a moto server that checks them
(`auth_moto`). Clock skew, TLS and a hanging endpoint come from small local servers
(console/tests/servers.py), because no S3 server produces them on demand.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from console import s3
from console.models import AuditEntry
from console.tests.servers import (
    SKEWED_XML,
    FakeS3,
    SelfSignedCert,
    SilentServer,
    closed_port_url,
)

pytestmark = [pytest.mark.local_servers, pytest.mark.django_db]


def _test_page(client, endpoint, htmx=True, **data):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("endpoint_test", args=[endpoint.code]), data, **headers)


# Signatures and permissions, from moto with IAM enforcement on.


def test_valid_credentials_connect_and_count_buckets(auth_moto, make_endpoint):
    endpoint = make_endpoint(auth_moto.url, *auth_moto.allowed)
    result = s3.check_connection(endpoint)
    assert result.ok and result.code == "OK"
    assert result.bucket_count == 1
    assert "Connected" in result.message
    assert result.request_id


def test_unknown_access_key_is_named(auth_moto, make_endpoint):
    endpoint = make_endpoint(auth_moto.url, "AKIANOSUCHKEY0000000", "whatever")
    result = s3.check_connection(endpoint)
    assert not result.ok
    assert result.code == "InvalidAccessKeyId"
    assert "access key ID is not known" in result.message
    assert result.request_id


def test_wrong_secret_is_named(auth_moto, make_endpoint):
    access_key, _secret = auth_moto.allowed
    endpoint = make_endpoint(auth_moto.url, access_key, "not-the-secret")
    result = s3.check_connection(endpoint)
    assert not result.ok
    assert result.code == "SignatureDoesNotMatch"
    assert "secret key is wrong" in result.message
    assert result.request_id


def test_access_denied_is_named(auth_moto, make_endpoint):
    endpoint = make_endpoint(auth_moto.url, *auth_moto.denied)
    result = s3.check_connection(endpoint)
    assert not result.ok
    assert result.code == "AccessDenied"
    assert "not allowed" in result.message
    assert result.request_id


def test_bucket_named_when_listing_is_not_allowed(auth_moto, make_endpoint):
    endpoint = make_endpoint(auth_moto.url, *auth_moto.one_bucket)
    assert s3.check_connection(endpoint).code == "AccessDenied"
    result = s3.check_connection(endpoint, bucket=auth_moto.bucket)
    assert result.ok, result.message
    assert auth_moto.bucket in result.message


def test_page_shows_outcome_code_and_request_id(auth_moto, make_endpoint, client, admin_user):
    client.force_login(admin_user)
    endpoint = make_endpoint(auth_moto.url, auth_moto.allowed[0], "not-the-secret")
    response = _test_page(client, endpoint)
    assert response.status_code == 200
    html = response.content.decode()
    assert "secret key is wrong" in html
    assert 'data-code="SignatureDoesNotMatch"' in html
    entry = AuditEntry.objects.get(action="endpoint.test")
    assert entry.outcome == AuditEntry.Outcome.FAILED
    assert entry.request_id and entry.request_id in html


@pytest.mark.parametrize(
    "case, code, words",
    [
        ("unknown", "InvalidAccessKeyId", "access key ID is not known"),
        ("denied", "AccessDenied", "not allowed"),
        ("skew", "RequestTimeTooSkewed", "clock differs"),
        ("dns", "DnsFailure", "could not be resolved"),
        ("refused", "ConnectionRefused", "refused the connection"),
    ],
)
def test_page_tells_each_failure_apart(
    case, code, words, auth_moto, make_endpoint, client, admin_user
):
    client.force_login(admin_user)
    with FakeS3(status=403, body=SKEWED_XML, request_id="skew-request-1") as skewed:
        endpoint = {
            "unknown": lambda: make_endpoint(auth_moto.url, "AKIANOSUCHKEY0000000", "x"),
            "denied": lambda: make_endpoint(auth_moto.url, *auth_moto.denied),
            "skew": lambda: make_endpoint(skewed.url),
            "dns": lambda: make_endpoint("http://no-such-host.invalid"),
            "refused": lambda: make_endpoint(closed_port_url()),
        }[case]()
        response = _test_page(client, endpoint)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-code="{code}"' in html and words in html
    assert f"<code>{code}</code>" in html
    entry = AuditEntry.objects.get(action="endpoint.test")
    if entry.request_id:
        assert entry.request_id in html
    assert case in ("dns", "refused") or entry.request_id


def test_page_without_htmx_shows_success(auth_moto, make_endpoint, client, admin_user):
    client.force_login(admin_user)
    endpoint = make_endpoint(auth_moto.url, *auth_moto.allowed)
    response = _test_page(client, endpoint, htmx=False)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'data-code="OK"' in html and "Connected" in html
    assert AuditEntry.objects.get(action="endpoint.test").outcome == AuditEntry.Outcome.OK


# Failures on the way: stand-in servers and unreachable addresses.


def test_clock_skew_is_named(make_endpoint):
    # A stand-in: moto never complains about the clock, so this server answers the
    # error document S3 sends when the request time is more than 15 minutes off.
    with FakeS3(status=403, body=SKEWED_XML, request_id="skew-request-1") as server:
        result = s3.check_connection(make_endpoint(server.url))
    assert not result.ok
    assert result.code == "RequestTimeTooSkewed"
    assert "clock" in result.message
    assert result.request_id == "skew-request-1"


def test_dns_failure_is_named(make_endpoint):
    result = s3.check_connection(make_endpoint("http://no-such-host.invalid"))
    assert not result.ok
    assert result.code == "DnsFailure"
    assert "could not be resolved" in result.message


def test_connection_refused_is_named(make_endpoint):
    result = s3.check_connection(make_endpoint(closed_port_url()))
    assert not result.ok
    assert result.code == "ConnectionRefused"
    assert "refused the connection" in result.message


SUSPENDED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    "<Error><Code>UserSuspended</Code><Message></Message>"
    "<RequestId>suspended-request-1</RequestId></Error>"
)
INTERNAL_ERROR_HTML = "<html><body>Internal Server Error</body></html>"


def test_probe_tries_an_endpoint_that_never_answers_once(make_endpoint, settings):
    settings.S3_CONNECT_TIMEOUT = 0.5
    settings.S3_READ_TIMEOUT = 0.5
    with SilentServer() as server:
        result = s3.check_connection(make_endpoint(server.url))
    assert result.code == "Timeout"
    assert server.connections == 1


@pytest.mark.parametrize("attempts", [1, 2])
def test_clients_try_exactly_s3_max_attempts_times(attempts, make_endpoint, settings):
    # A stand-in that answers every request with HTTP 500, which clients retry.
    settings.S3_MAX_ATTEMPTS = attempts
    with FakeS3(status=500, body=INTERNAL_ERROR_HTML) as server:
        with pytest.raises(s3.S3Error) as failure:
            s3.list_buckets(make_endpoint(server.url))
    assert failure.value.code == "500"
    assert server.hits == ["GET /"] * attempts


def test_https_to_a_plain_http_port_says_it_is_not_tls(make_endpoint):
    with FakeS3() as server:
        result = s3.check_connection(make_endpoint(server.url.replace("http:", "https:")))
    assert not result.ok
    assert result.code == "NotTls"
    assert "does not speak TLS on this port (is it plain HTTP?)" in result.message
    assert "certificate" not in result.message


def test_suspended_user_is_named(make_endpoint):
    # A stand-in: Ceph's gateway answers UserSuspended for a suspended user; moto
    # has no such state.
    with FakeS3(status=403, body=SUSPENDED_XML, request_id="suspended-request-1") as server:
        result = s3.check_connection(make_endpoint(server.url))
    assert not result.ok
    assert result.code == "UserSuspended"
    assert "suspended" in result.message
    assert result.message != str(s3.MESSAGES["Unknown"])
    assert result.request_id == "suspended-request-1"


def test_timeout_is_named(make_endpoint, settings):
    settings.S3_CONNECT_TIMEOUT = 0.5
    settings.S3_READ_TIMEOUT = 0.5
    with SilentServer() as server:
        result = s3.check_connection(make_endpoint(server.url))
    assert not result.ok
    assert result.code == "Timeout"
    assert "did not answer in time" in result.message


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    cert = SelfSignedCert(tmp_path_factory.mktemp("tls"))
    with FakeS3(tls=cert) as server:
        server.cert = cert
        yield server


def test_untrusted_certificate_is_a_tls_failure(tls_server, make_endpoint):
    result = s3.check_connection(make_endpoint(tls_server.url))
    assert not result.ok
    assert result.code == "TlsFailure"
    assert "certificate" in result.message


def test_certificate_trusted_through_ca_bundle_passes(tls_server, make_endpoint):
    endpoint = make_endpoint(tls_server.url, verify_tls=True, ca_bundle=tls_server.cert.pem)
    result = s3.check_connection(endpoint)
    assert result.ok, result.message
    assert result.bucket_count == 1


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_unverified_tls_passes(tls_server, make_endpoint):
    result = s3.check_connection(make_endpoint(tls_server.url, verify_tls=False))
    assert result.ok, result.message


def test_trusted_certificate_for_another_host_is_a_tls_failure(tmp_path, make_endpoint):
    cert = SelfSignedCert(tmp_path, hosts=("storage.example.org",))
    with FakeS3(tls=cert) as server:
        result = s3.check_connection(make_endpoint(server.url, ca_bundle=cert.pem))
    assert not result.ok and result.code == "TlsFailure"


def test_plain_http_to_a_tls_endpoint_is_named(tls_server, make_endpoint):
    result = s3.check_connection(make_endpoint(tls_server.url.replace("https:", "http:")))
    assert not result.ok
    assert result.code == "ConnectionClosed"
    assert "http or https" in result.message


def test_gateway_error_without_an_s3_body_is_named(make_endpoint):
    # A proxy in front of the storage answering with its own HTML page.
    with FakeS3(status=502, body="<html><body>Bad Gateway</body></html>") as server:
        result = s3.check_connection(make_endpoint(server.url))
    assert not result.ok
    assert result.code == "502"
    assert "gateway" in result.message and "HTTP 502" in result.message


def test_every_failure_has_its_own_words():
    codes = [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "RequestTimeTooSkewed",
        "DnsFailure",
        "ConnectionRefused",
        "TlsFailure",
        "NotTls",
        "Timeout",
        "AccessDenied",
        "UserSuspended",
    ]
    messages = {str(s3.MESSAGES[code]) for code in codes}
    assert len(messages) == len(codes)
