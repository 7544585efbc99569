"""Uploads through the chunk API with a real worker on the real Redis."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.urls import reverse

from console import s3
from console.models import AuditEntry, Job
from console.s3 import S3Error
from console.tests.workers import wait_for
from objects.models import Upload, UploadChunk
from objects.tests.upload_helpers import (
    MiB,
    complete,
    create_upload,
    make_file,
    multipart_uploads,
    send_chunk,
    send_chunks,
    sha256_file,
    sha256_object,
)

pytestmark = [pytest.mark.s3, pytest.mark.worker]


def finished_job(code, timeout=60):
    return wait_for(
        lambda: (job := Job.objects.get(code=code)).finished and job,
        timeout=timeout,
        what=f"job {code} to finish",
    )


def test_small_file_goes_in_one_put_with_its_options(
    worker, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "notes.txt", 1000)
    client = client_as(operator)
    response = create_upload(
        client,
        endpoint,
        bucket,
        source,
        prefix="docs/",
        cache_control="max-age=60",
        content_disposition="attachment",
        metadata="Owner: Alice\nx-amz-meta-Project: blue",
        tags="team=red\nyear=2026",
    )
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["chunks"] == 1
    send_chunks(client, source, answer)
    assert complete(client, answer).status_code == 200
    job = finished_job(answer["job"])
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.percent == 100
    raw = s3_target.client()
    head = raw.head_object(Bucket=bucket, Key="docs/notes.txt")
    assert head["ContentLength"] == 1000
    assert head["ContentType"] == "text/plain"
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == "attachment"
    assert head["Metadata"] == {"owner": "Alice", "project": "blue"}
    tags = raw.get_object_tagging(Bucket=bucket, Key="docs/notes.txt")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "red", "year": "2026"}
    assert sha256_object(raw, bucket, "docs/notes.txt") == sha256_file(source)
    assert not Upload.objects.get(job=job).staging_dir.exists()
    assert AuditEntry.objects.filter(action="object.upload", outcome="ok").exists()


def test_multipart_upload_is_byte_identical_and_leaves_nothing(
    worker, small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "big.bin", 17 * MiB + 123)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source, content_type="x-test/bin").json()
    assert answer["chunk_size"] == 5 * MiB
    assert answer["chunks"] == 4
    send_chunks(client, source, answer)
    complete(client, answer)
    job = finished_job(answer["job"])
    assert job.state == Job.State.SUCCEEDED, job.error
    raw = s3_target.client()
    assert sha256_object(raw, bucket, "big.bin") == sha256_file(source)
    assert raw.head_object(Bucket=bucket, Key="big.bin")["ContentType"] == "x-test/bin"
    assert multipart_uploads(raw, bucket) == []
    upload = Upload.objects.get(job=job)
    assert list(upload.chunks.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert all(upload.chunks.values_list("etag", flat=True))
    assert not upload.staging_dir.exists()
    assert job.bytes_done == job.bytes_total


def test_parts_are_sent_while_later_chunks_are_still_arriving(
    worker, small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "stream.bin", 16 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer, [1, 2])
    upload = Upload.objects.get(job__code=answer["job"])
    wait_for(
        lambda: UploadChunk.objects.filter(upload=upload).exclude(etag="").count() == 2,
        what="the first parts to reach the bucket",
    )
    assert Job.objects.get(pk=upload.job_id).state == Job.State.RUNNING
    send_chunks(client, source, answer, [3, 4])
    complete(client, answer)
    assert finished_job(answer["job"]).state == Job.State.SUCCEEDED


def test_complete_before_every_chunk_is_refused(
    worker, small_parts, client_as, operator, endpoint, bucket, tmp_path
):
    source = make_file(tmp_path / "f.bin", 11 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer, [1])
    response = complete(client, answer)
    assert response.status_code == 400
    assert "2, 3" in response.json()["error"]
    client.post(answer["cancel_url"])


def test_parts_carry_a_signed_content_md5_which_the_bucket_checks(
    endpoint, s3_server, bucket, tmp_path
):
    """The body of a part is left out of the signature (no second hash of every
    byte on either side); its Content-MD5 is signed, and the bucket refuses bytes
    that do not match it (moto does not check Content-MD5; a real gateway does)."""
    source = make_file(tmp_path / "part.bin", 5 * MiB)
    md5 = hashlib.md5(source.read_bytes()).digest()
    other = hashlib.md5(b"other bytes").digest()
    sent = []
    client = s3.client_for(endpoint, transfer=True)

    def capture(request, **kwargs):
        sent.append({k.lower(): v for k, v in request.headers.items()})

    client.meta.events.register("before-send.s3.UploadPart", capture)
    upload_id = s3.create_multipart_upload(endpoint, bucket, "signed.bin", {})
    try:
        etag = s3.upload_part(endpoint, bucket, "signed.bin", upload_id, 1, source, b64(md5))
        assert etag.strip('"') == md5.hex()
        if not s3_server.is_moto:
            with pytest.raises(S3Error) as refused:
                s3.upload_part(endpoint, bucket, "signed.bin", upload_id, 2, source, b64(other))
            assert refused.value.code in ("BadDigest", "InvalidDigest")
    finally:
        client.meta.events.unregister("before-send.s3.UploadPart", capture)
        s3.abort_multipart(endpoint, bucket, "signed.bin", upload_id, missing_ok=True)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in sent[0].items()}
    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    signed = re.search(r"SignedHeaders=([^,]+)", headers["authorization"]).group(1)
    assert "content-md5" in signed.split(";")


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_chunk_of_wrong_length_or_checksum_is_refused_before_staging(
    worker, small_parts, client_as, operator, endpoint, bucket, tmp_path
):
    source = make_file(tmp_path / "f.bin", 11 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    short = client.put(f"{answer['chunk_url']}1", data=b"x" * 10, content_type="x/y")
    assert short.status_code == 400
    assert "must be" in short.json()["error"]
    damaged = client.put(
        f"{answer['chunk_url']}1",
        data=b"y" * (5 * MiB),
        content_type="x/y",
        headers={"X-Chunk-SHA256": "0" * 64},
    )
    assert damaged.status_code == 400
    assert "damaged" in damaged.json()["error"]
    upload = Upload.objects.get(job__code=answer["job"])
    assert not UploadChunk.objects.filter(upload=upload).exists()
    assert list(upload.staging_dir.iterdir()) == []
    client.post(answer["cancel_url"])


def test_only_the_owner_sends_chunks_and_seals_the_upload(
    worker, client_as, operator, endpoint, bucket, tmp_path, django_user_model
):
    from console.models import Grant

    other = django_user_model.objects.create_user("other operator")
    Grant.objects.create(endpoint=endpoint, user=other, level=20)
    source = make_file(tmp_path / "mine.txt", 100)
    answer = create_upload(client_as(operator), endpoint, bucket, source).json()
    intruder = client_as(other)
    assert send_chunk(intruder, source, answer, 1).status_code == 404
    assert complete(intruder, answer).status_code == 404
    assert not UploadChunk.objects.filter(upload__job__code=answer["job"]).exists()
    assert not Upload.objects.get(job__code=answer["job"]).sealed
    client_as(operator).post(answer["cancel_url"])


def test_choosing_the_same_file_again_carries_on_with_its_upload(
    worker, small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    """A reloaded page loses the browser's queue; the console keeps the chunks."""
    source = make_file(tmp_path / "film.bin", 12 * MiB)
    client = client_as(operator)
    first = create_upload(client, endpoint, bucket, source, fingerprint="1700000000000").json()
    send_chunks(client, source, first, numbers=[1, 3])
    again = create_upload(client, endpoint, bucket, source, fingerprint="1700000000000")
    assert again.status_code == 200
    answer = again.json()
    assert answer["job"] == first["job"]
    assert sorted(answer["received"]) == [1, 3]
    send_chunks(client, source, answer, numbers=[2])
    assert complete(client, answer).status_code == 200
    job = finished_job(answer["job"])
    assert job.state == Job.State.SUCCEEDED, job.error
    assert sha256_object(s3_target.client(), bucket, "film.bin") == sha256_file(source)
    assert Job.objects.filter(target="film.bin").count() == 1
    assert AuditEntry.objects.filter(action="object.upload", outcome="resumed").exists()


