"""Health check of a worker or of beat: is it consuming, has it sent tasks lately?"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from console import liveness

# What each one does while it is well: (not done yet, not done lately, done).
WORDS = {
    "worker": (
        "No worker has consumed here yet",
        "The worker has not been consuming for",
        "The worker was consuming",
    ),
    "beat": ("Beat has sent no task here yet", "Beat has not sent a task for", "Beat sent a task"),
}


class Command(BaseCommand):
    help = (
        "Exit 0 when the worker on this machine is consuming (or beat sends tasks), and 1 "
        "when it has not been for LIVENESS_SECONDS, as the file it touches in "
        "LIVENESS_DIR says."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("role", choices=liveness.ROLES)

    def handle(self, *args, role, **options):
        path, limit, age = liveness.alive_file(role), liveness.limit(role), liveness.age(role)
        never, not_lately, lately = WORDS[role]
        if age is None:
            raise CommandError(f"{never} ({path} does not exist).")
        if age > limit:
            raise CommandError(f"{not_lately} {age:.0f} s (the limit is {limit:.0f} s; {path}).")
        self.stdout.write(f"{lately} {age:.0f} s ago: alive.")
