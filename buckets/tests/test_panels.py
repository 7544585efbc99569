"""Every settings panel round-trips: write, read back, delete.

moto implements every panel, so there each one must work. Only another endpoint
(S3_TEST_URL) may answer that a panel is not supported (Ceph RGW pacific refuses
bucket logging and default encryption): the test then checks that the panel says
so and is skipped with that reason.
"""

from __future__ import annotations

import json
import re

import pytest

from console.models import AuditEntry

pytestmark = pytest.mark.s3
NOT_SUPPORTED = "Not supported by this endpoint."


def url(endpoint, bucket, slug):
    return f"/e/{endpoint.code}/b/{bucket}/settings/{slug}/"


@pytest.fixture
def panel(htmx_client, manager, endpoint, bucket):
    """get(slug) / post(slug, **data) as the manager, through htmx."""
    client = htmx_client(manager)

    class Panel:
        def get(self, slug, **query):
            response = client.get(url(endpoint, bucket, slug), query)
            assert response.status_code == 200
            return response.content.decode()

        def post(self, slug, data, status=200):
            response = client.post(url(endpoint, bucket, slug), data)
            assert response.status_code == status
            return response.content.decode()

    return Panel()


SLUGS = [
    "location",
    "versioning",
    "acl",
    "policy",
    "cors",
    "lifecycle",
    "tagging",
    "logging",
    "website",
    "encryption",
    "object-lock",
]


def side_list(body: str) -> str:
    found = re.search(r'<nav class="settings-nav"[^>]*>.*?</nav>', body, re.S)
    assert found, "no side list"
    return found.group(0)


def current_links(nav: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"[^>]*aria-current="page"', nav)


def test_a_panel_url_renders_the_side_list_with_that_panel_current(
    client_as, viewer, endpoint, bucket
):
    body = client_as(viewer).get(url(endpoint, bucket, "versioning")).content.decode()
    nav = side_list(body)
    assert 'aria-label="Bucket settings"' in nav
    for slug in SLUGS:
        target = url(endpoint, bucket, slug)
        # A real link, which htmx follows by swapping only the panel region.
        assert (
            f'<a href="{target}" hx-get="{target}" hx-target="#settings-panel" '
            'hx-swap="innerHTML" hx-push-url="true"'
        ) in nav
    assert current_links(nav) == [url(endpoint, bucket, "versioning")]
    # One panel at a time, inside the region the links swap.
    assert re.findall(r'<section id="panel-([^"]+)"', body) == ["versioning"]
    assert 'id="settings-panel"' in body and 'hx-trigger="load"' not in body


def test_the_settings_url_shows_the_first_panel(client_as, viewer, endpoint, bucket):
    response = client_as(viewer).get(f"/e/{endpoint.code}/b/{bucket}/settings/")
    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'<section id="panel-([^"]+)"', body) == ["location"]
    assert current_links(side_list(body)) == [url(endpoint, bucket, "location")]


