"""docker-compose.yml, .env.example and the Dockerfile against the code.

There is no Docker here, so these tests do what compose would: they build each console
container's environment from the image's ENV, the env file (`.env.example` copied to
`.env`, empty lines included) and the service's `environment:` entries, load the settings
with it in a fresh interpreter, and check every service's command against the code.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
CONSOLE_SERVICES = ["web", "worker", "beat"]
# What the comment at the top of docker-compose.yml asks the operator to set.
OPERATOR_SETS = {
    "SECRET_KEY": "k" * 60,
    "ENCRYPTION_KEYS": "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
    "ALLOWED_HOSTS": "console.example.org",
}


def env_file(path: Path) -> dict[str, str]:
    """An env file as compose reads it: `NAME=` sets NAME to the empty string."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `${NAME}` and `${NAME:-default}` (the default also replaces empty)."""

    def one(match: re.Match) -> str:
        value = variables.get(match["name"], "")
        return value or (match["default"] or "")

    return re.sub(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}", one, text)


def dockerfile_lines() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip()[:1].isalpha()]


def image_env() -> dict[str, str]:
    env = {}
    for line in dockerfile_lines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def image_workdir() -> str:
    return [line.split()[1] for line in dockerfile_lines() if line.startswith("WORKDIR ")][-1]


