"""Provider presets: the add form fills and validates per provider, and the
client each preset gets signs and checksums the way that provider accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console import s3
from console.forms import EndpointForm
from console.models import AuditEntry, Endpoint
from console.tests.servers import SelfSignedCert

pytestmark = pytest.mark.django_db


def _data(**overrides):
    data = {
        "name": "Storage",
        "provider": "other",
        "endpoint_url": "https://s3.example.org",
        "region": "",
        "addressing_style": "path",
        "verify_tls": "on",
        "access_key_id": "AKIDEXAMPLE",
        "secret_key": "secret",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _form(**overrides):
    form = EndpointForm(_data(**overrides))
    form.is_valid()
    return form


# Tencent COS


def test_cos_url_is_derived_from_the_region():
    form = _form(provider="cos", endpoint_url="", region="ap-beijing", addressing_style="virtual")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["endpoint_url"] == "https://cos.ap-beijing.myqcloud.com"
    endpoint = form.save()
    assert endpoint.endpoint_url == "https://cos.ap-beijing.myqcloud.com"
    assert endpoint.region == "ap-beijing"


def test_cos_region_is_taken_from_the_url_when_blank():
    form = _form(
        provider="cos",
        endpoint_url="https://cos.ap-shanghai.myqcloud.com",
        region="",
        addressing_style="virtual",
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["region"] == "ap-shanghai"


@pytest.mark.parametrize(
    "url", ["https://s3.example.org", "https://cos.ap-beijing.example.com", "https://myqcloud.com"]
)
def test_cos_refuses_a_url_that_is_not_cos(url):
    form = _form(provider="cos", endpoint_url=url, region="ap-beijing")
    assert "expected e.g. https://cos.ap-guangzhou.myqcloud.com" in str(form.errors["endpoint_url"])


def test_cos_refuses_a_url_of_another_region():
    form = _form(
        provider="cos", endpoint_url="https://cos.ap-beijing.myqcloud.com", region="ap-guangzhou"
    )
    assert "serves region ap-beijing but the region is ap-guangzhou" in str(
        form.errors["endpoint_url"]
    )


def test_cos_allows_virtual_addressing_only():
    form = EndpointForm(initial=EndpointForm.initial_for("cos"))
    assert [c[0] for c in form.fields["addressing_style"].choices] == ["virtual"]
    form = _form(provider="cos", endpoint_url="", region="ap-beijing", addressing_style="path")
    assert "path is not one of the available choices" in str(form.errors["addressing_style"])


# Aliyun OSS


def test_oss_internal_toggle_switches_to_the_internal_host():
    def _form(**fields):  # OSS is virtual-hosted only
        form = EndpointForm(_data(addressing_style="virtual", **fields))
        form.is_valid()
        return form

    form = _form(provider="oss", endpoint_url="", region="oss-cn-beijing", internal="on")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["endpoint_url"] == "https://oss-cn-beijing-internal.aliyuncs.com"
    form = _form(
        provider="oss", endpoint_url="https://oss-cn-beijing.aliyuncs.com", internal="on", region=""
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["endpoint_url"] == "https://oss-cn-beijing-internal.aliyuncs.com"
    form = _form(
        provider="oss", endpoint_url="https://oss-cn-beijing-internal.aliyuncs.com", region=""
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["endpoint_url"] == "https://oss-cn-beijing.aliyuncs.com"
    assert form.cleaned_data["region"] == "oss-cn-beijing"


def test_oss_form_shows_the_internal_toggle_and_others_do_not():
    html = str(EndpointForm(initial=EndpointForm.initial_for("oss")))
    assert 'type="checkbox" name="internal"' in html
    html = str(EndpointForm(initial=EndpointForm.initial_for("minio")))
    assert 'type="hidden" name="internal"' in html


# China Telecom ZOS


def test_zos_region_is_fixed_to_us_east_1():
    form = _form(
        provider="zos",
        endpoint_url="https://jiangsu-10.zos.ctyun.cn",
        region="cn-x",
        addressing_style="virtual",
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["region"] == "us-east-1"
    assert EndpointForm(initial=EndpointForm.initial_for("zos")).fields["region"].disabled


def test_zos_url_names_a_pool():
    form = _form(provider="zos", endpoint_url="https://zos.example.com")
    assert "jiangsu-10.zos.ctyun.cn" in str(form.errors["endpoint_url"])
    form = _form(provider="zos", endpoint_url="")
    assert "needs an endpoint URL" in str(form.errors["endpoint_url"])


# AWS and any-URL presets


def test_aws_allows_a_blank_url():
    form = _form(provider="aws", endpoint_url="", region="eu-west-1", addressing_style="virtual")
    assert form.is_valid(), form.errors
    assert form.save().endpoint_url == ""


@pytest.mark.parametrize("provider", ["ceph", "minio", "other"])
def test_any_url_presets_need_a_url_and_default_to_path_addressing(provider):
    form = _form(provider=provider, endpoint_url="")
    assert "needs an endpoint URL" in str(form.errors["endpoint_url"])
    assert EndpointForm.initial_for(provider)["addressing_style"] == "path"
    form = _form(provider=provider, endpoint_url="http://10.0.0.5:7480", region="")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["region"] == "us-east-1"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://files.example.org",
        "file:///etc/passwd",
        "data:text/html,hi",
        "s3.example.org",
        "https://user:pw@s3.example.org",
        "http://s3.example.org:99999",
        "http://s3.example.org:0",
        "http://s3.example.org:port",
    ],
)
def test_only_http_urls_are_accepted(url):
    form = _form(endpoint_url=url)
    assert "endpoint_url" in form.errors


def test_bad_pem_is_refused_and_a_certificate_accepted(tmp_path):
    form = _form(ca_bundle="-----BEGIN CERTIFICATE-----\nnot a certificate\n")
    assert "not a PEM certificate" in str(form.errors["ca_bundle"])
    form = _form(ca_bundle=SelfSignedCert(tmp_path).pem)
    assert form.is_valid(), form.errors


def test_session_token_needs_an_expiry():
    form = _form(session_token="FQoGZXIvYXdzE...")
    assert "need their expiry time" in str(form.errors["session_expires_at"])
    expires = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = _form(session_token="FQoGZXIvYXdzE...", session_expires_at=expires)
    assert form.is_valid(), form.errors
    endpoint = form.save()
    assert endpoint.session_token() == "FQoGZXIvYXdzE..."
    assert endpoint.session_state() == "valid"


def test_administrator_turns_share_links_off_per_endpoint(client, admin_user, make_endpoint):
    endpoint = make_endpoint("https://s3.example.org", name="Storage")
    assert endpoint.share_links
    client.force_login(admin_user)
    form = client.get(reverse("endpoint_edit", args=[endpoint.code])).content.decode()
    assert 'name="share_links"' in form and "Share links allowed" in form
    # An unticked checkbox is not sent at all.
    response = client.post(reverse("endpoint_edit", args=[endpoint.code]), _data(secret_key=""))
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.share_links and not endpoint.presigned_downloads
    page = client.get(reverse("endpoint_detail", args=[endpoint.code])).content.decode()
    assert "turned off (downloads go through the console)" in page
    client.post(
        reverse("endpoint_edit", args=[endpoint.code]),
        _data(secret_key="", share_links="on", browser_reachable="on"),
    )
    endpoint.refresh_from_db()
    assert endpoint.share_links and endpoint.presigned_downloads


def test_expiry_is_a_local_date_and_time_or_unix_seconds(settings):
    # COS's getSTS hands out ExpiredTime as Unix seconds; 1896112800 is 2030-01-31 18:00 UTC.
    settings.TIME_ZONE = "Asia/Shanghai"
    seconds = _form(session_token="t", session_expires_at=" 1896112800 ")
    assert seconds.is_valid(), seconds.errors
    assert seconds.cleaned_data["session_expires_at"] == datetime(2030, 1, 31, 18, 0, tzinfo=UTC)
    local = _form(session_token="t", session_expires_at="2030-02-01 02:00")
    assert local.is_valid(), local.errors
    assert local.cleaned_data["session_expires_at"] == datetime(2030, 1, 31, 18, 0, tzinfo=UTC)
    assert "Unix seconds" in str(local["session_expires_at"].help_text)


@pytest.mark.parametrize(
    "value, words",
    [
        ("1896112800000", "milliseconds have three digits more"),
        ("9" * 5000, "from 946684800 (year 2000) to 4102444800 (year 2100)"),
        ("12", "from 946684800 (year 2000) to 4102444800 (year 2100)"),
        ("9999-12-31 23:59", "between the years 2000 and 2100"),
        ("0001-01-01 00:00", "between the years 2000 and 2100"),
        ("tomorrow", "or Unix seconds (1896112800)"),
    ],
)
def test_absurd_expiry_is_a_field_error_in_words(value, words, client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("endpoint_add"), _data(session_token="t", session_expires_at=value)
    )
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not Endpoint.objects.exists()


def test_new_endpoint_needs_a_secret():
    form = _form(secret_key="")
    assert "secret key is required" in str(form.errors["secret_key"])


# The add page through the browser's eyes


def test_add_page_saves_audits_and_redirects(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("endpoint_add"),
        _data(provider="cos", endpoint_url="", region="ap-chengdu", addressing_style="virtual"),
    )
    endpoint = Endpoint.objects.get(name="Storage")
    assert response.status_code == 302
    assert response["Location"] == reverse("endpoint_detail", args=[endpoint.code])
    assert endpoint.endpoint_url == "https://cos.ap-chengdu.myqcloud.com"
    assert endpoint.created_by == admin_user
    entry = AuditEntry.objects.get(action="endpoint.create")
    assert entry.endpoint == endpoint and entry.username == "admin"


def test_add_page_shows_errors_in_words(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("endpoint_add"), _data(endpoint_url="javascript:alert(1)"))
    assert response.status_code == 200
    assert b"Enter an http:// or https:// URL." in response.content
    assert not Endpoint.objects.exists()


def test_provider_switch_rerenders_the_preset_fields_through_htmx(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("endpoint_add")).content.decode()
    # The select asks for the fields again with only itself and the name: never a
    # secret in a URL.
    select = page[page.index('<select name="provider"') :]
    select = select[: select.index(">")]
    assert f'hx-get="{reverse("endpoint_add")}"' in select
    assert 'hx-include="this, [name=name]"' in select
    assert 'hx-target="#endpoint-fields"' in select

    response = client.get(
        reverse("endpoint_add"), {"provider": "zos", "name": "Pool"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="endpoint-fields"')
    assert 'value="Pool"' in html
    assert 'placeholder="https://jiangsu-10.zos.ctyun.cn"' in html
    assert 'value="us-east-1"' in html and "Fixed by the provider." in html
    assert '<option value="zos" selected>' in html

    html = client.get(
        reverse("endpoint_add"), {"provider": "cos"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'value="ap-guangzhou"' in html and "cos.ap-guangzhou.myqcloud.com" in html
    assert 'value="path"' not in html


def test_expiring_and_expired_credentials_are_warned_about(client, admin_user, make_endpoint):
    soon = make_endpoint("http://127.0.0.1:9", name="Soon", session_token="t1")
    soon.session_expires_at = timezone.now() + timedelta(minutes=20)
    soon.save()
    gone = make_endpoint("http://127.0.0.1:9", name="Gone", session_token="t2")
    gone.session_expires_at = timezone.now() - timedelta(minutes=5)
    gone.save()
    later = make_endpoint("http://127.0.0.1:9", name="Later", session_token="t3")
    later.session_expires_at = timezone.now() + timedelta(hours=25)
    later.save()
    client.force_login(admin_user)
    home = client.get(reverse("home")).content.decode()
    assert home.count("credentials expire soon") == 1
    assert home.count("credentials expired") == 1
    detail = client.get(reverse("endpoint_detail", args=[soon.code])).content.decode()
    assert "expires in" in detail and "badge warning" in detail
    detail = client.get(reverse("endpoint_detail", args=[gone.code])).content.decode()
    assert "expired at" in detail and "badge error" in detail
    detail = client.get(reverse("endpoint_detail", args=[later.code])).content.decode()
    assert "valid until" in detail and "badge" not in detail


# The clients each preset gets


@pytest.mark.parametrize("provider", ["cos", "oss", "zos", "ceph", "minio", "other"])
def test_non_aws_presets_sign_v4_and_checksum_only_when_required(provider, make_endpoint):
    url = {
        "cos": "https://cos.ap-guangzhou.myqcloud.com",
        "oss": "https://oss-cn-hangzhou.aliyuncs.com",
        "zos": "https://jiangsu-10.zos.ctyun.cn",
    }.get(provider, "http://127.0.0.1:9")
    config = s3.client_for(make_endpoint(url, provider=provider)).meta.config
    assert config.signature_version == "s3v4"
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"


def test_aws_keeps_the_boto3_checksum_defaults(make_endpoint):
    config = s3.client_for(make_endpoint("", provider="aws", region="eu-west-1")).meta.config
    assert config.signature_version == "s3v4"
    assert config.request_checksum_calculation == "when_supported"
    assert config.response_checksum_validation == "when_supported"
    assert config.retries["mode"] == "standard"


def test_the_transfer_client_and_the_plain_client_are_both_kept(make_endpoint):
    # Building a client costs tens of milliseconds; a part upload must not evict
    # the client every listing uses, nor the other way round.
    endpoint = make_endpoint("http://127.0.0.1:9")
    plain = s3.client_for(endpoint)
    transfer = s3.client_for(endpoint, transfer=True)
    assert transfer is not plain
    assert s3.client_for(endpoint) is plain
    assert s3.client_for(endpoint, transfer=True) is transfer
    assert transfer.meta.config.s3["payload_signing_enabled"] is False
    assert "payload_signing_enabled" not in plain.meta.config.s3


def test_editing_an_endpoint_gives_a_new_client(client, admin_user, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9")
    before = s3.client_for(endpoint)
    assert s3.client_for(endpoint) is before
    client.force_login(admin_user)
    data = _data(endpoint_url="http://127.0.0.1:10", secret_key="", name=endpoint.name)
    assert client.post(reverse("endpoint_edit", args=[endpoint.code]), data).status_code == 302
    endpoint.refresh_from_db()
    after = s3.client_for(endpoint)
    assert after is not before
    assert after.meta.endpoint_url == "http://127.0.0.1:10"
