"""Verify every stored randomization list against the checksum recorded when it was stored.

python manage.py randomization_verify

Prints one line per list (phase, stratum, verified or the problem) and fails (exit status 1)
if any list does not match: for start-up scripts and cron, beside the nightly Celery task
`randomization.lists_verify` and the statistician's list pages (docs/randomization.md).
"""

from __future__ import annotations

from django.core.management.base import CommandError

from kernel.management.base import TrialCommand
from randomization.allocation import lists_verified


class Command(TrialCommand):
    help = "Verify every stored randomization list against its recorded checksum."

    def handle(self, *args, **options):
        verified = lists_verified()
        for item in verified:
            state = item.problem or "verified"
            self.stdout.write(f"phase {item.phase} stratum {item.stratum}: {state}")
        failed = [item for item in verified if item.problem]
        if failed:
            raise CommandError(f"{len(failed)} of {len(verified)} randomization lists do not match")
        self.stdout.write(f"{len(verified)} randomization lists verified")
