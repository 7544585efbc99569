from __future__ import annotations

from django.core.management.base import BaseCommand

from console import crypto


class Command(BaseCommand):
    help = "Print a new key for ENCRYPTION_KEYS (put it first to rotate)."

    def handle(self, *args, **options):
        self.stdout.write(crypto.generate_key())
