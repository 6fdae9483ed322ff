"""The health report on the command line, for a container's healthcheck or a monitoring agent.

    python manage.py health                    # one line; exit 1 when a component is not ok
                                               # (down, degraded or unknown)
    python manage.py health --component beat   # only beat decides the exit status
    python manage.py health --json             # the JSON /health/ answers

The same checks as /health/ (trialedc.health), from inside the deployment: no HTTP, no proxy.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from trialedc.health import COMPONENTS, health_report


class Command(BaseCommand):
    help = (
        "Check the database, broker, worker, beat, alert outbox, file store and replica; "
        "exit 1 if one is not ok."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--component",
            action="append",
            choices=COMPONENTS,
            help="Only these components decide the exit status (repeatable); all are shown.",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the JSON of /health/."
        )

    def handle(self, *args, component=None, as_json=False, **options):
        report = health_report()
        self.stdout.write(json.dumps(report.as_json()) if as_json else report.summary())
        if failing := report.failing(component or COMPONENTS):
            raise CommandError(f"health: {', '.join(failing)} (see above)")
