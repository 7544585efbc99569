"""The demo endpoint of bin/run (`manage.py setup_demo`) and what its pages say."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from conftest import free_port, start_moto
from console.models import Endpoint

pytestmark = pytest.mark.local_servers
NOTICE = "Its S3 server keeps everything in memory"


@pytest.fixture(scope="module")
def demo_server():
    """A moto server of the demo's own, as bin/run starts one."""
    port = free_port()
    process = start_moto(port)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


def setup_demo(url: str, *options: str) -> Endpoint:
    call_command("setup_demo", "--url", url, *options, stdout=io.StringIO())
    return Endpoint.objects.get(name="Local demo")


def pages(endpoint: Endpoint) -> list[str]:
    return [
        reverse("endpoint_detail", args=[endpoint.code]),
        reverse("buckets:list", args=[endpoint.code]),
        reverse("objects:browse", args=[endpoint.code, "sample-bucket"]),
    ]


def test_pages_of_an_in_memory_demo_say_its_data_is_lost_on_stop(
    db, demo_server, client_as, admin_user
):
    endpoint = setup_demo(demo_server, "--in-memory")
    assert endpoint.in_memory
    client = client_as(admin_user)
    for url in pages(endpoint):
        response = client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        assert NOTICE in content, url
        assert "lost when the console stops" in content, url


def test_a_demo_on_a_server_bin_run_did_not_start_has_no_notice(
    db, demo_server, client_as, admin_user
):
    setup_demo(demo_server, "--in-memory")
    # The next start found another server answering on the port and says nothing of it.
    endpoint = setup_demo(demo_server)
    assert not endpoint.in_memory
    client = client_as(admin_user)
    for url in pages(endpoint):
        assert NOTICE not in client.get(url).content.decode(), url


def test_other_endpoints_have_no_notice(endpoint, client_as, admin_user):
    response = client_as(admin_user).get(reverse("endpoint_detail", args=[endpoint.code]))
    assert response.status_code == 200
    assert NOTICE not in response.content.decode()
