"""Re-encrypt every stored secret with the newest key in ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from console import crypto
from console.models import Endpoint


class Command(BaseCommand):
    help = "Re-encrypt endpoint secrets with the first (newest) key of ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        count = 0
        endpoint = None
        try:
            with transaction.atomic():
                for endpoint in Endpoint.objects.select_for_update():
                    endpoint.secret_key_encrypted = crypto.rotate(endpoint.secret_key_encrypted)
                    endpoint.session_token_encrypted = crypto.rotate(
                        endpoint.session_token_encrypted
                    )
                    # No save() of the whole row: updated_at stays, clients stay cached.
                    Endpoint.objects.filter(pk=endpoint.pk).update(
                        secret_key_encrypted=endpoint.secret_key_encrypted,
                        session_token_encrypted=endpoint.session_token_encrypted,
                    )
                    count += 1
        except crypto.SecretUnreadable:
            raise CommandError(
                f"The secrets of endpoint {endpoint.name!r} cannot be decrypted with any key "
                "in ENCRYPTION_KEYS. Keep the key they were stored with in the list (after "
                "the new one) until the rotation has run. Nothing was changed."
            ) from None
        self.stdout.write(f"Re-encrypted the secrets of {count} endpoints with the newest key.")
