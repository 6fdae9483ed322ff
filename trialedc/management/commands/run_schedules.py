"""Run the periodic jobs once, in-process: for `make run` without Redis (no beat).

    python manage.py run_schedules [--loop SECONDS]

Delivers pending alerts, queues due reminders and today's visit digests (safety), and raises a
query for each CRF still missing after its window (data management). Each reminder, digest and
query has a dedupe key, so running this as often as you like sends and raises nothing twice.
With a broker, django-celery-beat runs the same services on the schedules in the admin instead.
It composes several apps, so it lives in the project package (decision 0019).
"""

from __future__ import annotations

import time

from django.core.management.base import CommandError

from datamanagement.services import missing_crf_queries_raise
from kernel import alerts
from kernel.management.base import TrialCommand
from safety import reminders


class Command(TrialCommand):
    help = (
        "Run the periodic jobs (alerts, reminders, digests, missing-CRF queries) once or looping."
    )

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
            missing = missing_crf_queries_raise()
            delivered = alerts.alerts_sweep()
            self.stdout.write(
                f"periodic jobs: {queued} {digests} missing-CRF queries {missing} {delivered}"
            )
            if not loop:
                return
            time.sleep(loop)
