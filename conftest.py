"""Shared test fixtures.

Tests talk to real services: an S3 API over HTTP (moto's server mode in a child
process by default; any other endpoint given by S3_TEST_URL, S3_TEST_ACCESS_KEY and
S3_TEST_SECRET_KEY), PostgreSQL, Redis, a Celery worker and headless Chromium.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Child processes (a `celery worker`) read this; pytest-django has loaded our own
# settings before this file, so `pytest_configure` below sets the cache for them.
os.environ.setdefault("CACHE_URL", "locmem://")
# Playwright's sync API runs an event loop in the test thread; the ORM calls made
# there by live-server tests are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent

# Fixtures kept in modules of their own.
pytest_plugins = ["console.tests.workers"]


def pytest_configure(config):
    # A process-local cache: `cache.clear()` in a test must not flush the Redis
    # database that holds the Celery queues of other test processes.
    from django.conf import settings

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout}s")


def start_moto(port: int, env: dict | None = None) -> subprocess.Popen:
    """moto's S3 server in a child process (so it does not share our GIL)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
    except RuntimeError:
        process.kill()
        raise
    return process


@dataclass
class S3Target:
    """The S3 endpoint under test and how to clean it."""

    url: str
    access_key: str
    secret_key: str
    kind: str  # "moto", "external" or "none" (nothing listens)
    region: str = "us-east-1"
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[str] = field(default_factory=list)

    @property
    def is_moto(self) -> bool:
        return self.kind == "moto"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def bucket_name(self, stem: str = "b") -> str:
        """A bucket name unique to this run, so a shared server stays tidy."""
        name = f"t{self.run_id}-{stem}-{uuid.uuid4().hex[:6]}"[:63].lower()
        self.created.append(name)
        return name

    def make_bucket(self, stem: str = "b") -> str:
        name = self.bucket_name(stem)
        self.client().create_bucket(Bucket=name)
        return name

    def wipe(self) -> None:
        if self.is_moto:
            import urllib.request

            request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
            urllib.request.urlopen(request, timeout=10).read()
            self.created.clear()
            return
        client = self.client()
        for name in self.created:
            empty_bucket(client, name)
        self.created.clear()


def empty_bucket(client, name: str) -> None:
    """Delete every version, delete marker and incomplete upload, then the bucket."""
    from botocore.exceptions import ClientError

    try:
        paginator = client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=name):
            items = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(items), 1000):
                client.delete_objects(
                    Bucket=name, Delete={"Objects": items[start : start + 1000], "Quiet": True}
                )
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
            for upload in page.get("Uploads", []):
                client.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        client.delete_bucket(Bucket=name)
    except ClientError:
        pass


@pytest.fixture(scope="session")
def s3_server():
    url = os.environ.get("S3_TEST_URL")
    if url:
        yield S3Target(
            url,
            os.environ["S3_TEST_ACCESS_KEY"],
            os.environ["S3_TEST_SECRET_KEY"],
            kind="external",
            region=os.environ.get("S3_TEST_REGION", "us-east-1"),
        )
        return
    port = free_port()
    process = start_moto(port)
    yield S3Target(f"http://127.0.0.1:{port}", "testing", "testing", kind="moto")
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_target(s3_server):
    """The S3 endpoint under test, wiped after the test."""
    yield s3_server
    s3_server.wipe()


@pytest.fixture
def bucket(s3_target):
    return s3_target.make_bucket()


# Markers follow from the fixtures a test uses (its whole fixture closure), so a
# new test cannot forget them; `bin/test --fast` leaves out every test marked so.
MARKERS_BY_FIXTURE = {
    "s3_server": "s3",
    "s3_target": "s3",
    "bucket": "s3",
    "auth_moto": "moto",
    "worker": "worker",
    "worker_process": "worker",
    "browser": "browser",
    "page": "browser",
    "browser_login": "browser",
}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        needs = {MARKERS_BY_FIXTURE.get(name) for name in item.fixturenames} - {None}
        for name in sorted(needs):
            item.add_marker(name)


@pytest.fixture(autouse=True)
def forget_s3_clients():
    """Drop the cached S3 clients of the endpoints a test saved, after it.

    `console.s3` keeps a client per endpoint version for the life of the process,
    each with a botocore session of its own (about 12 MB of service model). Every
    test saves new endpoints, so without this one test process grows by gigabytes.
    """
    from django.db.models.signals import post_save

    from console import s3
    from console.models import Endpoint

    saved = []

    def remember(sender, instance, **kwargs):
        saved.append(instance)

    post_save.connect(remember, sender=Endpoint, weak=False, dispatch_uid="forget_s3_clients")
    yield
    post_save.disconnect(sender=Endpoint, dispatch_uid="forget_s3_clients")
    for item in saved:
        s3.forget(item)


# The cast: an admin, people holding each level on `endpoint`, and an outsider.


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Every test hashes its cast's passwords; the production hasher's deliberate
    # slowness buys nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def password():
    return "correct horse battery staple 42"


def _user(django_user_model, name, password, **extra):
    return django_user_model.objects.create_user(
        username=name, password=password, email=f"{name}@example.com", **extra
    )


@pytest.fixture
def admin_user(django_user_model, password):
    return _user(django_user_model, "admin", password, is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(django_user_model, password):
    return _user(django_user_model, "outsider", password)


@pytest.fixture
def viewer(django_user_model, password, endpoint):
    return _granted(django_user_model, password, endpoint, "viewer", 10)


@pytest.fixture
def operator(django_user_model, password, endpoint):
    return _granted(django_user_model, password, endpoint, "operator", 20)


@pytest.fixture
def manager(django_user_model, password, endpoint):
    return _granted(django_user_model, password, endpoint, "manager", 30)


def _granted(django_user_model, password, endpoint, name, level):
    from console.models import Grant

    user = _user(django_user_model, name, password)
    Grant.objects.create(endpoint=endpoint, user=user, level=level)
    return user


# An address where nothing listens: a connection to it is refused at once.
NO_SERVER_URL = "http://127.0.0.1:9"


@pytest.fixture
def endpoint(db, request):
    """A stored endpoint: the S3 server under test for tests marked `s3`, else a row.

    A test that uses `s3_target` or `bucket` is marked `s3` by itself (see
    `pytest_collection_modifyitems`); one that reaches S3 only through the console
    carries `@pytest.mark.s3`. Every other test gets an endpoint whose address
    refuses connections, so it starts no S3 server, and one that talks to S3
    without saying so fails at once rather than passing by chance.
    """
    from console.models import Endpoint

    if request.node.get_closest_marker("s3"):
        target = request.getfixturevalue("s3_server")
    else:
        target = S3Target(NO_SERVER_URL, "testing", "testing", kind="none")
    item = Endpoint(
        name="Test S3",
        provider="ceph" if target.kind == "external" else "other",
        endpoint_url=target.url,
        region=target.region,
        addressing_style="path",
        access_key_id=target.access_key,
    )
    item.set_secret_key(target.secret_key)
    item.save()
    return item


@pytest.fixture
def client_as(client, password):
    """Log a user in on the Django test client: `client_as(viewer)`."""

    def login(user):
        client.force_login(user)
        return client

    return login


# Browser tests: Debian's Chromium driven by Playwright, never a downloaded browser.

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15000)
    # Any script error on a page fails the test: the CSP forbids inline script,
    # so a violation shows up here.
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"errors in the browser: {errors}"


@pytest.fixture
def browser_login(page, password):
    def login(user):
        page.goto("/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return login
