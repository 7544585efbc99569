from __future__ import annotations

import itertools

import pytest

_ids = itertools.count()


@pytest.fixture
def s3_calls(endpoint):
    """The S3 operations the console sends for `endpoint`, in order.

    A botocore hook on each of the endpoint's (cached) clients, the plain one, the
    one that sends upload bodies and the one-attempt one that reads settings panels,
    sees every request before it leaves, so an empty list proves that nothing was sent.
    """
    from console import s3

    calls: list[str] = []
    clients = [s3.client_for(endpoint), s3.client_for(endpoint, transfer=True)]
    with s3.single_attempt():
        clients.append(s3.client_for(endpoint))
    unique = f"count-calls-{next(_ids)}"

    def count(model, **kwargs):
        calls.append(model.name)

    for client in clients:
        client.meta.events.register("before-call.s3", count, unique_id=unique)
    yield calls
    for client in clients:
        client.meta.events.unregister("before-call.s3", unique_id=unique)


@pytest.fixture
def htmx_client(client_as):
    """A logged-in test client whose requests look like htmx's."""

    def login(user):
        client = client_as(user)
        client.defaults["HTTP_HX_REQUEST"] = "true"
        return client

    return login
