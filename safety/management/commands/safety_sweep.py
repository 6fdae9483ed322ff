"""Run the safety schedules once, in-process: for `make run` without Redis (no beat).

    python manage.py safety_sweep [--loop SECONDS]

Delivers pending alerts, queues due reminders and today's visit digests. Each reminder and
digest has a dedupe key, so running this as often as you like sends nothing twice. With a broker,
django-celery-beat runs the same services on the schedules in the admin instead.
"""

from __future__ import annotations

import time

from django.core.management.base import CommandError

from datamanagement.services import missing_crf_queries_raise
from safety import alerts, reminders
from trialedc.management.base import TrialCommand


class Command(TrialCommand):
    help = "Deliver pending safety alerts and queue due reminders and digests (once, or looping)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--loop",
            type=int,
            default=0,
            metavar="SECONDS",
            help="repeat every SECONDS until stopped (default: run once)",
        )

    def handle(self, *args, loop: int, **options):
        if loop < 0:
            raise CommandError(f"--loop must be 0 (run once) or a number of seconds, not {loop}")
        while True:
            queued = reminders.reminders_send()
            digests = reminders.visit_digests_send()
            digests["missing_crf_queries"] = missing_crf_queries_raise()
            delivered = alerts.alerts_sweep()
            self.stdout.write(f"safety sweep: {queued} {digests} {delivered}")
            if not loop:
                return
            time.sleep(loop)