def test_htmx_request_for_a_panel_returns_only_the_panel(htmx_client, viewer, endpoint, bucket):
    response = htmx_client(viewer).get(url(endpoint, bucket, "versioning"))
    body = response.content.decode()
    assert 'id="panel-versioning"' in body
    assert "<html" not in body and "<nav" not in body and "Danger zone" not in body
    # The swap renames the window, so the pushed history entry is named too.
    assert f"<title>{bucket} · Versioning</title>" in body
    # The same URL answers the whole page without htmx: caches must keep them apart.
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_of_a_panel_gets_the_whole_page(htmx_client, viewer, endpoint, bucket):
    # htmx asks for the page again when its history cache misses, and puts the
    # answer in place of the whole body.
    response = htmx_client(viewer).get(
        url(endpoint, bucket, "versioning"), HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    body = response.content.decode()
    assert "<html" in body and current_links(side_list(body)) == [
        url(endpoint, bucket, "versioning")
    ]


def test_the_danger_zone_is_there_only_for_those_who_may_manage_the_bucket(
    client_as, viewer, operator, manager, endpoint, bucket
):
    client = client_as(manager)
    for slug in ("location", "cors"):
        body = client.get(url(endpoint, bucket, slug)).content.decode()
        zone = re.search(r'<section class="danger-zone.*?</section>', body, re.S).group(0)
        assert "Danger zone" in zone
        assert f'href="/e/{endpoint.code}/b/{bucket}/delete/"' in zone
        assert "?everything=on" in zone and "Empty bucket…" in zone
        # Not in the heading any more, beside the link to the objects.
        assert "Delete bucket" not in body.split('<div class="bucket-settings">')[0]
    for user in (viewer, operator):
        body = client_as(user).get(url(endpoint, bucket, "location")).content.decode()
        assert "Danger zone" not in body and "Delete bucket" not in body
        assert "Empty bucket" not in body


def test_the_settings_page_answers_only_get(client_as, manager, endpoint, bucket):
    response = client_as(manager).post(f"/e/{endpoint.code}/b/{bucket}/settings/", {"op": "save"})
    assert response.status_code == 405


def test_location_is_read_only(panel, s3_target):
    body = panel.get("location")
    assert 'id="panel-location"' in body and "<html" not in body
    assert "<form" not in body


def test_versioning_round_trip(panel, bucket, s3_target):
    assert "never enabled" in panel.get("versioning")
    body = panel.post("versioning", {"op": "save", "status": "Enabled"})
    assert "Versioning is now enabled." in body
    assert s3_target.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert "suspended" in panel.post("versioning", {"status": "Suspended"})
    assert s3_target.client().get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    entries = AuditEntry.objects.filter(action="bucket.versioning", bucket=bucket)
    assert [e.detail for e in entries.order_by("at")] == ["Enabled", "Suspended"]


def test_change_answers_with_an_event(htmx_client, manager, endpoint, bucket):
    response = htmx_client(manager).post(url(endpoint, bucket, "versioning"), {"status": "Enabled"})
    assert "bucketSettingsChanged" in response["HX-Trigger"]


def test_panel_works_without_htmx(client_as, manager, endpoint, bucket):
    client = client_as(manager)
    page = client.get(url(endpoint, bucket, "versioning")).content.decode()
    assert "<html" in page and 'id="panel-versioning"' in page
    response = client.post(url(endpoint, bucket, "versioning"), {"status": "Enabled"})
    assert "<html" in response.content.decode()
    assert "Versioning is now enabled." in response.content.decode()


def _has_grant(raw, bucket, uri_end, permission):
    grants = raw.get_bucket_acl(Bucket=bucket)["Grants"]
    return any(
        g["Grantee"].get("URI", "").endswith(uri_end) and g["Permission"] == permission
        for g in grants
    )


def _owner_keeps_full_control(raw, bucket):
    acl = raw.get_bucket_acl(Bucket=bucket)
    owner = acl["Owner"]["ID"]
    return any(
        g["Grantee"].get("ID") == owner and g["Permission"] == "FULL_CONTROL" for g in acl["Grants"]
    )


def test_acl_grant_and_revoke_keep_owner_full_control(panel, bucket, s3_target):
    raw = s3_target.client()
    grant = {"grantee_type": "Group", "grantee": "AllUsers", "permission": "READ"}
    body = panel.post("acl", {"op": "grant", **grant})
    assert "Grant added." in body
    assert _has_grant(raw, bucket, "AllUsers", "READ")
    assert _owner_keeps_full_control(raw, bucket)
    assert "AllUsers" in panel.get("acl")
    body = panel.post("acl", {"op": "revoke", **grant})
    assert "Grant revoked." in body
    assert not _has_grant(raw, bucket, "AllUsers", "READ")
    assert _owner_keeps_full_control(raw, bucket)
    # The owner's own FULL_CONTROL cannot be revoked.
    owner = raw.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    body = panel.post(
        "acl",
        {
            "op": "revoke",
            "grantee_type": "CanonicalUser",
            "grantee": owner,
            "permission": "FULL_CONTROL",
        },
    )
    assert "FULL_CONTROL stays" in body
    assert _owner_keeps_full_control(raw, bucket)


def test_acl_canned(panel, bucket, s3_target):
    assert "is now public-read" in panel.post("acl", {"op": "canned", "acl": "public-read"})
    assert _has_grant(s3_target.client(), bucket, "AllUsers", "READ")
    panel.post("acl", {"op": "canned", "acl": "private"})
    assert not _has_grant(s3_target.client(), bucket, "AllUsers", "READ")


def test_policy_round_trip_from_template(panel, bucket, s3_target):
    assert "Not configured." in panel.get("policy")
    filled = panel.get("policy", template="public-read")
    assert f"arn:aws:s3:::{bucket}/*" in filled and "s3:GetObject" in filled
    from buckets.policy import public_read

    body = panel.post("policy", {"op": "save", "policy": public_read(bucket)})
    assert "Policy saved." in body
    stored = json.loads(s3_target.client().get_bucket_policy(Bucket=bucket)["Policy"])
    assert stored["Statement"][0]["Action"] in ("s3:GetObject", ["s3:GetObject"])
    assert "PublicRead" in panel.get("policy")
    assert "Policy deleted." in panel.post("policy", {"op": "delete"})
    assert "Not configured." in panel.get("policy")


def test_policy_templates_referer_and_secure_transport(panel, bucket):
    referer = panel.get("policy", template="referer", referers="https://shop.example/*")
    assert "aws:Referer" in referer and "https://shop.example/*" in referer
    secure = panel.get("policy", template="secure-transport")
    assert "aws:SecureTransport" in secure and "Deny" in secure


@pytest.mark.parametrize(
    "policy, words",
    [
        ("{not json", "The policy is not valid JSON"),
        ('{"Version": "2012-10-17"}', "The policy has no &quot;Statement&quot;"),
        ('{"Version": "2020-01-01", "Statement": []}', "&quot;Version&quot; must be"),
        (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*",'
            ' "Resource": "*"}]}',
            "&quot;Effect&quot; must be &quot;Allow&quot; or &quot;Deny&quot;",
        ),
        (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",'
            ' "Resource": "*", "NotResource": "*"}]}',
            "exactly one of &quot;Resource&quot; or &quot;NotResource&quot;",
        ),
        (
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}',
            "exactly one of &quot;Action&quot; or &quot;NotAction&quot;",
        ),
    ],
)
def test_bad_policy_is_a_field_error_and_sends_nothing(panel, s3_calls, policy, words):
    s3_calls.clear()
    # Read the state after the refusal, so count only what precedes the read.
    body = panel.post("policy", {"op": "save", "policy": policy}, status=400)
    assert words in body
    assert "PutBucketPolicy" not in s3_calls
    assert s3_calls == ["GetBucketPolicy"]


