"""Create the first administrator when there is none, and say how to log in."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create an administrator (CONSOLE_ADMIN_USER / CONSOLE_ADMIN_PASSWORD) if none exists."

    def handle(self, *args, **options):
        users = get_user_model().objects
        username = settings.CONSOLE_ADMIN_USER
        if users.filter(is_superuser=True).exists():
            self.stdout.write(
                f"An administrator exists already (log in as {username!r} or your own)."
            )
            return
        chosen = settings.CONSOLE_ADMIN_PASSWORD
        password = chosen or secrets.token_urlsafe(12)
        # The administrator is only committed once its password has reached someone:
        # if saying it fails, the next start makes a new one instead of reporting that
        # an administrator exists whose password nobody knows.
        with transaction.atomic():
            users.create_superuser(username=username, email="", password=password)
            if chosen:
                self.stdout.write(
                    f"Created administrator {username!r} with CONSOLE_ADMIN_PASSWORD."
                )
                return
            self.stdout.write(
                self.style.SUCCESS(f"Created administrator {username!r} with password {password}")
            )
            self.stdout.flush()
            self._keep(password)

    def _keep(self, password: str) -> None:
        """Keep a copy in VAR_DIR for local runs; the printed line is enough elsewhere."""
        path = settings.VAR_DIR / "admin-password"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(password + "\n")
            path.chmod(0o600)
        except OSError as err:
            self.stdout.write(
                f"The password could not be written to {path} ({err.strerror}): note it from "
                "the line above, it is not shown again."
            )
            return
        self.stdout.write(f"(also written to {path})")
