"""Service faults, with the console in real processes: the database taken away
under the web side and a worker, an answer lost on the way, a worker killed while
another is alive, a worker busy in one long call, twenty slow uploads beside a
bulk delete.

The console runs as production runs it: gunicorn with threads for the web side,
`celery worker` and `celery beat` in child processes. A TCP proxy can stand
between them and PostgreSQL, so that a test takes the database away (every
connection dropped, new ones refused) and gives it back; the test itself reads
the rows directly, never through the proxy. Requests go over HTTP with the session
of a user the test logged in, and are tried again as the upload module
(static/js/upload-item.js) tries them.

The figures these faults are judged by (how long until a job resumed, what a page
answered meanwhile) are printed with a label in capitals: run with -s to see them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import urllib3
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import free_port, wait_for_port
from console import jobs
from console.models import Job
from console.tests.servers import TcpProxy
from console.tests.workers import ChildProcess, child_env, database_url, wait_for
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

pytestmark = [pytest.mark.s3, pytest.mark.worker, pytest.mark.slow]

CHUNK = 5 * MiB
UNFINISHED = [Job.State.QUEUED, Job.State.RUNNING, Job.State.WAITING]
OUTAGE_SENTENCE = "The console's database is not answering right now."


class WebProcess(ChildProcess):
    """The web side as production runs it (gunicorn, threads) in a child process."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "console.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            "2",
            "--threads",
            "8",
            "--timeout",
            "120",
            "--access-logfile",
            "-",
            # Test sessions run side by side: none may take another's control socket.
            "--no-control-socket",
        ]
        super().__init__(command, env, log)
        wait_for_port(self.port, timeout=120)


@pytest.fixture
def web_process(transactional_db, celery_queue, staging, tmp_path):
    """Start the web side: `web_process(env)`, with DEBUG off so that errors are
    answered by the console's own handler, as in production."""
    started: list[WebProcess] = []

    def start(env: dict | None = None) -> WebProcess:
        settings = {
            "DEBUG": "false",
            "UPLOAD_CHUNK_SIZE": str(CHUNK),
            "UPLOAD_SINGLE_REQUEST_MAX": str(CHUNK),
            **(env or {}),
        }
        log = tmp_path / f"web-{len(started)}.log"
        item = WebProcess(child_env(celery_queue, staging, settings), log)
        started.append(item)
        return item

    yield start
    for item in started:
        item.stop()


@pytest.fixture
def db_proxy(transactional_db):
    """A proxy to the test database that a test can cut off (`cut()`, `restore()`)."""
    from django.db import connection

    db = connection.settings_dict
    with TcpProxy(int(db["PORT"] or 5432), db["HOST"] or "127.0.0.1") as proxy:
        yield proxy


# The upload module's patience: a request whose answer says the console was away
# for a moment is tried again after 1, 2, 4, 8, 16, then every 30 seconds, 9 times.
RETRIES = 9
PASSING = (0, 502, 503, 504)


def backoff(count: int) -> float:
    return min(2 ** (count - 1), 30)


