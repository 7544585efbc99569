"""The faults an upload must survive: killed workers, cut chunks, cancels, a full disk."""

from __future__ import annotations

import hashlib
import http.client
import socket
import time

import pytest
from django.urls import reverse

from console import jobs
from console.models import Job
from console.tests.workers import wait_for
from objects.models import Upload, UploadChunk
from objects.tests.upload_helpers import (
    MiB,
    complete,
    create_upload,
    make_file,
    multipart_uploads,
    read_chunk,
    send_chunks,
    sha256_file,
    sha256_object,
)

pytestmark = [pytest.mark.s3, pytest.mark.worker]


def job_of(answer) -> Job:
    return Job.objects.get(code=answer["job"])


def parts_stored(answer) -> int:
    return UploadChunk.objects.filter(upload__job__code=answer["job"]).exclude(etag="").count()


@pytest.mark.slow
def test_killed_worker_mid_upload_another_finishes_byte_identical(
    worker_process, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "large.bin", 200 * MiB)
    first = worker_process()
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    assert answer["chunks"] == 25
    send_chunks(client, source, answer, range(1, 13))
    wait_for(lambda: parts_stored(answer) >= 4, timeout=90, what="parts in the bucket")
    first.kill()
    stored_at_kill = parts_stored(answer)
    assert stored_at_kill < 25
    assert job_of(answer).state == Job.State.RUNNING  # the dead worker's job looks alive

    send_chunks(client, source, answer, range(13, 26))
    complete(client, answer)
    worker_process()  # a new worker; the sweep hands it the job once the heartbeat is stale
    time.sleep(2.5)
    assert jobs.sweep(stale_seconds=2) == 1
    job = wait_for(
        lambda: (j := job_of(answer)).finished and j, timeout=120, what="the job to finish"
    )
    assert job.state == Job.State.SUCCEEDED, job.error
    raw = s3_target.client()
    assert sha256_object(raw, bucket, "large.bin") == sha256_file(source)
    assert multipart_uploads(raw, bucket) == []
    assert not Upload.objects.get(job=job).staging_dir.exists()
    # Claimed exactly once after the sweep: a second sweep finds nothing to do.
    assert jobs.sweep(stale_seconds=0) == 0


def _chunk_put_head(live_server, path: str, session: str, announced: int) -> tuple[tuple, bytes]:
    """The address of the live server and the head of a chunk PUT written by hand, so
    that a test can send its body in pieces or cut it off."""
    host, port = live_server.url.removeprefix("http://").split(":")
    token = "a" * 32
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {announced}\r\n"
        f"Content-Type: application/octet-stream\r\nX-CSRFToken: {token}\r\n"
        f"Cookie: sessionid={session}; csrftoken={token}\r\nConnection: close\r\n\r\n"
    )
    return (host, int(port)), head.encode()


def _raw_put(live_server, path: str, session: str, body: bytes, announced: int) -> int | None:
    """A PUT whose body is shorter than its Content-Length, then the connection is cut."""
    address, head = _chunk_put_head(live_server, path, session, announced)
    sock = socket.create_connection(address, timeout=10)
    try:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)  # the browser's connection drops mid-chunk
        answer = sock.recv(4096).decode(errors="replace")
    except OSError:
        return None
    finally:
        sock.close()
    return int(answer.split()[1]) if answer.startswith("HTTP/") else None