def test_cors_round_trip_and_console_rule(panel, bucket, s3_target):
    raw = s3_target.client()
    rule = {
        "op": "save",
        "origins": "https://app.example.com\nhttps://other.example.com",
        "methods": ["GET", "PUT"],
        "allowed_headers": "*",
        "expose_headers": "x-amz-request-id",
        "max_age": "600",
    }
    assert "CORS rule saved." in panel.post("cors", rule)
    rules = raw.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://app.example.com", "https://other.example.com"]
    assert rules[0]["MaxAgeSeconds"] == 600
    panel.post("cors", {"op": "console"})
    rules = raw.get_bucket_cors(Bucket=bucket)["CORSRules"]
    console_rule = rules[-1]
    assert console_rule["AllowedOrigins"] == ["http://testserver"]
    assert set(console_rule["AllowedMethods"]) == {"PUT", "POST", "GET", "HEAD"}
    assert console_rule["ExposeHeaders"] == ["ETag"]
    body = panel.get("cors")
    assert "https://app.example.com" in body and "http://testserver" in body
    assert "Warning" in body  # deleting warns
    assert "CORS rule removed." in panel.post("cors", {"op": "remove", "index": "0"})
    assert len(raw.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 1
    assert "CORS configuration deleted." in panel.post("cors", {"op": "delete"})
    assert "Not configured." in panel.get("cors")


def test_cors_over_64_kb_is_refused_unsent(panel, s3_calls):
    origins = "\n".join(f"https://site-{i:05d}.example.com" for i in range(2500))
    s3_calls.clear()
    body = panel.post("cors", {"op": "save", "origins": origins, "methods": ["GET"]}, status=400)
    assert "at most 65536 (64 KiB) are allowed" in body
    assert s3_calls == ["GetBucketCors"]  # the read after the refusal, nothing else


def test_lifecycle_round_trip(panel, bucket, s3_target):
    raw = s3_target.client()
    rule = {
        "op": "save",
        "rule_id": "logs",
        "prefix": "logs/",
        "status": "Enabled",
        "expiration_days": "30",
        "transition_days": "7",
        "transition_class": "GLACIER",
        "noncurrent_days": "10",
        "abort_days": "3",
    }
    assert "Lifecycle rule logs saved." in panel.post("lifecycle", rule)
    tagged = {
        "op": "save",
        "rule_id": "tagged",
        "tag_key": "tier",
        "tag_value": "tmp",
        "status": "Disabled",
        "expiration_date": "2031-01-01",
    }
    assert "Lifecycle rule tagged saved." in panel.post("lifecycle", tagged)
    rules = {r["ID"]: r for r in raw.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["logs"]["Expiration"]["Days"] == 30
    assert rules["logs"]["Transitions"][0]["StorageClass"] == "GLACIER"
    assert rules["logs"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 10
    assert rules["logs"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 3
    assert rules["tagged"]["Filter"]["Tag"] == {"Key": "tier", "Value": "tmp"}
    assert rules["tagged"]["Expiration"]["Date"].year == 2031
    body = panel.get("lifecycle")
    assert "expire after 30 days" in body and "to GLACIER after 7 days" in body
    assert "expire on 2031-01-01" in body
    assert "removed" in panel.post("lifecycle", {"op": "remove", "rule_id": "logs"})
    remaining = raw.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in remaining] == ["tagged"]
    assert "deleted" in panel.post("lifecycle", {"op": "delete"})
    assert "Not configured." in panel.get("lifecycle")


def test_lifecycle_days_and_date_together_are_refused_unsent(panel, s3_calls):
    s3_calls.clear()
    body = panel.post(
        "lifecycle",
        {
            "op": "save",
            "rule_id": "both",
            "status": "Enabled",
            "expiration_days": "5",
            "expiration_date": "2031-01-01",
        },
        status=400,
    )
    assert "Expire after a number of days or on a date, not both." in body
    assert s3_calls == ["GetBucketLifecycleConfiguration"]


def test_lifecycle_offers_the_provider_storage_classes(panel, endpoint):
    body = panel.get("lifecycle")
    for storage_class in endpoint.preset.storage_classes:
        if storage_class != "STANDARD":
            assert f'<option value="{storage_class}">' in body


def test_tagging_round_trip_replaces_the_set(panel, bucket, s3_target):
    raw = s3_target.client()
    body = panel.post("tagging", {"key": ["team", "note", ""], "value": ["data", "", ""]})
    assert "2 tags saved." in body
    tags = {t["Key"]: t.get("Value", "") for t in raw.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {"team": "data", "note": ""}
    panel.post("tagging", {"key": ["项目"], "value": ["归档"]})
    tags = {t["Key"]: t.get("Value", "") for t in raw.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags == {"项目": "归档"}
    assert "项目" in panel.get("tagging")
    assert "Tags deleted." in panel.post("tagging", {"op": "delete"})
    assert "Not configured." in panel.get("tagging")


def test_51_tags_are_refused_unsent(panel, s3_calls):
    s3_calls.clear()
    keys = [f"k{i}" for i in range(51)]
    body = panel.post("tagging", {"key": keys, "value": ["v"] * 51}, status=400)
    assert "51 tags given; a bucket can have at most 50." in body
    assert s3_calls == ["GetBucketTagging"]


def test_tag_key_of_129_bytes_is_refused_unsent(panel, s3_calls):
    s3_calls.clear()
    key = "é" * 64 + "x"  # 129 bytes in UTF-8, 65 characters
    body = panel.post("tagging", {"key": [key], "value": ["v"]}, status=400)
    assert "is 129 bytes long; at most 128 bytes are allowed" in body
    value_body = panel.post("tagging", {"key": ["k"], "value": ["v" * 257]}, status=400)
    assert "at most 256 are allowed" in value_body
    assert "PutBucketTagging" not in s3_calls


def test_logging_round_trip_or_not_supported(panel, bucket, s3_target):
    try:  # AWS and moto want the log-delivery group allowed on the target.
        s3_target.client().put_bucket_acl(Bucket=bucket, ACL="log-delivery-write")
    except Exception:  # noqa: BLE001 - an endpoint without that canned ACL
        pass
    assert "Access logging is off." in panel.get("logging")
    body = panel.post("logging", {"op": "save", "target_bucket": bucket, "prefix": "logs/"})
    if NOT_SUPPORTED in body and not s3_target.is_moto:
        assert "Access logging is off." in body
        pytest.skip("this endpoint does not support bucket logging")
    assert f"Access logging goes to {bucket}." in body
    enabled = s3_target.client().get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert enabled == {"TargetBucket": bucket, "TargetPrefix": "logs/"}
    assert "Access logging is off." in panel.post("logging", {"op": "disable"})
    assert "LoggingEnabled" not in s3_target.client().get_bucket_logging(Bucket=bucket)


def test_website_round_trip(panel, bucket, s3_target):
    assert "Not configured." in panel.get("website")
    body = panel.post("website", {"op": "save", "index": "index.html", "error": "404.html"})
    assert "Static website saved." in body
    site = s3_target.client().get_bucket_website(Bucket=bucket)
    assert site["IndexDocument"]["Suffix"] == "index.html"
    assert site["ErrorDocument"]["Key"] == "404.html"
    assert "404.html" in panel.get("website")
    assert "Static website deleted." in panel.post("website", {"op": "delete"})
    assert "Not configured." in panel.get("website")


def test_encryption_round_trip_or_not_supported(panel, bucket, s3_target):
    body = panel.get("encryption")
    if NOT_SUPPORTED in body and not s3_target.is_moto:
        # Saving says so too, and "remove" must never reach the endpoint: a gateway
        # that ignores ?encryption takes that DELETE for DeleteBucket.
        assert NOT_SUPPORTED in panel.post("encryption", {"op": "save", "algorithm": "AES256"})
        assert NOT_SUPPORTED in panel.post("encryption", {"op": "delete"})
        s3_target.client().head_bucket(Bucket=bucket)
        pytest.skip("this endpoint does not support default encryption")
    assert NOT_SUPPORTED not in body
    body = panel.post("encryption", {"op": "save", "algorithm": "AES256"})
    assert "Default encryption saved." in body and "SSE-S3 (AES256)" in body
    rule = s3_target.client().get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    body = panel.post("encryption", {"op": "save", "algorithm": "aws:kms", "kms_key_id": "key-1"})
    assert "key-1" in body
    assert "Default encryption removed." in panel.post("encryption", {"op": "delete"})
    s3_target.client().head_bucket(Bucket=bucket)


def test_object_lock_retention_round_trip(htmx_client, manager, endpoint, s3_target):
    raw = s3_target.client()
    name = s3_target.bucket_name("lock")
    raw.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    client = htmx_client(manager)
    target = url(endpoint, name, "object-lock")
    body = client.post(target, {"mode": "GOVERNANCE", "days": "2"}).content.decode()
    assert "Default retention saved." in body and "GOVERNANCE" in body
    config = raw.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    retention = config["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"], retention.get("Years")) in [
        ("GOVERNANCE", 2, None),
        ("GOVERNANCE", 2, 0),  # moto adds Years: 0
    ]
    client.post(target, {"mode": "COMPLIANCE", "years": "1"})
    config = raw.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    retention = config["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention.get("Days") or 0, retention["Years"]) == (
        "COMPLIANCE",
        0,
        1,
    )
    body = client.post(target, {"mode": "GOVERNANCE", "days": "1", "years": "1"}).content
    assert "Give days or years, not both." in body.decode()


def test_object_lock_panel_needs_a_locked_bucket(panel, bucket, s3_target):
    body = panel.get("object-lock")
    assert "created without object lock" in body and "<form" not in body
    body = panel.post("object-lock", {"mode": "GOVERNANCE", "days": "1"})
    assert "created without object lock" in body


def test_viewer_and_operator_see_read_only_panels(htmx_client, viewer, operator, endpoint, bucket):
    for user in (viewer, operator):
        client = htmx_client(user)
        for slug in ("versioning", "policy", "tagging", "cors"):
            body = client.get(url(endpoint, bucket, slug)).content.decode()
            assert f'id="panel-{slug}"' in body
            assert 'method="post"' not in body


def test_viewer_and_operator_cannot_change_settings(
    htmx_client, viewer, operator, endpoint, bucket, s3_target, s3_calls
):
    for user in (viewer, operator):
        client = htmx_client(user)
        response = client.post(url(endpoint, bucket, "versioning"), {"status": "Enabled"})
        assert response.status_code == 404
    assert s3_calls == []
    assert "Status" not in s3_target.client().get_bucket_versioning(Bucket=bucket)


def test_unimplemented_setting_shows_not_supported(panel, monkeypatch):
    # moto implements every panel, so an endpoint's 501 is produced at the seam.
    from console import s3

    def refuse(*args, **kwargs):
        raise s3.S3Error("NotImplemented", status=501)

    monkeypatch.setattr(s3, "get_bucket_website", refuse)
    body = panel.get("website")
    assert NOT_SUPPORTED in body and "<form" not in body


def test_failed_change_is_audited(panel, bucket):
    body = panel.post("logging", {"op": "save", "target_bucket": "no-such-bucket-xyz"})
    assert "message error" in body
    entry = AuditEntry.objects.get(action="bucket.logging")
    assert entry.outcome == "failed" and entry.bucket == bucket


@pytest.mark.parametrize(
    "slug, delete_op",
    [
        ("policy", "DeleteBucketPolicy"),
        ("cors", "DeleteBucketCors"),
        ("lifecycle", "DeleteBucketLifecycle"),
        ("tagging", "DeleteBucketTagging"),
        ("website", "DeleteBucketWebsite"),
    ],
)
def test_deleting_an_unconfigured_setting_sends_no_delete(
    panel, bucket, s3_target, s3_calls, slug, delete_op
):
    # A gateway that ignores a subresource takes its DELETE for DeleteBucket,
    # so every delete reads first and stops when nothing is configured.
    body = panel.post(slug, {"op": "delete"})
    assert "there is nothing to delete" in body
    assert delete_op not in s3_calls
    s3_target.client().head_bucket(Bucket=bucket)


def test_policy_template_link_works_without_htmx(client_as, manager, endpoint, bucket):
    response = client_as(manager).get(url(endpoint, bucket, "policy"), {"template": "public-read"})
    body = response.content.decode()
    assert "<html" in body and f"arn:aws:s3:::{bucket}/*" in body


def test_bad_grant_is_refused_unsent(panel, s3_calls):
    s3_calls.clear()
    body = panel.post(
        "acl",
        {"op": "grant", "grantee_type": "Group", "grantee": "Everyone", "permission": "READ"},
        status=400,
    )
    assert "A group is AllUsers, AuthenticatedUsers or LogDelivery." in body
    body = panel.post(
        "acl",
        {
            "op": "grant",
            "grantee_type": "AmazonCustomerByEmail",
            "grantee": "nope",
            "permission": "READ",
        },
        status=400,
    )
    assert "That is not an e-mail address." in body
    assert "PutBucketAcl" not in s3_calls


@pytest.mark.local_servers
def test_failing_panel_is_read_once(admin_user, htmx_client, settings):
    # A stand-in that answers GetBucketVersioning with HTTP 500: no real server
    # fails on demand. A panel loads with the page, so it is not retried.
    from console.models import Endpoint
    from console.tests.servers import FakeS3

    settings.S3_MAX_ATTEMPTS = 3
    html = "<html><body>Internal Server Error</body></html>"
    with FakeS3(answers={"versioning": (500, html)}) as server:
        endpoint = Endpoint(name="Demo", endpoint_url=server.url, addressing_style="path")
        endpoint.access_key_id = "demo"
        endpoint.set_secret_key("demo")
        endpoint.save()
        body = htmx_client(admin_user).get(url(endpoint, "demo", "versioning")).content.decode()
        tries = [hit for hit in server.hits if hit.endswith("?versioning")]
    assert tries == ["GET /demo?versioning"]
    assert body.count("s3-error") == 1 and "HTTP 500" in body
