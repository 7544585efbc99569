"""Create the first administrator when there is none, and say how to log in."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an administrator (CONSOLE_ADMIN_USER / CONSOLE_ADMIN_PASSWORD) if none exists."

    def handle(self, *args, **options):
        users = get_user_model().objects
        username = os.environ.get("CONSOLE_ADMIN_USER", "admin")
        if users.filter(is_superuser=True).exists():
            self.stdout.write(
                f"An administrator exists already (log in as {username!r} or your own)."
            )
            return
        password = os.environ.get("CONSOLE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        if os.environ.get("CONSOLE_ADMIN_PASSWORD"):
            self.stdout.write(f"Created administrator {username!r} with CONSOLE_ADMIN_PASSWORD.")
            return
        path = settings.VAR_DIR / "admin-password"
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(f"Created administrator {username!r} with password {password}")
        )
        self.stdout.write(f"(also written to {path})")