def test_another_file_of_the_same_name_and_size_starts_a_new_upload(
    worker, small_parts, client_as, operator, endpoint, bucket, tmp_path, django_user_model
):
    source = make_file(tmp_path / "same.bin", 11 * MiB)
    client = client_as(operator)
    first = create_upload(client, endpoint, bucket, source, fingerprint="1").json()
    send_chunks(client, source, first, numbers=[1])
    # Another modification time, other options, or no fingerprint: not the same file.
    for fields in ({"fingerprint": "2"}, {"fingerprint": "1", "acl": "private"}, {}):
        other = create_upload(client, endpoint, bucket, source, **fields)
        assert other.status_code == 201, fields
        assert other.json()["job"] != first["job"] and other.json()["received"] == []
        client.post(other.json()["cancel_url"])
    # Nor is an ended upload, or somebody else's.
    from console.models import Grant

    colleague = django_user_model.objects.create_user("colleague")
    Grant.objects.create(endpoint=endpoint, user=colleague, level=20)
    theirs = create_upload(client_as(colleague), endpoint, bucket, source, fingerprint="1")
    assert theirs.status_code == 201
    client_as(colleague).post(theirs.json()["cancel_url"])
    client = client_as(operator)  # the test client was the colleague's meanwhile
    client.post(first["cancel_url"])
    finished_job(first["job"])
    after = create_upload(client, endpoint, bucket, source, fingerprint="1")
    assert after.status_code == 201 and after.json()["job"] != first["job"]
    client.post(after.json()["cancel_url"])


