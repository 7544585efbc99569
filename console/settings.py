"""Settings for the bucket console.

Everything is read from environment variables (listed with their defaults in
`.env.example`). The defaults are safe for a laptop: DEBUG on, SQLite under var/,
a local Redis, a local staging directory. Production sets CONSOLE_ENV=production,
which turns DEBUG off and requires the secrets to come from the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Every helper takes an unset or empty variable to mean "use the default": docker
# compose passes the `NAME=` lines of an env file (as in .env.example) as empty strings.


def env_str(name: str, default: str = "") -> str:
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if not value:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    try:
        return float(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    """A folder or file; a relative one is taken from the project folder, not from
    wherever the process happens to start."""
    value = env_str(name)
    return BASE_DIR / value if value else default


VAR_DIR = env_path("CONSOLE_VAR_DIR", BASE_DIR / "var")


def _local_secret(filename: str, make) -> str:
    """A secret kept in var/ for local runs, created on first use.

    Production never reaches this: it must pass its secrets in the environment.
    """
    path = VAR_DIR / filename
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


PRODUCTION = env_str("CONSOLE_ENV", "local") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when CONSOLE_ENV=production")
    SECRET_KEY = _local_secret("django-secret-key", lambda: secrets.token_urlsafe(50))

# Keys that encrypt endpoint secrets at rest, newest first, comma separated
# (Fernet keys: `python manage.py generate_encryption_key`). Older keys still
# decrypt, so a key can be rotated without downtime; `manage.py rotate_secrets`
# then re-encrypts everything with the newest one.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEYS")
if not ENCRYPTION_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured("ENCRYPTION_KEYS must be set when CONSOLE_ENV=production")

    def _new_fernet_key() -> str:
        from cryptography.fernet import Fernet

        return Fernet.generate_key().decode()

    ENCRYPTION_KEYS = [_local_secret("encryption-key", _new_fernet_key)]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "console",
    "buckets",
    "objects",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.middleware.ContentSecurityPolicyMiddleware",
    # Below the policy header: the error pages it renders get the header too.
    "console.middleware.S3ErrorPageMiddleware",
]

if PRODUCTION:
    # Static files are served by the web process itself (no separate server needed).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                "console.templatetags.display",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'console.sqlite3'}"),
        # Keep connections: a chunked upload makes a request every few MiB, and a new
        # PostgreSQL connection for each cost more than the chunk's own queries.
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_URL = env_str("CACHE_URL", REDIS_URL)
if CACHE_URL.startswith("locmem"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "console"),
            # A cache that went away answers "unreachable" within seconds, never hangs.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins allowed per username and per client address before a pause.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 300)

# The first administrator, made by `manage.py ensure_admin` when there is none. Without
# a password one is generated and printed (and kept in VAR_DIR when that can be written).
CONSOLE_ADMIN_USER = env_str("CONSOLE_ADMIN_USER", "admin")
CONSOLE_ADMIN_PASSWORD = env_str("CONSOLE_ADMIN_PASSWORD")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
if PRODUCTION:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# Security. Behind TLS (production) cookies are secure and HSTS is on.
SECURE_BEHIND_TLS = env_bool("SECURE_BEHIND_TLS", PRODUCTION)
SESSION_COOKIE_SECURE = SECURE_BEHIND_TLS
CSRF_COOKIE_SECURE = SECURE_BEHIND_TLS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE_BEHIND_TLS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# S3 access: timeouts in seconds for the console's own requests.
S3_CONNECT_TIMEOUT = env_float("S3_CONNECT_TIMEOUT", 5)
S3_READ_TIMEOUT = env_float("S3_READ_TIMEOUT", 30)
S3_MAX_ATTEMPTS = env_int("S3_MAX_ATTEMPTS", 3)

# Where uploads are staged between the browser and the workers. Web and workers
# must see the same directory (a shared volume when they run on several machines).
STAGING_DIR = env_path("STAGING_DIR", VAR_DIR / "staging")

# Uploads. Chunks are at least 5 MiB (the S3 minimum part size)
# and grow for huge files so that no upload needs more than 10 000 parts.
UPLOAD_CHUNK_SIZE = env_int("UPLOAD_CHUNK_SIZE", 8 * 1024 * 1024)
# Files at or below this size go to the bucket in one PutObject.
UPLOAD_SINGLE_REQUEST_MAX = env_int("UPLOAD_SINGLE_REQUEST_MAX", 8 * 1024 * 1024)
# Parts a worker sends to the bucket at the same time, per upload.
UPLOAD_PART_CONCURRENCY = env_int("UPLOAD_PART_CONCURRENCY", 4)
# Free space kept on the staging disk: an upload that would eat into it is refused.
STAGING_RESERVE_BYTES = env_int("STAGING_RESERVE_BYTES", 1024 * 1024 * 1024)
# An upload that has stored every chunk that arrived gives up its worker after
# waiting this long for the next one; the next chunk queues it again. A slow
# browser then holds no worker thread between its chunks.
UPLOAD_IDLE_SECONDS = env_int("UPLOAD_IDLE_SECONDS", 2)
# Failed, paused or waiting uploads keep their staged chunks and multipart upload (so they
# can be retried or resumed) this long; then both are discarded.
UPLOAD_KEEP_SECONDS = env_int("UPLOAD_KEEP_SECONDS", 24 * 3600)

# Jobs. A running job whose heartbeat is older than this is taken to have
# lost its worker; the sweep queues it again.
# A worker writes the heartbeat of each job it holds every JOB_HEARTBEAT_SECONDS
# (from a thread of its own, whatever the job is doing), so a job 20 s without
# one has lost its worker, and the sweep (every 5 s) hands it to another.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 2)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 20)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 5)
# Requests a bulk job (delete, abort) keeps in flight at once, per job.
BULK_REQUESTS_IN_FLIGHT = env_int("BULK_REQUESTS_IN_FLIGHT", 4)
# Copies: within an endpoint, objects above this size are copied in parts
# (UploadPartCopy; CopyObject takes at most 5 GiB); between endpoints, objects
# travel as parts of this size (grown for objects that would need over 10 000),
# this many at once per job, while this many objects are copied at once.
COPY_MULTIPART_THRESHOLD = env_int("COPY_MULTIPART_THRESHOLD", 5 * 1024**3)
COPY_PART_SIZE = env_int("COPY_PART_SIZE", 8 * 1024 * 1024)
COPY_PARTS_IN_FLIGHT = env_int("COPY_PARTS_IN_FLIGHT", 4)
COPY_OBJECTS_IN_FLIGHT = env_int("COPY_OBJECTS_IN_FLIGHT", 4)
# Finished insights runs kept per bucket and prefix (the page compares the last two).
INSIGHTS_KEPT = env_int("INSIGHTS_KEPT", 10)
# A dry run counts up to this many items while the page waits; a bigger one is a count job.
DRY_RUN_INLINE_ITEMS = env_int("DRY_RUN_INLINE_ITEMS", 5000)
# A restore job asks for the Restore header of the objects still being restored
# this long after its requests, then doubling the wait each time up to the maximum
# (1, 2, 4 … 60 minutes). Between checks it holds no worker: the beat task that
# runs every RESTORE_WAKE_SECONDS queues the jobs whose check is due.
RESTORE_CHECK_FIRST_SECONDS = env_int("RESTORE_CHECK_FIRST_SECONDS", 60)
RESTORE_CHECK_MAX_SECONDS = env_int("RESTORE_CHECK_MAX_SECONDS", 3600)
RESTORE_WAKE_SECONDS = env_int("RESTORE_WAKE_SECONDS", 60)
# A selection posts one field per selected row (a page shows up to 1 000) and its
# keys may be up to 1 024 bytes each, percent-encoded.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2100
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Celery: JSON only, late acks so a killed worker's task is delivered again.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "console")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 6 * 3600)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 6 * 3600 + 300)
# A late-acked task that is not acknowledged within this time is delivered again.
# It must exceed the longest task, or Redis hands the same task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7 * 3600),
    "socket_connect_timeout": 3,
}
# A worker whose broker went away reconnects by itself, however long it takes (tries 2,
# 4, 6… s apart, at most 30 s), also when the broker is away as the worker starts.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Its running tasks carry on meanwhile: their messages go back to the queue, and the
# claim keeps the second delivery from running the job again. (Cancelling them is not
# possible in the threads pool: Celery then stops consuming for good.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Liveness (console/liveness.py): a worker touches LIVENESS_DIR/worker.alive every few
# seconds while it consumes, beat touches beat.alive each time it sends a task. One
# that has not for LIVENESS_SECONDS while the broker answers exits, for its supervisor
# to start a fresh one; `manage.py check_alive worker|beat` fails (health checks).
LIVENESS_DIR = env_path("LIVENESS_DIR", VAR_DIR)
LIVENESS_SECONDS = env_int("LIVENESS_SECONDS", 60)
# Sending a task while the broker is away gives up after about a second: the job
# row stays queued and the sweep sends it once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# `celery -A console beat` runs the sweep that re-queues jobs of lost workers, and
# queues the restore jobs whose next check is due.
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {
        "task": "console.sweep_jobs",
        "schedule": float(JOB_SWEEP_SECONDS),
    },
    "purge-stale-uploads": {"task": "objects.purge_uploads", "schedule": 3600.0},
    "wake-restores": {"task": "objects.wake_restores", "schedule": float(RESTORE_WAKE_SECONDS)},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # botocore logs request headers at DEBUG, which would include signatures.
        "botocore": {"level": "WARNING"},
        "boto3": {"level": "WARNING"},
        "s3transfer": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