@dataclass
class Answer:
    status: int  # 0 when no answer came (refused, cut)
    headers: dict
    body: bytes
    took: float
    error: str = ""  # why no answer came

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class Browser:
    """A logged-in person's browser, over HTTP to the web process. Every status
    answered is kept in `statuses`, so a test can say which were 5xx.

    Like a browser, it sends a request once more when the kept-alive connection it
    went out on turned out closed (the server's keep-alive timeout ran out meanwhile);
    `dropped` counts those."""

    TOKEN = "a" * 32
    # Once, on a connection that closed before any answer came; never on an answer
    # (not even a 503 with Retry-After: the test sees every answer).
    RESEND = urllib3.Retry(
        total=1,
        connect=1,
        read=1,
        status=0,
        other=0,
        redirect=False,
        allowed_methods=None,
        respect_retry_after_header=False,
        raise_on_status=False,
    )

    def __init__(self, url: str, client):
        self.url = url
        self.cookie = f"sessionid={client.cookies['sessionid'].value}; csrftoken={self.TOKEN}"
        # No browser gives up sending a chunk after a few seconds: a server that is
        # busy may take its time to read a body (urllib3 times the sending with the
        # connect timeout).
        self.pool = urllib3.PoolManager(maxsize=32, retries=self.RESEND, timeout=120)
        self.statuses: list[tuple[str, str, int]] = []
        self.dropped: list[str] = []

    def request(self, method: str, path: str, body=None, headers=None) -> Answer:
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.TOKEN, **(headers or {})}
        started = time.monotonic()
        try:
            reply = self.pool.request(
                method, self.url + path, body=body, headers=headers, redirect=False
            )
            answer = Answer(reply.status, dict(reply.headers), reply.data, 0)
            if reply.retries and reply.retries.history:
                self.dropped += [repr(entry.error) for entry in reply.retries.history]
        except urllib3.exceptions.HTTPError as exc:
            answer = Answer(0, {}, b"", 0, repr(exc))
        answer.took = time.monotonic() - started
        self.statuses.append((method, path, answer.status))
        return answer

    def get(self, path: str, headers=None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, fields=None) -> Answer:
        body = urlencode(fields or {}, doseq=True)
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def patiently(self, send) -> Answer:
        """`send()` again while it answers that the console is away, as the upload
        module does."""
        for count in range(RETRIES + 1):
            answer = send()
            if answer.status not in PASSING or count == RETRIES:
                return answer
            time.sleep(backoff(count + 1))
        raise AssertionError("unreachable")

    def errors(self) -> Counter:
        """The 5xx answered, by status."""
        return Counter(status for _m, _p, status in self.statuses if status >= 500)


class BrowserUpload:
    """One file sent by the browser's upload module: create, chunks, "all sent"."""

    def __init__(self, browser: Browser, endpoint, bucket: str, source: Path, key: str):
        self.browser, self.source, self.key = browser, source, key
        self.create_url = reverse("objects:upload_create", args=[endpoint.code, bucket])
        self.answer: dict = {}

    def create(self) -> None:
        fields = {"path": self.key, "size": self.source.stat().st_size}
        answer = self.browser.patiently(lambda: self.browser.post(self.create_url, fields))
        assert answer.status == 201, (answer.status, answer.text)
        self.answer = answer.json()

    @property
    def chunks(self) -> int:
        return self.answer["chunks"]

    @property
    def code(self) -> str:
        return self.answer["job"]

    def send(self, number: int) -> None:
        data = read_chunk(self.source, self.answer, number)
        url = f"{self.answer['chunk_url']}{number}"
        headers = {"Content-Type": "application/octet-stream"}
        answer = self.browser.patiently(lambda: self.browser.request("PUT", url, data, headers))
        assert answer.status == 200, (number, answer.status, answer.text)

    def complete(self) -> None:
        answer = self.browser.patiently(lambda: self.browser.post(self.answer["complete_url"]))
        assert answer.status == 200, (answer.status, answer.text)

    def job(self) -> Job:
        return Job.objects.get(code=self.code)


def probe(web: WebProcess, path: str) -> Answer:
    """A request without a session, as a load balancer's health probe sends it."""
    started = time.monotonic()
    reply = urllib3.request("GET", web.url + path, retries=False, timeout=30)
    return Answer(reply.status, dict(reply.headers), reply.data, time.monotonic() - started)


def parts_stored(code: str) -> int:
    return UploadChunk.objects.filter(upload__job__code=code).exclude(etag="").count()


def finished(job: Job, timeout: float = 180) -> Job:
    return wait_for(
        lambda: (row := Job.objects.get(pk=job.pk)).finished and row,
        timeout=timeout,
        interval=0.5,
        what=f"the {job.kind} job to finish",
    )