def test_an_ended_session_gets_401_in_words_not_the_login_page(
    worker, client_as, operator, endpoint, bucket, tmp_path
):
    # A browser follows a redirect to the login page and gets a 200 there, which
    # the upload module would count as a chunk accepted.
    source = make_file(tmp_path / "late.txt", 100)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    client.logout()
    for response in (send_chunk(client, source, answer, 1), complete(client, answer)):
        assert response.status_code == 401
        assert "session has ended" in response.json()["error"]
    assert not UploadChunk.objects.filter(upload__job__code=answer["job"]).exists()
    client_as(operator).post(answer["cancel_url"])


def test_completing_an_upload_that_has_ended_is_refused(
    worker, client_as, operator, endpoint, bucket, tmp_path
):
    source = make_file(tmp_path / "gone.txt", 100)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer)
    Job.objects.filter(code=answer["job"]).update(state=Job.State.FAILED)
    refused = complete(client, answer)
    assert refused.status_code == 409
    assert "ended" in refused.json()["error"]
    assert not Upload.objects.get(job__code=answer["job"]).sealed


def test_resent_chunk_is_accepted_once(
    worker, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "twice.txt", 5000)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    assert send_chunk(client, source, answer, 1).status_code == 200
    assert send_chunk(client, source, answer, 1).status_code == 200
    complete(client, answer)
    assert finished_job(answer["job"]).state == Job.State.SUCCEEDED
    assert sha256_object(s3_target.client(), bucket, "twice.txt") == sha256_file(source)


def test_bad_metadata_and_too_many_tags_are_refused_in_words(
    client_as, operator, endpoint, bucket, tmp_path, staging
):
    source = make_file(tmp_path / "f.txt", 10)
    client = client_as(operator)
    bad_name = create_upload(client, endpoint, bucket, source, metadata="bad name: x")
    assert bad_name.status_code == 400
    assert "name: value" in bad_name.json()["error"]
    long_value = create_upload(client, endpoint, bucket, source, metadata="a: " + "v" * 2049)
    assert "2 KiB" in long_value.json()["error"]
    tags = "\n".join(f"k{i}=v" for i in range(11))
    too_many = create_upload(client, endpoint, bucket, source, tags=tags)
    assert too_many.status_code == 400
    assert "At most 10 tags" in too_many.json()["error"]
    twice = create_upload(client, endpoint, bucket, source, tags="team=red\nteam=blue")
    assert twice.status_code == 400 and "appears twice" in twice.json()["error"]
    folder = create_upload(client, endpoint, bucket, source, name="dir/")
    assert folder.status_code == 400
    assert not Job.objects.exists()


