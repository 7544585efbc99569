from __future__ import annotations

import pytest

from objects.tests.upload_helpers import MiB


@pytest.fixture
def small_parts(settings):
    """5 MiB chunks and a 5 MiB single-request limit keep multipart tests quick."""
    settings.UPLOAD_CHUNK_SIZE = 5 * MiB
    settings.UPLOAD_SINGLE_REQUEST_MAX = 5 * MiB