def unfinished_jobs() -> list:
    return list(Job.objects.filter(state__in=UNFINISHED).values_list("kind", "state"))


def put_objects(raw, bucket: str, prefix: str, count: int) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda n: raw.put_object(Bucket=bucket, Key=f"{prefix}{n:05d}", Body=b"x"),
                range(count),
            )
        )


def keys_under(raw, bucket: str, prefix: str) -> int:
    return raw.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0)


def logged_in_client(user) -> Client:
    """A test client of its own (for a thread), logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


# The database away.


def test_pages_answer_503_in_words_while_the_database_is_away_and_200_after(
    db_proxy, web_process, client_as, operator, endpoint, bucket
):
    web = web_process({"DATABASE_URL": database_url(db_proxy.port)})
    browser = Browser(web.url, client_as(operator))
    pages = {
        "bucket list": reverse("buckets:list", args=[endpoint.code]),
        "job list": reverse("jobs"),
    }
    wait_for(lambda: browser.get("/healthz").status == 200, timeout=180, what="the web side")
    for path in pages.values():
        assert browser.get(path).status == 200  # the web side holds a connection now

    db_proxy.cut()
    for name, path in pages.items():
        answer = browser.get(path)
        print(
            "OUTAGE PAGE",
            name,
            answer.status,
            f"Retry-After={answer.headers.get('Retry-After')}",
            f"in {answer.took:.2f} s",
        )
        assert answer.status == 503, answer.text
        assert answer.headers["Retry-After"] == "10"
        assert "<title>Unavailable for a moment</title>" in answer.text
        assert f"{OUTAGE_SENTENCE} Nothing was lost; try again in a few seconds." in answer.text
        assert answer.took < 10  # answered, not hung on the database
    fragment = browser.get(pages["job list"], {"HX-Request": "true"})
    assert fragment.status == 503 and fragment.headers["Retry-After"] == "10"
    assert fragment.text.startswith('<p class="message error" role="alert">')
    assert OUTAGE_SENTENCE in fragment.text and "<html" not in fragment.text
    asked_json = browser.get(pages["job list"], {"Accept": "application/json"})
    assert asked_json.status == 503
    assert asked_json.json()["retry"] is True and asked_json.json()["service"] == "database"
    # /healthz names the service that is down, to a probe and to a person's browser.
    for health in (probe(web, "/healthz"), browser.get("/healthz")):
        print("OUTAGE HEALTHZ", health.status, repr(health.text))
        assert health.status == 503 and health.headers["Retry-After"] == "10"
        assert "database: down (OperationalError)" in health.text
        assert "cache: ok" in health.text and "broker: ok" in health.text

    db_proxy.restore()
    for name, path in pages.items():
        answer = browser.get(path)
        print("AFTER OUTAGE PAGE", name, answer.status)
        assert answer.status == 200, answer.text
    assert browser.get("/healthz").text == "ok"
    assert browser.errors() == Counter({503: 5})  # the five above, no 500


OUTAGE_SECONDS = 15


def test_an_upload_outlasts_the_database_away_for_15_s_and_ends_byte_identical(
    db_proxy,
    web_process,
    worker_process,
    beat_process,
    client_as,
    operator,
    endpoint,
    s3_target,
    bucket,
    tmp_path,
):
    through_proxy = {"DATABASE_URL": database_url(db_proxy.port)}
    web = web_process(through_proxy)
    worker = worker_process(env=through_proxy, log=tmp_path / "worker.log")
    beat_process()
    browser = Browser(web.url, client_as(operator))
    source = make_file(tmp_path / "outage.bin", 8 * CHUNK + 1234)
    wait_for(lambda: worker.ready, timeout=180, what="the worker")
    upload = BrowserUpload(browser, endpoint, bucket, source, "outage.bin")
    upload.create()
    assert upload.chunks == 9

    def browser_side() -> None:
        for number in range(1, upload.chunks + 1):
            upload.send(number)
            time.sleep(0.5)  # a browser on a slow line: the job stays running
        upload.complete()

    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(browser_side)
        wait_for(
            lambda: parts_stored(upload.code) >= 2 and upload.job().state == Job.State.RUNNING,
            timeout=120,
            what="the upload to be running on the worker",
        )
        held_by = upload.job().task_id
        db_proxy.cut()
        cut_at = time.monotonic()
        try:
            during_the_outage(browser, upload, worker)
            time.sleep(max(0.0, cut_at + OUTAGE_SECONDS - time.monotonic()))
        finally:
            db_proxy.restore()  # at once, should a check above fail
            restored_at = timezone.now()
        print("OUTAGE LASTED", f"{time.monotonic() - cut_at:.1f} s")
        sending.result(timeout=240)

    job = finished(upload.job(), timeout=120)
    print(
        "UPLOAD FINISHED",
        f"{(job.finished_at - restored_at).total_seconds():.1f} s after the database returned",
    )
    assert job.state == Job.State.SUCCEEDED, job.error
    raw = s3_target.client()
    assert sha256_object(raw, bucket, "outage.bin") == sha256_file(source)
    assert multipart_uploads(raw, bucket) == []
    assert not Upload.objects.get(job=job).staging_dir.exists()
    assert unfinished_jobs() == []
    logged = worker.logged()
    tries = logged.count("the database is unreachable")
    print("WORKER RETRIES", tries, "same task at the end:", job.task_id == held_by)
    assert tries >= 1 and "Retry in 5s" in logged
    # The browser side saw the outage as 503s (tried again), never as a 500.
    errors = browser.errors()
    print("BROWSER 5XX", dict(errors), "resent on a dropped connection:", browser.dropped)
    assert set(errors) == {503}


def during_the_outage(browser: Browser, upload: BrowserUpload, worker) -> None:
    """What the web side and the worker do while the database is away."""
    chunk = browser.request(
        "PUT",
        f"{upload.answer['chunk_url']}1",
        read_chunk(upload.source, upload.answer, 1),
        {"Content-Type": "application/octet-stream"},
    )
    print("OUTAGE CHUNK", chunk.status, chunk.headers.get("Retry-After"), chunk.text, chunk.error)
    assert chunk.status == 503 and chunk.headers["Retry-After"] == "10"
    assert chunk.json()["retry"] is True and OUTAGE_SENTENCE in chunk.json()["error"]
    page = browser.get(reverse("job_detail", args=[upload.code]))
    print("OUTAGE PAGE job", page.status, page.headers.get("Retry-After"), page.error)
    assert page.status == 503 and OUTAGE_SENTENCE in page.text
    health = browser.get("/healthz")
    assert health.status == 503 and "database: down" in health.text
    # The worker's task meets the outage and tries again, keeping its job.
    wait_for(
        lambda: "the database is unreachable" in worker.logged(),
        timeout=OUTAGE_SECONDS - 1,
        what="the task to meet the outage",
    )
    assert upload.job().state == Job.State.RUNNING


def test_an_upload_whose_creation_answer_was_lost_is_found_again_while_it_waits(
    worker, small_parts, client_as, operator, endpoint, s3_target, bucket, tmp_path
):
    """The upload module asks again when the answer to "create" never came (a
    proxy's 502, a connection cut): by then the upload it created holds no worker
    and waits for the browser, and asking again must carry on with it, as choosing
    the file again after a reload does."""
    source = make_file(tmp_path / "again.bin", 12 * MiB)
    client = client_as(operator)
    lost = create_upload(client, endpoint, bucket, source, fingerprint="1700000000000").json()
    wait_for(
        lambda: Job.objects.get(code=lost["job"]).state == Job.State.WAITING,
        timeout=60,
        what="the upload to wait for the browser",
    )
    again = create_upload(client, endpoint, bucket, source, fingerprint="1700000000000")
    assert again.status_code == 200, again.content
    answer = again.json()
    assert answer["job"] == lost["job"] and answer["received"] == []
    send_chunks(client, source, answer)
    assert complete(client, answer).status_code == 200
    job = finished(Job.objects.get(code=answer["job"]), timeout=60)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert sha256_object(s3_target.client(), bucket, "again.bin") == sha256_file(source)
    assert Job.objects.filter(kind=Job.Kind.UPLOAD).count() == 1
    assert unfinished_jobs() == []


# Workers lost and workers busy.


def test_a_killed_workers_jobs_resume_on_the_other_worker(
    worker_process,
    beat_process,
    small_parts,
    client_as,
    operator,
    endpoint,
    s3_target,
    bucket,
    tmp_path,
):
    objects = 1000
    raw = s3_target.client()
    first = worker_process(log=tmp_path / "first.log")
    # Up and ready beside the first, but it takes tasks only from the moment the
    # first is killed, so that the first holds both jobs when it dies.
    second = worker_process(log=tmp_path / "second.log", listening=False)
    beat_process()
    put_objects(raw, bucket, "old/", objects)
    source = make_file(tmp_path / "resumed.bin", 16 * CHUNK)
    client = client_as(operator)
    answer = create_upload(client, endpoint, bucket, source).json()
    upload = Job.objects.get(code=answer["job"])

    def browser_side() -> None:
        own = logged_in_client(operator)
        try:
            for number in range(1, answer["chunks"] + 1):
                chunk = read_chunk(source, answer, number)
                url = f"{answer['chunk_url']}{number}"
                sent = own.put(url, chunk, content_type="application/octet-stream")
                assert sent.status_code == 200, sent.content
                time.sleep(1)  # a slow line, but never 2 s without a chunk: the job stays running
            assert own.post(answer["complete_url"]).status_code == 200
        finally:
            connection.close()  # this thread's own

    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(browser_side)
        wait_for(
            lambda: (
                parts_stored(answer["job"]) >= 2
                and Job.objects.get(pk=upload.pk).state == Job.State.RUNNING
            ),
            timeout=120,
            what="the upload to be running",
        )
        wait_for(lambda: second.ready, timeout=180, what="the second worker")
        response = client.post(
            reverse("objects:bulk_delete", args=[endpoint.code, bucket]),
            {"prefix": "old/", "start": "on", "confirm_name": bucket},
        )
        assert response.status_code == 302
        delete = Job.objects.get(kind=Job.Kind.DELETE)
        wait_for(
            lambda: Job.objects.get(pk=delete.pk).state == Job.State.RUNNING,
            timeout=60,
            interval=0.05,
            what="the delete to be running",
        )
        first.kill()
        killed_at = time.monotonic()
        second.listen()
        at_kill = {row.pk: row for row in Job.objects.filter(pk__in=[upload.pk, delete.pk])}
        held = {pk: row.task_id for pk, row in at_kill.items()}
        # The dead worker's jobs still look alive, and the delete is halfway.
        assert {row.state for row in at_kill.values()} == {Job.State.RUNNING}
        assert at_kill[delete.pk].items_done < objects

        resumed: dict[int, float] = {}
        swept: dict[int, float] = {}

        def both_resumed() -> bool:
            for row in Job.objects.filter(pk__in=held):
                now = time.monotonic() - killed_at
                if row.state == Job.State.QUEUED:
                    swept.setdefault(row.pk, now)
                if row.task_id != held[row.pk]:  # claimed again: a new task holds it
                    resumed.setdefault(row.pk, now)
            return len(resumed) == len(held)

        wait_for(both_resumed, timeout=90, interval=0.2, what="both jobs to resume")
        for name, job in (("upload", upload), ("bulk delete", delete)):
            queued = f"{swept[job.pk]:.1f} s" if job.pk in swept else "less, between two looks"
            print(
                f"RESUME {name} {resumed[job.pk]:.1f} s after SIGKILL",
                f"(queued again by the sweep after {queued})",
            )
        assert max(resumed.values()) < 40
        sending.result(timeout=180)

    upload, delete = finished(upload), finished(delete)
    assert upload.state == Job.State.SUCCEEDED, upload.error
    assert sha256_object(raw, bucket, "resumed.bin") == sha256_file(source)
    assert multipart_uploads(raw, bucket) == []
    assert not Upload.objects.get(job=upload).staging_dir.exists()
    assert delete.state == Job.State.SUCCEEDED, delete.error
    assert delete.items_done == objects and delete.items_failed == 0
    assert keys_under(raw, bucket, "old/") == 0
    assert unfinished_jobs() == []
    # The second worker ran what the first left: the tasks that claimed them are in its log.
    assert all(Job.objects.get(pk=pk).task_id in second.logged() for pk in held)


class NapRunner(jobs.Runner):
    """A job of one unit that takes `params["seconds"]`: one long request, say.
    Each start of the unit is noted in `naps`."""

    audit_action = "test.nap"
    naps: list[int] = []

    def step(self) -> bool:
        if self.progress.cursor:
            return False
        self.naps.append(self.job.pk)
        time.sleep(self.job.params["seconds"])
        self.progress.add(items=1)
        self.progress.cursor = 1
        return True


run_nap = jobs.task("tests.nap")


@pytest.fixture
def nap(monkeypatch, operator, endpoint):
    """Register the test kind for one test (the in-process worker runs it), and make its jobs."""
    monkeypatch.setattr(jobs, "KINDS", dict(jobs.KINDS))
    monkeypatch.setattr(NapRunner, "naps", [])
    jobs.register("nap", NapRunner, task=run_nap.name)

    def make(seconds: float, **fields) -> Job:
        return Job.objects.create(
            kind="nap",
            owner=operator,
            endpoint=endpoint,
            bucket="b",
            target="nap",
            params={"seconds": seconds},
            heartbeat_at=fields.pop("heartbeat_at", timezone.now()),
            **fields,
        )

    return make


NAP_SECONDS = 30


def test_a_live_worker_busy_in_one_long_call_keeps_its_job_while_the_sweep_runs(
    nap, worker, beat_process, settings
):
    beat_process()
    sleeper = nap(NAP_SECONDS)
    jobs.enqueue(sleeper)
    # A job whose worker died a minute ago: the same sweep must hand it on meanwhile.
    orphan = nap(
        0,
        state=Job.State.RUNNING,
        task_id="dead",
        heartbeat_at=timezone.now() - timedelta(minutes=1),
    )
    held_by = wait_for(
        lambda: (row := Job.objects.get(pk=sleeper.pk)).state == Job.State.RUNNING and row.task_id,
        timeout=60,
        what="the long job to start",
    )
    oldest = 0.0
    while (row := Job.objects.get(pk=sleeper.pk)).state == Job.State.RUNNING:
        assert row.task_id == held_by, "a live worker's job was taken over"
        oldest = max(oldest, (timezone.now() - row.heartbeat_at).total_seconds())
        time.sleep(0.5)
    print("NAP HEARTBEAT oldest", f"{oldest:.1f} s", "over", NAP_SECONDS, "s in one unit")
    assert row.state == Job.State.SUCCEEDED and row.task_id == held_by
    assert row.items_done == 1 and NapRunner.naps.count(sleeper.pk) == 1
    assert oldest < settings.JOB_STALE_SECONDS / 2
    orphan = finished(orphan, timeout=30)
    assert orphan.state == Job.State.SUCCEEDED and orphan.task_id != "dead"
    assert orphan.finished_at < row.finished_at  # swept and run while the long one slept


# Many slow browsers.


def test_twenty_slow_uploads_hold_no_worker_while_a_bulk_delete_runs_to_its_end(
    web_process,
    worker_process,
    beat_process,
    client_as,
    operator,
    endpoint,
    s3_target,
    bucket,
    tmp_path,
):
    objects, uploads, pause = 1000, 20, 3
    raw = s3_target.client()
    began = time.monotonic()
    phases: list[str] = []

    def phase(name: str) -> None:
        phases.append(f"{name} {time.monotonic() - began:.0f}")

    with ThreadPoolExecutor(1) as setup:  # the objects are made while the processes start
        made = setup.submit(put_objects, raw, bucket, "old/", objects)
        web = web_process()
        worker = worker_process(log=tmp_path / "worker.log")  # 4 threads
        beat_process()
        source = make_file(tmp_path / "slow.bin", 2 * CHUNK + 4321)
        browser = Browser(web.url, client_as(operator))
        wait_for(lambda: worker.ready, timeout=180, what="the worker")
        phase("worker ready")
        made.result(timeout=180)
        phase(f"{objects} objects made")
    delete_over = threading.Event()
    first_sent: list[int] = []

    def slow_browser(number: int) -> BrowserUpload:
        upload = BrowserUpload(browser, endpoint, bucket, source, f"slow/{number:02d}.bin")
        upload.create()
        assert upload.chunks == 3
        upload.send(1)
        first_sent.append(number)
        time.sleep(pause)
        upload.send(2)
        # The last chunk waits for the end of the delete, so the delete has to end
        # while every upload is unfinished.
        assert delete_over.wait(timeout=300), "the delete did not end"
        upload.send(3)
        upload.complete()
        return upload

    with ThreadPoolExecutor(uploads) as browsers:
        sending = [browsers.submit(slow_browser, n) for n in range(uploads)]
        try:
            wait_for(
                lambda: len(first_sent) == uploads or any(f.done() for f in sending),
                timeout=120,
                what="every upload's first chunk",
            )
            assert len(first_sent) == uploads
            phase("first chunks sent")
            started = browser.post(
                reverse("objects:bulk_delete", args=[endpoint.code, bucket]),
                {"prefix": "old/", "start": "on", "confirm_name": bucket},
            )
            assert started.status == 302, started.text
            delete = finished(Job.objects.get(kind=Job.Kind.DELETE), timeout=240)
            phase("delete over")
            at_delete_end = Counter(
                Job.objects.filter(kind=Job.Kind.UPLOAD).values_list("state", flat=True)
            )
        finally:
            delete_over.set()
        done = [future.result(timeout=300) for future in sending]
        phase("all sent")

    took = (delete.finished_at - delete.started_at).total_seconds()
    queued = (delete.started_at - delete.created_at).total_seconds()
    print(
        f"DELETE of {objects} queued {queued:.1f} s, ran {took:.1f} s;",
        f"uploads at its end: {dict(at_delete_end)}",
    )
    assert delete.state == Job.State.SUCCEEDED, delete.error
    assert delete.items_done == objects and keys_under(raw, bucket, "old/") == 0
    assert sum(at_delete_end.values()) == uploads
    assert set(at_delete_end) <= set(UNFINISHED)
    rows = [finished(upload.job(), timeout=180) for upload in done]
    assert [row.error for row in rows if row.state != Job.State.SUCCEEDED] == []
    last = max(row.finished_at for row in rows)
    print(f"UPLOADS all {uploads} done {(last - delete.finished_at).total_seconds():.1f} s later")
    expected = sha256_file(source)
    with ThreadPoolExecutor(4) as pool:
        digests = list(pool.map(lambda u: sha256_object(raw, bucket, u.key), done))
    assert digests == [expected] * uploads
    phase("checked")
    print("PHASES (s since start):", ", ".join(phases))
    assert multipart_uploads(raw, bucket) == []
    assert not any(Upload.objects.get(job=row).staging_dir.exists() for row in rows)
    assert unfinished_jobs() == []
    print("BROWSER 5XX", dict(browser.errors()), "resent on a dropped connection:", browser.dropped)
    assert browser.errors() == Counter()
