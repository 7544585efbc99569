"""The settings' environment helpers: an empty variable means the default."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from console.settings import BASE_DIR, env_bool, env_float, env_int, env_list, env_path, env_str


@pytest.fixture
def empty(monkeypatch):
    monkeypatch.setenv("CONSOLE_TEST_VALUE", "")
    return "CONSOLE_TEST_VALUE"


def test_empty_variables_mean_the_default(empty):
    assert env_str(empty, "redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert env_bool(empty, True) is True
    assert env_int(empty, 60) == 60
    assert env_float(empty, 5.0) == 5.0
    assert env_list(empty, "localhost,127.0.0.1") == ["localhost", "127.0.0.1"]
    assert env_path(empty, Path("/data/var")) == Path("/data/var")


def test_blank_variables_mean_the_default(monkeypatch):
    monkeypatch.setenv("CONSOLE_TEST_VALUE", "  ")
    assert env_str("CONSOLE_TEST_VALUE", "default") == "default"


def test_set_variables_are_used(monkeypatch):
    monkeypatch.setenv("CONSOLE_TEST_VALUE", "7")
    assert env_str("CONSOLE_TEST_VALUE", "x") == "7"
    assert env_int("CONSOLE_TEST_VALUE", 1) == 7
    assert env_float("CONSOLE_TEST_VALUE", 1.0) == 7.0
    assert env_list("CONSOLE_TEST_VALUE", "a") == ["7"]


def test_relative_paths_are_taken_from_the_project_folder(monkeypatch):
    monkeypatch.setenv("CONSOLE_TEST_VALUE", "var")
    assert env_path("CONSOLE_TEST_VALUE", Path("/elsewhere")) == BASE_DIR / "var"
    monkeypatch.setenv("CONSOLE_TEST_VALUE", "/data/var")
    assert env_path("CONSOLE_TEST_VALUE", Path("/elsewhere")) == Path("/data/var")


def test_a_number_that_is_not_one_is_named(monkeypatch):
    monkeypatch.setenv("CONSOLE_TEST_VALUE", "lots")
    with pytest.raises(ImproperlyConfigured, match="CONSOLE_TEST_VALUE must be a whole number"):
        env_int("CONSOLE_TEST_VALUE", 1)
    with pytest.raises(ImproperlyConfigured, match="CONSOLE_TEST_VALUE must be a number"):
        env_float("CONSOLE_TEST_VALUE", 1.0)
