"""What a first `bin/run` tells the person watching it, and what the README tells them."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lib(tmp_path: Path, script: str, path: str | None = None) -> subprocess.CompletedProcess:
    """Run `script` after sourcing bin/lib.sh, in `tmp_path` as the project folder."""
    env = {"PATH": f"{path}:/usr/bin:/bin" if path else "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        ["bash", "-c", f". {ROOT / 'bin' / 'lib.sh'} && SUDO= && {script}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def project(tmp_path: Path, pip_exit: int = 0) -> None:
    # Nothing may be installed here, so pip is a stand-in that answers as pip does.
    (tmp_path / "requirements.txt").write_text("Django==5.2.19\n")
    (tmp_path / "requirements-dev.txt").write_text("-r requirements.txt\npytest==9.2.0\n")
    stub(tmp_path / ".venv" / "bin" / "python", "exit 0")
    stub(
        tmp_path / ".venv" / "bin" / "pip",
        "echo 'Collecting Django==5.2.19'\n"
        "echo '  Downloading django-5.2.19-py3-none-any.whl.metadata (4.1 kB)'\n"
        "echo 'Installing collected packages: Django'\n"
        f"exit {pip_exit}",
    )


def test_first_run_says_what_it_installs_while_it_does(tmp_path):
    project(tmp_path)
    first = lib(tmp_path, "ensure_venv requirements-dev.txt")
    assert first.returncode == 0, first.stderr
    assert "Installing the pinned Python packages of requirements-dev.txt" in first.stdout
    assert "Collecting Django==5.2.19" in first.stdout
    assert "Installing collected packages: Django" in first.stdout
    assert "Downloading" not in first.stdout

    # Once installed, a run says nothing about it.
    again = lib(tmp_path, "ensure_venv requirements-dev.txt")
    assert again.returncode == 0 and again.stdout == ""


def test_a_failed_install_stops_with_a_message(tmp_path):
    project(tmp_path, pip_exit=1)
    result = lib(tmp_path, "ensure_venv requirements-dev.txt")
    assert result.returncode != 0
    assert "pip could not install requirements-dev.txt" in result.stderr
    assert not (tmp_path / ".venv" / ".installed").exists()


def test_installing_debian_packages_names_them(tmp_path):
    # apt-get is a stand-in too: it must not change this machine.
    stub(tmp_path / "bin" / "apt-get", "exit 0")
    result = lib(tmp_path, "apt_install redis-server", path=str(tmp_path / "bin"))
    assert result.returncode == 0, result.stderr
    assert "Installing Debian packages: redis-server" in result.stdout


def test_readme_names_the_administrator_to_log_in_as():
    readme = (ROOT / "README.md").read_text()
    run_it = readme.split("## Run it")[1].split("\n## ")[0]
    # "admin" is CONSOLE_ADMIN_USER's default in the settings and in .env.example.
    assert "administrator `admin`" in run_it
    assert "CONSOLE_ADMIN_USER" in run_it
