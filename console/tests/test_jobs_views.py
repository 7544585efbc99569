"""Job pages: who sees what, polling that stops, controls, CSV, notice."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.models import AuditEntry, Job, JobError


@pytest.fixture
def sent(monkeypatch):
    messages = []
    from console.celery import app

    # No transaction is ever committed inside a test: send at once.
    monkeypatch.setattr("console.jobs.transaction.on_commit", lambda callback: callback())

    monkeypatch.setattr(app, "send_task", lambda name, **kw: messages.append(name))
    return messages


def make_job(endpoint, owner, **fields):
    values = {
        "kind": Job.Kind.UPLOAD,
        "owner": owner,
        "endpoint": endpoint,
        "bucket": "b",
        "target": "photos/cat.jpg",
        "bytes_total": 100,
        "heartbeat_at": timezone.now(),
        **fields,
    }
    return Job.objects.create(**values)


def test_jobs_page_shows_own_jobs_only(
    client_as, operator, admin_user, endpoint, django_user_model
):
    other = django_user_model.objects.create_user("other")
    mine = make_job(endpoint, operator, target="mine.txt")
    make_job(endpoint, other, target="theirs.txt")
    page = client_as(operator).get(reverse("jobs")).content.decode()
    assert "mine.txt" in page and "theirs.txt" not in page
    staff = client_as(admin_user).get(reverse("jobs")).content.decode()
    assert "mine.txt" in staff and "theirs.txt" in staff
    assert str(mine.code) in page


def test_running_card_polls_and_finished_card_does_not(client_as, operator, endpoint):
    job = make_job(endpoint, operator, state=Job.State.RUNNING, bytes_done=50, speed=10)
    client = client_as(operator)
    card = client.get(reverse("job_detail", args=[job.code]), headers={"HX-Request": "true"})
    html = card.content.decode()
    assert 'hx-trigger="every 1s"' in html and "data-poll" in html
    assert 'hx-swap="outerHTML"' in html
    assert "50 %" in html and "<progress" in html
    assert "<html" not in html  # just the card
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    html = client.get(
        reverse("job_detail", args=[job.code]), headers={"HX-Request": "true"}
    ).content.decode()
    assert "hx-trigger" not in html and "data-poll" not in html
    assert "Succeeded" in html


def test_the_card_that_shows_a_job_ending_makes_the_listing_refresh(client_as, operator, endpoint):
    # The notice alone misses a job that ends while the notice is being swapped.
    job = make_job(endpoint, operator, state=Job.State.RUNNING)
    client = client_as(operator)
    url = reverse("job_detail", args=[job.code])
    running = client.get(url, headers={"HX-Request": "true"})
    assert "HX-Trigger" not in running.headers
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED, finished_at=timezone.now())
    finished = client.get(url, headers={"HX-Request": "true"})
    assert "objectsChanged" in json.loads(finished.headers["HX-Trigger"])


def test_owner_pauses_resumes_and_cancels_a_queued_job(client_as, operator, endpoint, sent):
    job = make_job(endpoint, operator)
    client = client_as(operator)
    htmx = {"HX-Request": "true"}
    response = client.post(reverse("job_pause", args=[job.code]), headers=htmx)
    assert response.status_code == 200
    assert "jobChanged" in json.loads(response.headers["HX-Trigger"])
    assert Job.objects.get(pk=job.pk).state == Job.State.PAUSED
    assert AuditEntry.objects.filter(action="job.pause", username="operator").exists()
    client.post(reverse("job_resume", args=[job.code]), headers=htmx)
    assert Job.objects.get(pk=job.pk).state == Job.State.QUEUED
    assert sent == ["objects.run_upload"]
    client.post(reverse("job_cancel", args=[job.code]), headers=htmx)
    assert Job.objects.get(pk=job.pk).state == Job.State.CANCELED


def test_control_without_htmx_redirects_to_the_job(client_as, operator, endpoint):
    job = make_job(endpoint, operator)
    response = client_as(operator).post(reverse("job_pause", args=[job.code]))
    assert response.status_code == 302
    assert response["Location"] == reverse("job_detail", args=[job.code])


def test_another_operator_cannot_see_or_cancel_the_job(
    client_as, operator, endpoint, django_user_model
):
    from console.models import Grant

    other = django_user_model.objects.create_user("other")
    Grant.objects.create(endpoint=endpoint, user=other, level=20)
    job = make_job(endpoint, operator)
    client = client_as(other)
    assert client.get(reverse("job_detail", args=[job.code])).status_code == 404
    assert client.post(reverse("job_cancel", args=[job.code])).status_code == 404
    assert Job.objects.get(pk=job.pk).state == Job.State.QUEUED


def test_viewer_cannot_act_on_jobs_even_their_own(client_as, viewer, endpoint):
    job = make_job(endpoint, viewer)
    assert client_as(viewer).post(reverse("job_cancel", args=[job.code])).status_code == 404


def test_errors_download_as_csv_without_formulas(client_as, operator, endpoint):
    job = make_job(endpoint, operator, state=Job.State.PARTIAL)
    JobError.objects.create(job=job, key="=cmd|x", code="AccessDenied", message="Access denied")
    JobError.objects.create(
        job=job, key="a,b.txt", code="NoSuchKey", message="gone", request_id="R1"
    )
    response = client_as(operator).get(reverse("job_errors_csv", args=[job.code]))
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert body.splitlines()[0] == "key,code,message,request_id,at"
    assert "'=cmd|x,AccessDenied" in body
    assert '"a,b.txt",NoSuchKey,gone,R1' in body
    page = client_as(operator).get(reverse("job_detail", args=[job.code])).content.decode()
    assert "Retry failed items" in page
    assert reverse("job_errors_csv", args=[job.code]) in page


def test_errors_csv_neutralises_formulas_in_every_cell(client_as, operator, endpoint):
    # The message and request id come from the endpoint, not from us: a hostile
    # or broken gateway could answer with a formula as well as a user could name one.
    job = make_job(endpoint, operator, state=Job.State.PARTIAL)
    JobError.objects.create(
        job=job, key="plain.txt", code="@SUM(A1)", message="=HYPERLINK(1)", request_id="+R2"
    )
    response = client_as(operator).get(reverse("job_errors_csv", args=[job.code]))
    assert "plain.txt,'@SUM(A1),'=HYPERLINK(1),'+R2," in response.content.decode()


def test_notice_polls_while_jobs_run_and_raises_objects_changed_when_one_ends(
    client_as, operator, endpoint
):
    client = client_as(operator)
    since = timezone.now().timestamp()
    idle = client.get(reverse("job_notice"), {"since": since}).content.decode()
    assert "every 2s" not in idle and "jobStarted from:body" in idle

    job = make_job(endpoint, operator, state=Job.State.RUNNING)
    polling = client.get(reverse("job_notice"), {"since": since}).content.decode()
    assert "every 2s" in polling and "data-poll" in polling

    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED, finished_at=timezone.now())
    response = client.get(reverse("job_notice"), {"since": since, "seen": 0})
    html = response.content.decode()
    assert "objectsChanged" in json.loads(response.headers["HX-Trigger"])
    assert "photos/cat.jpg" in html and "every 2s" not in html
    again = client.get(reverse("job_notice"), {"since": since, "seen": 1})
    assert "HX-Trigger" not in again.headers
    assert "photos/cat.jpg" in again.content.decode()


def test_every_page_loads_the_notice_and_links_to_jobs(client_as, operator):
    html = client_as(operator).get(reverse("home")).content.decode()
    assert reverse("job_notice") in html
    assert f'href="{reverse("jobs")}"' in html


def _card(client, job) -> str:
    response = client.get(reverse("job_detail", args=[job.code]), headers={"HX-Request": "true"})
    return response.content.decode()


def test_card_of_a_job_whose_worker_died_says_it_waits_and_shows_no_speed_or_eta(
    client_as, operator, endpoint
):
    MiB = 1024 * 1024
    job = make_job(
        endpoint,
        operator,
        state=Job.State.RUNNING,
        bytes_total=100 * MiB,
        bytes_done=50 * MiB,
        speed=MiB,
    )
    client = client_as(operator)
    alive = _card(client, job)
    assert "1.0 MiB/s" in alive and "about 50 s left" in alive
    assert "Waiting for a worker" not in alive
    assert "50.0 MiB of 100.0 MiB" in alive  # binary units, as the upload panel
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=Job.HEARTBEAT_LATE_SECONDS + 5)
    )
    dead = _card(client, job)
    assert "Waiting for a worker" in dead and "stopped answering" in dead
    assert "MiB/s" not in dead and "left" not in dead
    assert 'hx-trigger="every 1s"' in dead  # it keeps polling until a worker takes it


def test_card_of_a_queued_job_says_since_when_it_waits_for_a_worker(client_as, operator, endpoint):
    job = make_job(endpoint, operator, state=Job.State.QUEUED)
    html = _card(client_as(operator), job)
    assert "Waiting for a worker since" in html


def test_what_a_control_says_is_in_the_language_of_the_page(client_as, operator, endpoint, sent):
    job = make_job(endpoint, operator)
    client = client_as(operator)
    url = reverse("job_pause", args=[job.code])
    response = client.post(url, headers={"HX-Request": "true", "Accept-Language": "zh-CN"})
    assert "已暂停。" in response.content.decode()
    response = client.post(url, headers={"HX-Request": "true", "Accept-Language": "en"})
    assert "This job is not running." in response.content.decode()


def test_the_cards_progress_bar_says_its_value_in_words(client_as, operator, endpoint):
    job = make_job(endpoint, operator)
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED, bytes_total=10, bytes_done=10)
    card = client_as(operator).get(reverse("job_detail", args=[job.code]), HTTP_HX_REQUEST="true")
    assert re.search(r'<progress [^>]*aria-label="Progress"', card.content.decode())
    assert 'aria-valuetext="100 % · Succeeded"' in card.content.decode()


def test_only_the_cards_own_poll_announces_the_end_of_a_job(client_as, operator, endpoint):
    job = make_job(endpoint, operator, state=Job.State.SUCCEEDED, finished_at=timezone.now())
    client = client_as(operator)
    url = reverse("job_detail", args=[job.code])
    own = client.get(url, headers={"HX-Request": "true", "HX-Target": f"job-{job.code}"})
    assert 'hx-swap-oob="innerHTML:#announcer"' in own.content.decode()
    assert "ended: Succeeded" in own.content.decode()
    # The upload panel loading a finished card, and the full page, say nothing.
    loaded = client.get(url, headers={"HX-Request": "true", "HX-Target": "upload-item-1"})
    assert "#announcer" not in loaded.content.decode()
    assert 'hx-swap-oob="innerHTML:#announcer"' not in client.get(url).content.decode()
    running = make_job(endpoint, operator, state=Job.State.RUNNING)
    polled = client.get(
        reverse("job_detail", args=[running.code]),
        headers={"HX-Request": "true", "HX-Target": f"job-{running.code}"},
    )
    assert "#announcer" not in polled.content.decode()