def container_env(service: str, project_env: dict[str, str]) -> dict[str, str]:
    """What a console container sees: image ENV < env_file < environment (compose's order)."""
    spec = COMPOSE["services"][service]
    assert spec["env_file"] == ".env"
    env = {**image_env(), **project_env}
    for name, value in spec.get("environment", {}).items():
        env[name] = interpolate(str(value), project_env)
    return env


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the settings and the Celery app in a fresh interpreter with exactly `env`."""
    script = """if True:
        import json
        import django
        django.setup()
        from django.conf import settings
        from console.celery import app
        db = settings.DATABASES["default"]
        print(json.dumps({
            "cache": settings.CACHES["default"],
            "broker": app.connection_for_write().as_uri(include_password=True),
            "db": {k: db[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")},
            "var_dir": str(settings.VAR_DIR),
            "staging_dir": str(settings.STAGING_DIR),
            "static_root": str(settings.STATIC_ROOT),
            "debug": settings.DEBUG,
            "admin_user": getattr(settings, "CONSOLE_ADMIN_USER", None),
        }))
    """
    env = {**env, "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "console.settings"}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def volume_targets(service: str) -> set[str]:
    return {volume.split(":")[1] for volume in COMPOSE["services"][service].get("volumes", [])}


def dockerfile_runs() -> str:
    return " ".join(line for line in dockerfile_lines() if line.startswith("RUN "))


@pytest.mark.parametrize("service", CONSOLE_SERVICES)
def test_settings_from_env_example_as_compose_passes_it(service):
    project_env = {**env_file(ROOT / ".env.example"), **OPERATOR_SETS}
    result = load_settings(container_env(service, project_env))
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)

    # Empty CACHE_URL and CELERY_BROKER_URL mean "the same Redis as REDIS_URL".
    assert loaded["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["cache"]["LOCATION"] == "redis://redis:6379/0"
    assert loaded["broker"] == "redis://redis:6379/0"
    postgres = COMPOSE["services"]["postgres"]["environment"]
    assert loaded["db"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": postgres["POSTGRES_DB"],
        "USER": postgres["POSTGRES_USER"],
        "PASSWORD": interpolate(postgres["POSTGRES_PASSWORD"], project_env),
        "HOST": "postgres",
        "PORT": 5432,
    }
    assert loaded["debug"] is False
    assert loaded["admin_user"] == "admin"

    # The folders the console writes to are volumes, made and handed to the image's user.
    runs = dockerfile_runs()
    for folder in (loaded["var_dir"], loaded["staging_dir"]):
        assert folder in volume_targets(service), folder
        assert re.search(rf"mkdir -p [^&]*{re.escape(folder)}\b", runs), folder
        parent = "/" + folder.strip("/").split("/")[0]
        assert f"chown -R console:console {parent}" in runs, folder

    # Static files are served from where the image's collectstatic put them.
    built = re.search(r"STATIC_ROOT=(\S+)", runs)[1]
    relative = Path(built).relative_to(image_workdir())
    assert Path(loaded["static_root"]) == ROOT / relative


def test_settings_from_env_example_alone_ask_for_the_secrets():
    project_env = env_file(ROOT / ".env.example")
    result = load_settings(container_env("web", project_env))
    assert result.returncode != 0
    assert "SECRET_KEY must be set when CONSOLE_ENV=production" in result.stderr


def variables_the_code_reads() -> set[str]:
    """Every NAME in env_*("NAME", ...) calls of the settings."""
    tree = ast.parse((ROOT / "console" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_variable_compose_reads_is_in_env_example():
    listed = set(env_file(ROOT / ".env.example"))
    interpolated = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    assert interpolated <= listed
    assert variables_the_code_reads() <= listed
    assert listed <= variables_the_code_reads() | interpolated, "listed but never read"


def test_every_environment_entry_of_compose_is_read_by_the_code():
    read = variables_the_code_reads()
    for service in CONSOLE_SERVICES:
        assert set(COMPOSE["services"][service]["environment"]) <= read, service
    # The image's own PYTHON* and PIP_* variables are for Python and pip, not the console.
    assert {name for name in image_env() if not name.startswith(("PYTHON", "PIP_"))} <= read


def commands(service: str) -> list[list[str]]:
    """The service's command as argument lists, `sh -c "a && b"` split into a and b."""
    argv = shlex.split(COMPOSE["services"][service]["command"])
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in argv[2].split("&&")]
    return [argv]


def requirement_names() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {re.split(r"[\[=]", line)[0].lower() for line in lines if line and line[0].isalpha()}


def test_every_service_command_runs_code_that_exists():
    from celery.app.utils import find_app
    from django.core.management import get_commands

    from console.celery import app

    # The image installs requirements.txt only: every program a service runs is in it.
    programs = {"python": None, "celery": "celery", "gunicorn": "gunicorn"}
    seen = set()
    for service in CONSOLE_SERVICES:
        for argv in commands(service):
            assert argv[0] in programs, argv
            if programs[argv[0]]:
                assert programs[argv[0]] in requirement_names(), argv
            seen.add(argv[0])
            if argv[0] == "python":
                assert argv[1] == "manage.py" and (ROOT / "manage.py").exists()
                assert argv[2] in get_commands(), argv
            elif argv[0] == "celery":
                assert argv[1:3] == ["-A", "console"]
                assert find_app("console") is app
                assert argv[3] == {"worker": "worker", "beat": "beat"}[service]
            elif argv[0] == "gunicorn":
                module, _, attribute = argv[1].partition(":")
                wsgi = __import__(module, fromlist=[attribute])
                assert callable(getattr(wsgi, attribute))
    assert seen == set(programs)

    # The first administrator is made before the web server starts taking logins.
    assert [argv[:3] for argv in commands("web")][:2] == [
        ["python", "manage.py", "migrate"],
        ["python", "manage.py", "ensure_admin"],
    ]
    # The health check asks a URL the console answers without a login.
    probe = " ".join(COMPOSE["services"]["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in probe
    assert "--bind 0.0.0.0:8000" in " ".join(commands("web")[-1])


def test_schedule_runs_only_in_the_beat_service():
    # A worker started with --beat would be a second scheduler next to the beat service.
    for service in CONSOLE_SERVICES:
        for argv in commands(service):
            assert ("beat" in argv or "--beat" in argv or "-B" in argv) == (service == "beat")


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_worker_and_beat_are_checked_for_liveness_and_started_again(service, tmp_path):
    from django.core.management import get_commands

    spec = COMPOSE["services"][service]
    # The health check asks the command whether this container's process is alive.
    assert spec["healthcheck"]["test"] == ["CMD", "python", "manage.py", "check_alive", service]
    assert "check_alive" in get_commands()
    # It is given time to start, and longer to answer than Django takes to load.
    assert spec["healthcheck"]["start_period"] == "60s"
    assert spec["healthcheck"]["timeout"] == "20s"
    # A process that stopped working ends itself (console/liveness.py) and the restart
    # policy starts it again: compose does not restart a container for being unhealthy.
    assert spec["restart"] == "unless-stopped"

    # Each container has its liveness files to itself: not on a volume the web, beat and
    # every other worker share, where one live worker would vouch for a dead one.
    project_env = {**env_file(ROOT / ".env.example"), **OPERATOR_SETS}
    liveness_dir = container_env(service, project_env)["LIVENESS_DIR"]
    assert not any(Path(liveness_dir).is_relative_to(target) for target in volume_targets(service))

    # The command, run as the health check runs it (with a folder of this test's own):
    # it fails until the process has said it is alive, then passes.
    env = {**container_env(service, project_env), "LIVENESS_DIR": str(tmp_path)}
    program, *arguments = spec["healthcheck"]["test"][1:]
    assert program == "python"

    def check() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *arguments],
            cwd=ROOT,
            env={**env, "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "console.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )

    failed = check()
    assert failed.returncode == 1 and "yet" in failed.stderr, failed.stderr
    (tmp_path / f"{service}.alive").touch()
    passed = check()
    assert passed.returncode == 0 and "alive" in passed.stdout, passed.stderr