def test_chunk_cut_off_halfway_is_discarded_and_the_retry_is_byte_identical(
    worker, small_parts, live_server, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "cut.bin", 12 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    chunk = read_chunk(source, answer, 2)
    status = _raw_put(
        live_server,
        f"{answer['chunk_url']}2",
        client.cookies["sessionid"].value,
        chunk[: len(chunk) // 2],
        len(chunk),
    )
    assert status in (400, None)
    upload = Upload.objects.get(job__code=answer["job"])
    wait_for(lambda: not list(upload.staging_dir.glob(".*")), timeout=10, what="temp cleanup")
    assert not UploadChunk.objects.filter(upload=upload, number=2).exists()
    assert not upload.chunk_path(2).exists()

    # The module sends it again, through a real HTTP connection this time too.
    conn = http.client.HTTPConnection(live_server.url.removeprefix("http://"), timeout=30)
    conn.request(
        "PUT",
        f"{answer['chunk_url']}2",
        body=chunk,
        headers={
            "Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={'a' * 32}",
            "X-CSRFToken": "a" * 32,
            "X-Chunk-SHA256": hashlib.sha256(chunk).hexdigest(),
        },
    )
    assert conn.getresponse().status == 200
    send_chunks(client, source, answer, [1, 3])
    complete(client, answer)
    job = wait_for(lambda: (j := job_of(answer)).finished and j, what="the job to finish")
    assert job.state == Job.State.SUCCEEDED, job.error
    assert sha256_object(s3_target.client(), bucket, "cut.bin") == sha256_file(source)


def test_cancel_leaves_no_multipart_upload_and_no_staged_file(
    worker, small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "cancel.bin", 16 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer, [1, 2])
    wait_for(lambda: parts_stored(answer) >= 1, what="a part in the bucket")
    raw = s3_target.client()
    assert len(multipart_uploads(raw, bucket)) == 1
    response = client.post(answer["cancel_url"], headers={"HX-Request": "true"})
    assert response.status_code == 200
    job = wait_for(lambda: (j := job_of(answer)).finished and j, what="the cancel")
    assert job.state == Job.State.CANCELED
    assert multipart_uploads(raw, bucket) == []
    assert not Upload.objects.get(job=job).staging_dir.exists()
    # A chunk arriving after the cancel is refused and leaves nothing either.
    late = client.put(
        f"{answer['chunk_url']}3",
        data=read_chunk(source, answer, 3),
        content_type="application/octet-stream",
    )
    assert late.status_code == 409
    assert not Upload.objects.get(job=job).staging_dir.exists()
    assert "cancel.bin" not in [
        o["Key"] for o in raw.list_objects_v2(Bucket=bucket).get("Contents", [])
    ]


def test_cancel_of_a_paused_upload_aborts_it_without_a_worker(
    worker, small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "p.bin", 11 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer, [1])
    wait_for(lambda: parts_stored(answer) == 1, what="a part")
    client.post(answer["pause_url"])
    wait_for(lambda: job_of(answer).state == Job.State.PAUSED, what="the pause")
    client.post(answer["cancel_url"])
    assert job_of(answer).state == Job.State.CANCELED
    assert multipart_uploads(s3_target.client(), bucket) == []
    assert not Upload.objects.get(job__code=answer["job"]).staging_dir.exists()


def test_staging_disk_too_small_is_refused_in_words_and_nothing_is_written(
    client_as, operator, endpoint, bucket, tmp_path, staging, settings
):
    source = make_file(tmp_path / "huge.bin", 1000)
    # No test may mount a small disk; a reserve larger than any disk has the same effect.
    settings.STAGING_RESERVE_BYTES = 1 << 60
    response = create_upload(client_as(operator), endpoint, bucket, source)
    assert response.status_code == 507
    message = response.json()["error"]
    assert "Not enough room to stage this upload" in message
    assert "huge.bin" in message
    assert not Job.objects.exists()
    assert list(staging.iterdir()) == []


def test_chunk_refused_when_the_staging_disk_fills_up_meanwhile(
    client_as, operator, endpoint, bucket, tmp_path, staging, settings
):
    source = make_file(tmp_path / "f.bin", 1000)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    settings.STAGING_RESERVE_BYTES = 1 << 60
    response = client.put(
        f"{answer['chunk_url']}1", data=read_chunk(source, answer, 1), content_type="x/y"
    )
    assert response.status_code == 507
    assert "staging disk is full" in response.json()["error"]
    upload = Upload.objects.get(job__code=answer["job"])
    assert list(upload.staging_dir.iterdir()) == []
    assert not upload.chunks.exists()


def test_pause_then_resume_after_a_worker_restart_uses_the_stored_parts(
    small_parts, worker_process, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "resume.bin", 20 * MiB)
    first = worker_process()
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    assert answer["chunks"] == 4
    send_chunks(client, source, answer, [1, 2])
    wait_for(lambda: parts_stored(answer) == 2, timeout=60, what="two parts")
    client.post(answer["pause_url"])
    wait_for(lambda: job_of(answer).state == Job.State.PAUSED, timeout=30, what="the pause")
    first.stop()
    upload = Upload.objects.get(job__code=answer["job"])
    # Stored parts are no longer staged: only the bucket's copy can complete the file.
    assert not upload.chunk_path(1).exists() and not upload.chunk_path(2).exists()

    worker_process()
    send_chunks(client, source, answer, [3, 4])
    client.post(answer["resume_url"])
    complete(client, answer)
    job = wait_for(lambda: (j := job_of(answer)).finished and j, timeout=60, what="the job")
    assert job.state == Job.State.SUCCEEDED, job.error
    assert sha256_object(s3_target.client(), bucket, "resume.bin") == sha256_file(source)
    assert multipart_uploads(s3_target.client(), bucket) == []


def test_upload_page_needs_operator(client_as, viewer, operator, endpoint, bucket):
    url = reverse("objects:upload", args=[endpoint.code, bucket])
    assert client_as(viewer).get(url).status_code == 404
    page = client_as(operator).get(url + "?prefix=a/b/")
    assert page.status_code == 200
    assert b"data-upload-target" in page.content


def test_uploads_failed_or_paused_too_long_give_up_staging_and_parts(
    small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path, staging, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from objects.tasks import UploadRunner, purge_uploads

    source = make_file(tmp_path / "old.bin", 11 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer, [1, 2])
    # Start the multipart upload as a worker would, then leave it paused.
    job = jobs.claim(job_of(answer).pk, "t")
    runner = UploadRunner(job)
    runner.start_or_resume()
    Job.objects.filter(pk=job.pk).update(state=Job.State.PAUSED)
    assert len(multipart_uploads(s3_target.client(), bucket)) == 1
    assert purge_uploads() == 0  # recent: kept for a resume

    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(days=2))
    assert purge_uploads() == 1
    job.refresh_from_db()
    assert job.state == Job.State.CANCELED and "discarded" in job.error
    assert multipart_uploads(s3_target.client(), bucket) == []
    assert not Upload.objects.get(job=job).staging_dir.exists()


def test_chunk_in_flight_when_the_upload_is_canceled_gets_409_in_words(
    staging, small_parts, live_server, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    # No worker: the cancel of a queued upload removes its staging folder itself,
    # while this chunk's body is still arriving.
    source = make_file(tmp_path / "inflight.bin", 12 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    chunk = read_chunk(source, answer, 1)
    address, head = _chunk_put_head(
        live_server, f"{answer['chunk_url']}1", client.cookies["sessionid"].value, len(chunk)
    )
    upload = Upload.objects.get(job__code=answer["job"])
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(head + chunk[: len(chunk) // 2])
        wait_for(lambda: list(upload.staging_dir.glob(".*")), timeout=10, what="a temp file")
        assert client.post(answer["cancel_url"]).status_code in (200, 302)
        assert job_of(answer).state == Job.State.CANCELED
        sock.sendall(chunk[len(chunk) // 2 :])
        answer_text = b""
        while piece := sock.recv(65536):
            answer_text += piece
    status_line, _, rest = answer_text.decode(errors="replace").partition("\r\n")
    assert status_line.split()[1] == "409", answer_text[:2000]
    assert "This upload has ended." in rest
    assert not upload.staging_dir.exists()
