"""Restoring archived objects as a job (SPEC O9, J4).

The runner is driven in the test's own thread (`jobs.run`), as a worker would
run it, against the S3 server under test; the beat task's part is played by
`restore.wake_due`, given the moment to act at.
"""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from django.urls import reverse
from django.utils import timezone

from console import jobs
from console.models import Job, JobError
from console.s3 import S3Error
from objects import restore
from objects.models import RestoreItem

Item = RestoreItem.State


@pytest.fixture
def sent(monkeypatch, settings):
    """Task messages the engine would send; no worker runs in these tests."""
    from console.celery import app

    messages = []
    # No transaction is ever committed inside a test: send at once.
    monkeypatch.setattr("console.jobs.transaction.on_commit", lambda callback: callback())
    monkeypatch.setattr(app, "send_task", lambda name, **kw: messages.append(name))
    # The runner works in this thread, inside the test's transaction: a heartbeat
    # from another connection would wait on the row until the test ends.
    settings.JOB_HEARTBEAT_SECONDS = 600
    return messages


@pytest.fixture
def archival(endpoint):
    """The test endpoint as one whose GLACIER is an archive class.

    Which classes archive is the provider table's word; on Ceph GLACIER is a
    plain placement target, so the endpoint speaks as "other S3" there too."""
    endpoint.provider = "other"
    endpoint.save()
    return endpoint


def put(s3_target, bucket, key, storage_class="GLACIER"):
    try:
        s3_target.client().put_object(
            Bucket=bucket, Key=key, Body=b"cold data", StorageClass=storage_class
        )
    except ClientError as exc:  # a gateway without that placement target
        pytest.skip(f"this endpoint has no {storage_class} storage class ({exc})")


