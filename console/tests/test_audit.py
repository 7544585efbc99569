"""The audit log: every change recorded, searchable, exportable as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from console import audit
from console.exports import csv_cell
from console.models import AuditEntry, Grant

pytestmark = pytest.mark.django_db


def _endpoint_data(**overrides):
    data = {
        "name": "Audited",
        "provider": "other",
        "endpoint_url": "http://127.0.0.1:9",
        "region": "us-east-1",
        "addressing_style": "path",
        "verify_tls": "on",
        "access_key_id": "AKIDAUDIT",
        "secret_key": "audit-secret",
    }
    data.update(overrides)
    return data


def test_every_endpoint_and_grant_change_is_recorded(client, admin_user, outsider):
    from console.models import Endpoint

    client.force_login(admin_user)
    client.post(reverse("endpoint_add"), _endpoint_data(), REMOTE_ADDR="192.0.2.7")
    endpoint = Endpoint.objects.get()
    code = endpoint.code
    client.post(reverse("endpoint_edit", args=[code]), _endpoint_data(secret_key=""))
    client.post(reverse("endpoint_test", args=[code]))
    client.post(reverse("grant_add", args=[code]), {"user": outsider.pk, "level": 20})
    group = Group.objects.create(name="ops")
    client.post(reverse("grant_add", args=[code]), {"group": group.pk, "level": 10})
    grant = Grant.objects.get(user=outsider)
    client.post(reverse("grant_delete", args=[code, grant.pk]))
    client.post(reverse("endpoint_delete", args=[code]), {"confirm_name": "Audited"})

    rows = list(AuditEntry.objects.order_by("at", "id"))
    assert [r.action for r in rows] == [
        "endpoint.create",
        "endpoint.update",
        "endpoint.test",
        "grant.set",
        "grant.set",
        "grant.revoke",
        "endpoint.delete",
    ]
    for row in rows:
        assert row.user == admin_user and row.username == "admin"
        assert row.endpoint_name == "Audited"
    assert rows[0].ip == "192.0.2.7"
    test = rows[2]
    # Nothing listens on port 9: the test failed, and says why.
    assert test.outcome == AuditEntry.Outcome.FAILED
    assert "refused" in test.detail and "[ConnectionRefused]" in test.detail
    assert [r.outcome for r in rows if r is not test] == ["ok"] * 6
    assert rows[3].detail == "outsider: Operator"
    assert rows[4].detail == "group ops: Viewer"
    assert rows[5].detail == "outsider"
    # The endpoint is gone; its rows stay, by name.
    assert rows[-1].endpoint is None


@pytest.mark.s3
def test_connection_test_records_the_request_id(client, admin_user, endpoint):
    client.force_login(admin_user)
    client.post(reverse("endpoint_test", args=[endpoint.code]))
    entry = AuditEntry.objects.get(action="endpoint.test")
    assert entry.outcome == AuditEntry.Outcome.OK
    assert entry.request_id


def test_failed_delete_is_not_a_change(client, admin_user, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9", name="Keep")
    client.force_login(admin_user)
    response = client.post(
        reverse("endpoint_delete", args=[endpoint.code]), {"confirm_name": "nope"}, follow=True
    )
    assert "the name did not match" in response.content.decode()
    assert not AuditEntry.objects.filter(action="endpoint.delete").exists()


@pytest.fixture
def entries(admin_user, outsider, make_endpoint):
    one = make_endpoint("http://127.0.0.1:9", name="Alpha")
    two = make_endpoint("http://127.0.0.1:9", name="Beta")
    audit.record(admin_user, "bucket.create", endpoint=one, bucket="photos")
    audit.record(outsider, "object.delete", endpoint=two, bucket="logs", key="a/b.txt")
    failed = audit.record(
        outsider, "object.upload", endpoint=one, bucket="photos", key="=cmd|' /C calc'!A0"
    )
    failed.outcome = AuditEntry.Outcome.FAILED
    failed.request_id = "REQ123"
    failed.save()
    old = audit.record(admin_user, "endpoint.update", endpoint=two)
    old.at = timezone.now() - timedelta(days=10)
    old.save()
    return AuditEntry.objects.all()


def _actions(client, **query):
    html = client.get(reverse("audit"), query).content.decode()
    return {
        a
        for a in ("bucket.create", "object.delete", "object.upload", "endpoint.update")
        if a in html
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, {"bucket.create", "object.delete", "object.upload", "endpoint.update"}),
        ({"user": "outs"}, {"object.delete", "object.upload"}),
        ({"endpoint": "beta"}, {"object.delete", "endpoint.update"}),
        ({"bucket": "photos"}, {"bucket.create", "object.upload"}),
        ({"action": "object."}, {"object.delete", "object.upload"}),
        ({"outcome": "failed"}, {"object.upload"}),
        (
            {"since": str(timezone.now().date())},
            {"bucket.create", "object.delete", "object.upload"},
        ),
        ({"until": str((timezone.now() - timedelta(days=5)).date())}, {"endpoint.update"}),
    ],
)
def test_audit_page_filters(client, admin_user, entries, query, expected):
    client.force_login(admin_user)
    assert _actions(client, **query) == expected


def test_audit_filter_answers_a_fragment_to_htmx(client, admin_user, entries):
    client.force_login(admin_user)
    response = client.get(reverse("audit"), {"outcome": "failed"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="audit-entries"')
    assert "object.upload" in html and "REQ123" in html and "bucket.create" not in html


def test_people_see_only_their_own_rows(client, outsider, entries):
    client.force_login(outsider)
    assert _actions(client) == {"object.delete", "object.upload"}
    assert _actions(client, user="admin") == set()
    body = b"".join(client.get(reverse("audit_csv")).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["user"] for r in rows} == {"outsider"}


def test_csv_export_streams_the_filtered_rows(client, admin_user, entries):
    client.force_login(admin_user)
    response = client.get(reverse("audit_csv"), {"bucket": "photos"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["object.upload", "bucket.create"]
    assert rows[0]["request_id"] == "REQ123" and rows[0]["outcome"] == "failed"


def test_csv_export_neutralises_spreadsheet_formulas(client, admin_user, entries):
    client.force_login(admin_user)
    response = client.get(reverse("audit_csv"), {"action": "object.upload"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["key"] == "'=cmd|' /C calc'!A0"
    for value in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(value) == "'" + value
    for value in ("photos", "a=b", "2024-01-01T00:00:00+00:00", "", None):
        assert csv_cell(value) == (value or "")


def test_the_audit_page_says_what_it_shows(client, outsider):
    client.force_login(outsider)
    html = client.get(reverse("audit")).content.decode()
    assert "Nothing recorded matches." in html


def test_audited_records_success_with_the_answers_request_id(admin_user):
    answer = {"ResponseMetadata": {"RequestId": "REQ-OK-1", "HTTPHeaders": {}}}
    with audit.audited(admin_user, "object.tags", bucket="b", key="k", detail="up front") as note:
        note.answer = answer
    row = AuditEntry.objects.get(action="object.tags")
    assert (row.outcome, row.request_id, row.bucket, row.key) == (
        AuditEntry.Outcome.OK,
        "REQ-OK-1",
        "b",
        "k",
    )
    assert row.detail == "up front"


def test_audited_records_failure_with_code_and_request_id_and_reraises(admin_user):
    from console.s3 import S3Error

    error = S3Error("AccessDenied", status=403, request_id="REQ-FAIL-2")
    with pytest.raises(S3Error) as raised:
        with audit.audited(admin_user, "object.acl", bucket="b", key="k") as note:
            note.detail = "only on success"
            raise error
    assert raised.value is error
    row = AuditEntry.objects.get(action="object.acl")
    assert row.outcome == AuditEntry.Outcome.FAILED
    assert row.request_id == "REQ-FAIL-2"
    # The row's text names the code; a detail meant for the success row is not used.
    assert "AccessDenied" in row.detail and row.detail == str(error)


def test_audited_writes_no_row_for_other_exceptions(admin_user):
    with pytest.raises(ValueError):
        with audit.audited(admin_user, "object.copy", bucket="b"):
            raise ValueError("refused before any request")
    assert not AuditEntry.objects.filter(action="object.copy").exists()


@pytest.mark.browser
def test_csv_export_follows_the_filter_applied_in_place(browser_login, admin_user, entries):
    page = browser_login(admin_user)
    page.goto(reverse("audit"))
    with page.expect_response(lambda r: "outcome=failed" in r.url):
        page.select_option("select[name=outcome]", "failed")
    page.wait_for_function(
        "document.querySelector('#audit-export').href.includes('outcome=failed')"
    )
    href = page.locator("#audit-export").get_attribute("href")
    assert "outcome=failed" in href and "outcome=failed" in page.url
    csv_text = page.request.get(href).text()
    assert "object.upload" in csv_text and "REQ123" in csv_text
    assert "bucket.create" not in csv_text and "object.delete" not in csv_text


def test_every_action_the_code_records_has_a_name_on_the_audit_page():
    import re
    from pathlib import Path

    from console.models import AuditEntry

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(
        r'"((?:bucket|object|endpoint|grant|multipart|job)\.[a-z_]+(?:\.[a-z_]+)?)"'
    )
    recorded = {
        code
        for app in ("console", "buckets", "objects")
        for path in (root / app).rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
        for code in pattern.findall(path.read_text())
    }
    assert len(recorded) > 40
    assert sorted(c for c in recorded if not AuditEntry(action=c).action_label) == []
    assert AuditEntry(action="object.copy.cancel").action_label == "Copy, canceled"