def test_folder_paths_are_kept_under_the_prefix(
    worker, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    source = make_file(tmp_path / "c.txt", 10)
    client = client_as(operator)
    answer = create_upload(
        client, endpoint, bucket, source, name="album/sub/c.txt", prefix="photos/"
    ).json()
    assert answer["key"] == "photos/album/sub/c.txt"
    send_chunks(client, source, answer)
    complete(client, answer)
    assert finished_job(answer["job"]).state == Job.State.SUCCEEDED
    assert s3_target.client().head_object(Bucket=bucket, Key="photos/album/sub/c.txt")


def test_viewer_cannot_upload(client_as, viewer, endpoint, bucket, tmp_path, staging):
    source = make_file(tmp_path / "f.txt", 10)
    response = create_upload(client_as(viewer), endpoint, bucket, source)
    assert response.status_code == 404
    assert not Job.objects.exists()


def test_chunk_size_grows_so_parts_stay_within_ten_thousand(settings):
    from objects.uploads import chunk_size_for

    assert chunk_size_for(100 * MiB) == 8 * MiB
    huge = 200 * 1024 * MiB  # 200 GiB would need 25 600 parts of 8 MiB
    size = chunk_size_for(huge)
    assert -(-huge // size) <= 10_000
    assert size >= 5 * MiB
    settings.UPLOAD_CHUNK_SIZE = 1 * MiB
    assert chunk_size_for(100 * MiB) == 5 * MiB


def test_an_upload_waiting_for_chunks_holds_no_worker_and_the_next_chunk_wakes_it(
    worker, small_parts, settings, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    # A browser that sends slowly (or went quiet: a laptop lid closed) holds no
    # worker between its chunks: once the chunks that came are stored, the job waits.
    settings.UPLOAD_IDLE_SECONDS = 1
    source = make_file(tmp_path / "quiet.bin", 11 * MiB)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    send_chunks(client, source, answer, [1])
    waiting = wait_for(
        lambda: (job := Job.objects.get(code=answer["job"])).state == Job.State.WAITING and job,
        timeout=30,
        what="the upload to give up its worker",
    )
    assert waiting.waiting_for == "browser" and waiting.task_id
    assert waiting.bytes_done == 5 * MiB  # chunk 1 went to the bucket before the wait
    card = client.get(reverse("job_detail", args=[waiting.code]), HTTP_HX_REQUEST="true")
    assert b"Waiting for the browser" in card.content and b'data-state="waiting"' in card.content
    # The next chunks set it going again: nobody has to press Resume.
    send_chunks(client, source, answer, [2, 3])
    assert complete(client, answer).status_code == 200
    done = wait_for(
        lambda: (job := Job.objects.get(code=answer["job"])).state == Job.State.SUCCEEDED and job,
        timeout=60,
        what="the woken upload to succeed",
    )
    assert done.error == ""
    assert sha256_object(s3_target.client(), bucket, "quiet.bin") == sha256_file(source)
    assert multipart_uploads(s3_target.client(), bucket) == []


def test_upload_header_fields_with_line_breaks_are_refused_in_words(
    client_as, operator, endpoint, bucket, tmp_path, staging
):
    source = make_file(tmp_path / "h.txt", 10)
    response = create_upload(
        client_as(operator), endpoint, bucket, source, cache_control="no-cache\r\nX-Evil: 1"
    )
    assert response.status_code == 400
    assert "sent as an HTTP header" in response.json()["error"]
    assert not Upload.objects.exists()