def start(client, endpoint, bucket, **data):
    data = {"days": "3", "tier": "Standard", "start": "on", **data}
    response = client.post(reverse("objects:restore", args=[endpoint.code, bucket]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.get(kind=Job.Kind.RESTORE)


def run(job) -> Job:
    """One run of the job's task, as a worker takes it from the queue."""
    jobs.run(job.pk, f"task-{timezone.now().timestamp()}")
    return Job.objects.get(pk=job.pk)


def states(job) -> dict[str, str]:
    return dict(RestoreItem.objects.filter(job=job).values_list("key", "state"))


def needs_restore_object(s3_target):
    if not s3_target.is_moto:
        pytest.skip("RestoreObject is not implemented by this server (the Ceph gateway: 501)")


def test_an_archived_object_is_restored_through_the_job_and_its_page_says_until_when(
    s3_target, bucket, archival, operator, client_as, sent
):
    needs_restore_object(s3_target)
    put(s3_target, bucket, "cold/report.pdf")
    client = client_as(operator)
    job = start(client, archival, bucket, key=["cold/report.pdf"])
    assert job.params["days"] == 3 and job.params["tier"] == "Standard"
    assert sent == ["objects.run_restore"]

    job = run(job)
    # Requested, then waiting for its first check: no worker holds the job meanwhile.
    assert (job.state, job.waiting_for) == (Job.State.WAITING, "restore")
    assert states(job) == {"cold/report.pdf": Item.REQUESTED}
    assert job.items_total == 1
    head = s3_target.client().head_object(Bucket=bucket, Key="cold/report.pdf")
    assert "Restore" in head  # the server really holds a restore for it

    assert restore.wake_due(timezone.now() + timedelta(minutes=2)) == 1
    job = run(job)
    assert job.state == Job.State.SUCCEEDED and job.items_done == 1, job.error
    item = RestoreItem.objects.get(job=job)
    assert item.state == Item.RESTORED
    # Three days from now, as asked (the server rounds to its own midnight or second).
    assert abs(item.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(days=1)
    page = client.get(reverse("job_detail", args=[job.code])).content.decode()
    assert f"restored until {timezone.localtime(item.expires_at):%Y-%m-%d}" in page
    assert "cold/report.pdf" in page


def test_objects_that_are_not_archived_are_skipped_not_failed(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    put(s3_target, bucket, "cold.bin")
    put(s3_target, bucket, "plain.txt", "STANDARD")
    requested = []
    # Only which objects are asked for matters here: the stub answers as AWS
    # does when a restore starts (202), on every server.
    monkeypatch.setattr(
        restore.s3, "restore_object", lambda endpoint, bucket, key, *a: requested.append(key) or 202
    )
    client = client_as(operator)
    job = run(start(client, archival, bucket, key=["cold.bin", "plain.txt"]))
    assert requested == ["cold.bin"]  # the listing's storage class said which: no HEAD each
    assert states(job) == {"cold.bin": Item.REQUESTED, "plain.txt": Item.SKIPPED}
    assert job.items_failed == 0 and not JobError.objects.filter(job=job).exists()
    assert job.items_done == 1 and job.items_total == 2  # the skipped one is done

    page = client.get(reverse("job_detail", args=[job.code]), {"state": "skipped"}).content
    page = page.decode()
    assert "skipped (not archived)" in page and "plain.txt" in page
    assert "cold.bin" not in page.split('id="job-section"')[1]  # filtered by state
    # The section refreshes itself alone while the job is unfinished.
    section = client.get(
        reverse("job_detail", args=[job.code]),
        headers={"HX-Request": "true", "HX-Target": "job-section"},
    ).text
    assert section.lstrip().startswith('<section class="job-section')
    assert 'hx-trigger="every 5s"' in section and "cold.bin" in section
    assert "job-card" not in section


def test_a_not_archived_answer_to_restore_object_is_a_skip(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    # A listing may call an object archived that the provider then calls active
    # (ObjectAlreadyInActiveTierError): "this object is not archived", not an error.
    put(s3_target, bucket, "warm.bin")

    def already_active(*args):
        raise S3Error("ObjectAlreadyInActiveTierError", status=403)

    monkeypatch.setattr(restore.s3, "restore_object", already_active)
    job = run(start(client_as(operator), archival, bucket, key=["warm.bin"]))
    assert job.state == Job.State.SUCCEEDED
    item = RestoreItem.objects.get(job=job)
    assert (item.state, item.message) == (Item.SKIPPED, "This object is not archived.")
    assert not JobError.objects.filter(job=job).exists()


def test_a_folder_restore_requests_every_archived_object_under_it(
    s3_target, bucket, archival, operator, client_as, sent
):
    needs_restore_object(s3_target)
    for key in ("logs/2019/a.gz", "logs/2019/b.gz", "logs/2020/c.gz"):
        put(s3_target, bucket, key)
    put(s3_target, bucket, "logs/readme.txt", "STANDARD")
    put(s3_target, bucket, "other/d.gz")
    client = client_as(operator)
    # The browser's action bar posts the selection to the form first.
    form = client.post(
        reverse("objects:restore", args=[archival.code, bucket]), {"prefix": ["logs/"]}
    )
    assert form.status_code == 200 and "logs/" in form.content.decode()
    assert not Job.objects.exists()

    job = run(start(client, archival, bucket, prefix=["logs/"]))
    assert states(job) == {
        "logs/2019/a.gz": Item.REQUESTED,
        "logs/2019/b.gz": Item.REQUESTED,
        "logs/2020/c.gz": Item.REQUESTED,
        "logs/readme.txt": Item.SKIPPED,
    }
    raw = s3_target.client()
    assert "Restore" not in raw.head_object(Bucket=bucket, Key="other/d.gz")  # not asked for
    restore.wake_due(timezone.now() + timedelta(minutes=2))
    job = run(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.items_done, job.items_total) == (4, 4)
    assert set(states(job).values()) == {Item.RESTORED, Item.SKIPPED}


def test_a_restore_in_progress_is_checked_on_a_schedule_that_backs_off_until_restored(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    # No server keeps a restore in progress for hours as providers do: RestoreObject
    # and HeadObject's answers are stubbed (the listing is the server's).
    put(s3_target, bucket, "deep.tar")
    monkeypatch.setattr(restore.s3, "restore_object", lambda *args: 202)
    until = timezone.now().replace(microsecond=0) + timedelta(days=5)
    answers = [
        {"StorageClass": "GLACIER", "Restore": 'ongoing-request="true"'},
        {"StorageClass": "GLACIER", "Restore": 'ongoing-request="true"'},
        {
            "StorageClass": "GLACIER",
            "Restore": f'ongoing-request="false", expiry-date="{until:%a, %d %b %Y %H:%M:%S} GMT"',
        },
    ]
    heads = []
    monkeypatch.setattr(
        restore.s3, "head_object", lambda *args: heads.append(args[2]) or answers[len(heads) - 1]
    )
    client = client_as(operator)
    job = run(start(client, archival, bucket, key=["deep.tar"]))
    waits = []
    for expected in (Item.REQUESTED, Item.IN_PROGRESS, Item.IN_PROGRESS):
        # Waiting between checks: no worker holds the job, the sweep leaves it alone,
        # and the beat wakes it only once its check is due.
        assert (job.state, job.waiting_for) == (Job.State.WAITING, "restore")
        assert states(job) == {"deep.tar": expected}
        due = job.next_check
        waits.append(round((due - timezone.now()).total_seconds() / 60))
        card = client.get(reverse("job_detail", args=[job.code]), headers={"HX-Request": "true"})
        assert "Waiting for the provider to restore the objects; next check at" in card.text
        assert jobs.sweep(stale_seconds=0) == 0
        assert restore.wake_due(due - timedelta(seconds=5)) == 0
        assert restore.wake_due(due + timedelta(seconds=5)) == 1
        assert sent[-1] == "objects.run_restore"
        job = run(job)
    assert waits == [1, 2, 4]  # minutes: each wait twice the one before
    assert heads == ["deep.tar"] * 3
    assert job.state == Job.State.SUCCEEDED
    item = RestoreItem.objects.get(job=job)
    assert item.state == Item.RESTORED and item.expires_at == until
    page = client.get(reverse("job_detail", args=[job.code])).content.decode()
    assert f"restored until {timezone.localtime(until):%Y-%m-%d %H:%M}" in page


def test_the_wait_between_checks_doubles_up_to_an_hour(settings):
    settings.RESTORE_CHECK_FIRST_SECONDS, settings.RESTORE_CHECK_MAX_SECONDS = 60, 3600
    minutes = [restore.check_delay(n) / 60 for n in range(9)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_beat_schedule_wakes_restore_jobs_whose_check_is_due(
    endpoint, operator, sent, settings
):
    from console.celery import app

    app.loader.import_default_modules()  # what a worker does first: finds the tasks
    entry = app.conf.beat_schedule["wake-restores"]
    assert entry["schedule"] <= 60
    past, future = timezone.now() - timedelta(seconds=1), timezone.now() + timedelta(hours=1)
    due, later = (
        Job.objects.create(
            kind=Job.Kind.RESTORE,
            owner=operator,
            endpoint=endpoint,
            bucket="b",
            state=Job.State.WAITING,
            waiting_for="restore",
            params={"next_check": when.isoformat()},
        )
        for when in (past, future)
    )
    assert app.tasks[entry["task"]].apply().get() == 1
    assert Job.objects.get(pk=due.pk).state == Job.State.QUEUED
    assert Job.objects.get(pk=later.pk).state == Job.State.WAITING
    assert sent == ["objects.run_restore"]


def test_an_endpoint_without_restore_fails_the_job_once_in_one_sentence(
    s3_target, bucket, archival, operator, client_as, sent
):
    for key in ("a.bin", "b.bin", "c.bin"):
        put(s3_target, bucket, key)
    try:
        s3_target.client().restore_object(Bucket=bucket, Key="a.bin", RestoreRequest={"Days": 1})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotImplemented":
            raise
    else:
        pytest.skip("this server implements RestoreObject; the Ceph gateway answers 501")
    job = run(start(client_as(operator), archival, bucket, key=["a.bin", "b.bin", "c.bin"]))
    assert job.state == Job.State.FAILED
    assert job.error.startswith("Restore is not supported by this endpoint.")
    assert [e.code for e in JobError.objects.filter(job=job)] == ["NotImplemented"]


def test_restore_not_implemented_is_asked_once_not_once_per_object(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    # What the Ceph gateway answers (501), on every server.
    for key in ("a.bin", "b.bin", "c.bin"):
        put(s3_target, bucket, key)
    calls = []

    def not_implemented(endpoint, bucket, key, *args):
        calls.append(key)
        raise S3Error("NotImplemented", status=501, operation="RestoreObject")

    monkeypatch.setattr(restore.s3, "restore_object", not_implemented)
    job = run(start(client_as(operator), archival, bucket, key=["a.bin", "b.bin", "c.bin"]))
    assert calls == ["a.bin"]
    assert job.state == Job.State.FAILED
    assert job.error.startswith("Restore is not supported by this endpoint.")
    assert JobError.objects.filter(job=job).count() == 1


def test_credentials_that_expire_during_the_wait_fail_the_job_once(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    # Temporary credentials may expire during a wait of hours: one error for the
    # job, not one per object. HeadObject's answer is stubbed.
    for key in ("a.bin", "b.bin"):
        put(s3_target, bucket, key)
    monkeypatch.setattr(restore.s3, "restore_object", lambda *args: 202)
    job = run(start(client_as(operator), archival, bucket, key=["a.bin", "b.bin"]))

    def expired(*args):
        raise S3Error("ExpiredToken", status=400)

    monkeypatch.setattr(restore.s3, "head_object", expired)
    restore.wake_due(timezone.now() + timedelta(minutes=2))
    job = run(job)
    assert job.state == Job.State.FAILED and "session token has expired" in job.error
    assert [e.code for e in JobError.objects.filter(job=job)] == ["ExpiredToken"]
    assert set(states(job).values()) == {Item.REQUESTED}  # still theirs to check


def test_a_selected_object_that_is_gone_fails_alone(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    put(s3_target, bucket, "here.bin")
    monkeypatch.setattr(restore.s3, "restore_object", lambda *args: 202)
    job = run(start(client_as(operator), archival, bucket, key=["here.bin", "gone.bin"]))
    assert states(job) == {"here.bin": Item.REQUESTED, "gone.bin": Item.FAILED}
    error = JobError.objects.get(job=job)
    assert (error.key, error.code) == ("gone.bin", "NoSuchKey")
    assert job.items_failed == 1 and job.state == Job.State.WAITING


def test_a_retry_requests_again_only_the_objects_that_failed(
    s3_target, bucket, archival, operator, client_as, sent, monkeypatch
):
    # Answers are stubbed (a refusal first, then a restore restored at once), so
    # the test runs on every server; the listing is the server's.
    put(s3_target, bucket, "ok.bin")
    put(s3_target, bucket, "refused.bin")
    requested = []

    def restore_object(endpoint, bucket, key, *args):
        requested.append(key)
        if key == "refused.bin" and requested.count(key) == 1:
            raise S3Error("AccessDenied", status=403)
        return 202

    restored = {"StorageClass": "GLACIER", "Restore": 'ongoing-request="false"'}
    monkeypatch.setattr(restore.s3, "restore_object", restore_object)
    monkeypatch.setattr(restore.s3, "head_object", lambda *args: restored)
    job = run(start(client_as(operator), archival, bucket, key=["ok.bin", "refused.bin"]))
    restore.wake_due(timezone.now() + timedelta(minutes=2))
    job = run(job)
    assert job.state == Job.State.PARTIAL and job.items_failed == 1
    assert states(job) == {"ok.bin": Item.RESTORED, "refused.bin": Item.FAILED}
    assert [e.code for e in job.current_errors] == ["AccessDenied"]

    assert jobs.retry_failed(job) == "Retrying."
    job = run(job)
    assert requested == ["ok.bin", "refused.bin", "refused.bin"]
    assert states(job)["refused.bin"] == Item.REQUESTED and job.state == Job.State.WAITING
    restore.wake_due(timezone.now() + timedelta(minutes=2))
    job = run(job)
    assert job.state == Job.State.SUCCEEDED and (job.items_done, job.items_failed) == (2, 0)
    assert not job.current_errors.exists() and job.errors.count() == 1  # kept, for the record


def test_a_viewer_cannot_restore(archival, viewer, client_as, sent):
    client = client_as(viewer)
    url = reverse("objects:restore", args=[archival.code, "b"])
    assert client.get(url, {"key": "a.bin"}).status_code == 404
    answer = client.post(url, {"key": ["a.bin"], "days": "1", "tier": "Standard", "start": "on"})
    assert answer.status_code == 404
    assert not Job.objects.exists() and sent == []


@pytest.mark.parametrize(
    "provider, offered, days",
    [
        ("cos", ["Expedited (about 15 minutes)", "Standard (3–5 hours)", "Bulk (5–12 hours)"], 365),
        ("zos", ["Standard (several hours)"], 31),
        ("aws", ["Expedited (1–5 minutes)", "Standard (3–5 hours)", "Bulk (5–12 hours)"], 30000),
    ],
)
def test_the_form_offers_the_providers_tiers_with_their_durations(
    provider, offered, days, endpoint, operator, client_as
):
    endpoint.provider = provider
    endpoint.save()
    response = client_as(operator).get(
        reverse("objects:restore", args=[endpoint.code, "b"]), {"key": "cold/a.bin"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    for label in offered:
        assert label in page
    assert page.count('type="radio" name="tier"') == len(offered)
    assert f'max="{days}"' in page and f"Between 1 and {days} days" in page
    assert "cold/a.bin" in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({"days": "32"}, "Give between 1 and 31 days"),
        ({"days": "0"}, "Give between 1 and 31 days"),
        ({"days": "lots"}, "Enter a whole number."),
        ({"tier": "Expedited"}, "Choose one of this provider's restore tiers: Standard."),
        ({"key": [], "prefix": []}, "Select at least one object or folder."),
    ],
)
def test_days_and_tiers_outside_the_provider_table_are_refused_in_words(
    data, message, endpoint, operator, client_as, sent
):
    # ZOS keeps a restored copy 1–31 days, with the Standard tier only. The
    # endpoint's address refuses connections: a request would fail the test.
    endpoint.provider = "zos"
    endpoint.save()
    form = {"key": ["a.bin"], "days": "7", "tier": "Standard", "start": "on", **data}
    response = client_as(operator).post(reverse("objects:restore", args=[endpoint.code, "b"]), form)
    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not Job.objects.exists() and sent == []


def test_an_archived_object_offers_restore_on_its_page_and_the_listing_on_its_selection(
    s3_target, bucket, archival, operator, viewer, client_as
):
    put(s3_target, bucket, "cold/a.bin")
    put(s3_target, bucket, "warm.txt", "STANDARD")
    client = client_as(operator)
    detail = reverse("objects:detail", args=[archival.code, bucket])
    restore_url = reverse("objects:restore", args=[archival.code, bucket])
    assert f"{restore_url}?key=cold%2Fa.bin" in client.get(detail, {"key": "cold/a.bin"}).text
    assert restore_url not in client.get(detail, {"key": "warm.txt"}).text
    listing = client.get(reverse("objects:browse", args=[archival.code, bucket])).text
    assert f'formaction="{restore_url}"' in listing and "Restore selected…" in listing
    # Viewers read the state, and are offered nothing.
    viewer_client = client_as(viewer)
    assert restore_url not in viewer_client.get(detail, {"key": "cold/a.bin"}).text
    # A provider without archive classes (MinIO) has nothing to restore: no button.
    archival.provider = "minio"
    archival.save()
    listing = client_as(operator).get(reverse("objects:browse", args=[archival.code, bucket]))
    assert "Restore selected…" not in listing.text and "Delete selected…" in listing.text
