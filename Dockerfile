# The console's image: web server, Celery worker and scheduler all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 console
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py ./
COPY console ./console
COPY buckets ./buckets
COPY objects ./objects
COPY templates ./templates
COPY static ./static
COPY locale ./locale

# collectstatic needs settings that import; these throw-away values are not used at run time.
RUN CONSOLE_ENV=production SECRET_KEY=build-only-not-secret-000000000000000000000000000000 \
    ENCRYPTION_KEYS=MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA= ALLOWED_HOSTS=localhost \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput

RUN mkdir -p /data/staging /data/var && chown -R console:console /data
USER console
ENV CONSOLE_ENV=production STATIC_ROOT=/app/staticfiles STAGING_DIR=/data/staging \
    CONSOLE_VAR_DIR=/data/var
EXPOSE 8000
CMD ["gunicorn", "console.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "120", \
     "--access-logfile", "-"]
