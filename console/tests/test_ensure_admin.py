"""`manage.py ensure_admin`: the first administrator and how its password reaches a person."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command


@pytest.fixture
def generated(monkeypatch, settings):
    """No password chosen: the command makes one up."""
    monkeypatch.delenv("CONSOLE_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("CONSOLE_ADMIN_USER", raising=False)
    settings.CONSOLE_ADMIN_USER = "admin"
    settings.CONSOLE_ADMIN_PASSWORD = ""
    return settings


def printed_password(output: str) -> str:
    return re.search(r"Created administrator 'admin' with password (\S+)", output)[1]


def test_first_admin_password_is_printed_and_kept_in_var_dir(db, generated, tmp_path):
    generated.VAR_DIR = tmp_path / "var"
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = printed_password(out.getvalue())
    assert (tmp_path / "var" / "admin-password").read_text() == password + "\n"
    assert authenticate(username="admin", password=password).is_superuser


def test_first_admin_password_is_printed_when_no_file_can_be_written(db, generated, tmp_path):
    # A folder that cannot be made, as /app/var for the image's unprivileged user (the
    # tests run as root, so a file in the way stands in for missing permissions).
    (tmp_path / "file").write_text("")
    generated.VAR_DIR = tmp_path / "file" / "var"
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = printed_password(out.getvalue())
    assert "could not be written" in out.getvalue()
    assert authenticate(username="admin", password=password).is_superuser


class ClosedOutput(io.StringIO):
    """Output nobody reads any more (a closed pipe); no server produces this for us."""

    def write(self, text):
        raise BrokenPipeError("output closed")


def test_admin_is_not_kept_when_its_password_cannot_be_shown(db, generated, tmp_path):
    generated.VAR_DIR = tmp_path / "var"
    with pytest.raises(BrokenPipeError):
        call_command("ensure_admin", stdout=ClosedOutput())
    assert not get_user_model().objects.filter(is_superuser=True).exists()

    # The next start makes the administrator afresh and says its password.
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert authenticate(username="admin", password=printed_password(out.getvalue()))


def test_chosen_password_is_used_and_never_printed(db, monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.CONSOLE_ADMIN_USER = "root"
    settings.CONSOLE_ADMIN_PASSWORD = "a chosen password"
    monkeypatch.setenv("CONSOLE_ADMIN_USER", "root")
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "a chosen password")
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "a chosen password" not in out.getvalue()
    assert not (tmp_path / "var" / "admin-password").exists()
    assert authenticate(username="root", password="a chosen password").is_superuser


def test_an_existing_administrator_is_left_alone(db, generated, admin_user, tmp_path):
    generated.VAR_DIR = tmp_path / "var"
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    assert "exists already" in out.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
