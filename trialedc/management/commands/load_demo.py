"""Load the demo trial: sites, one user per role, and N demo participants. Idempotent.

    python manage.py load_demo [--participants N] [--password P] [--bulk | --no-bulk]

Each app's `demo` module fills its own part, in the order of `demo_steps` (screening before
randomization before visits before safety before data management). From BULK_FROM participants
on (or with --bulk), the apps' `load_bulk` are used instead: bulk inserts with their first
audit-trail rows, for network-scale demos and the benchmarks
(docs/decisions/0014-bulk-demo-and-benchmarks.md); data management has no bulk part. This is
the project's composition of the apps (decision 0019): where one app's demo needs another's
rows (the bulk visits need randomization's day 0), they are handed over here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from django.core.management.base import CommandError
from django.db import connection

from datamanagement import demo as datamanagement_demo
from kernel.management.base import TrialCommand
from kernel.roles import Role
from kernel.services import roles_sync, sites_sync, user_set_up
from outcomes import demo as outcomes_demo
from participants import demo as participants_demo
from randomization import demo as randomization_demo
from safety import demo as safety_demo

Step = Callable[..., str]


def demo_steps(*, bulk: bool) -> list[tuple[str, Step]]:
    """(name, step) in order; each step takes participants, seed and stdout."""
    if not bulk:

        def outcomes_load(*, participants: int, seed: int, stdout) -> str:
            # The pharmacy hands each dose over between the Baseline and infusion CRFs.
            return outcomes_demo.load(
                participants=participants,
                seed=seed,
                stdout=stdout,
                before_infusion=randomization_demo.dose_handover,
            )

        return [
            ("participants", participants_demo.load),
            ("randomization", randomization_demo.load),
            ("outcomes", outcomes_load),
            ("safety", safety_demo.load),
            ("datamanagement", datamanagement_demo.load),
        ]

    def outcomes_bulk(*, participants: int, seed: int, stdout) -> str:
        starts = randomization_demo.visit_starts()
        return outcomes_demo.load_bulk(starts=starts, seed=seed, stdout=stdout)

    return [
        ("participants", participants_demo.load_bulk),
        ("randomization", randomization_demo.load_bulk),
        ("outcomes", outcomes_bulk),
        ("safety", safety_demo.load_bulk),
    ]


# A demo this large goes in bulk: through the services it would take hours.
BULK_FROM = 500

DEMO_PASSWORD = "trial-demo-2026"  # noqa: S105 — demo only, printed for the reader

# username, role, sites, full name
DEMO_USERS: list[tuple[str, Role, list[str], str]] = [
    ("coordinator", Role.COORDINATOR, ["01"], "Sara Coordinator"),
    ("investigator", Role.INVESTIGATOR, ["01"], "Reza Investigator"),
    ("pharmacist", Role.PHARMACIST, ["01"], "Parisa Pharmacist"),
    ("monitor", Role.MONITOR, ["01"], "Mina Monitor"),
    ("datamanager", Role.DATA_MANAGER, ["01"], "Dara Datamanager"),
    ("statistician", Role.STATISTICIAN, ["01"], "Sam Statistician"),
    ("sponsor", Role.SPONSOR, ["01"], "Shirin Sponsor"),
    ("safetyphysician", Role.SAFETY_PHYSICIAN, ["01"], "Nasrin Safetyphysician"),
    ("coordinator2", Role.COORDINATOR, ["02"], "Kian Coordinator"),
    ("investigator2", Role.INVESTIGATOR, ["02"], "Leila Investigator"),
    # Site 02's doses are prepared and handed over at site 02: its infusion CRFs need that.
    ("pharmacist2", Role.PHARMACIST, ["02"], "Nima Pharmacist"),
]


class Command(TrialCommand):
    help = "Create the demo trial: sites 01 and 02, one user per role, demo participants."

    def add_arguments(self, parser):
        parser.add_argument(
            "--participants",
            type=int,
            default=8,
            help="total demo participants to have (default 8)",
        )
        parser.add_argument(
            "--password", default=DEMO_PASSWORD, help="password for every demo user"
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=20210305,
            help="seed for the synthetic data (default: registration date)",
        )
        parser.add_argument(
            "--bulk",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"bulk inserts instead of the services (default: from {BULK_FROM} participants)",
        )

    def handle(
        self, *args, participants: int, password: str, seed: int, bulk: bool | None, **options
    ):
        # Refused before anything is written (roles, sites and users come first).
        if participants < 1:
            raise CommandError(f"--participants must be at least 1, not {participants}")
        if not password.strip():
            raise CommandError("--password must not be empty")
        if bulk is None:
            bulk = participants >= BULK_FROM
        roles_sync()
        sites = sites_sync()
        for username, role, site_codes, full_name in DEMO_USERS:
            user_set_up(
                username=username,
                password=password,
                role=role,
                site_codes=site_codes,
                full_name=full_name,
            )
        summaries = []
        for name, step in demo_steps(bulk=bulk):
            started = time.monotonic()
            summary = step(participants=participants, seed=seed, stdout=self.stdout)
            if bulk:
                self.stdout.write(f"{name}.demo: {time.monotonic() - started:.1f} s")
            if summary:
                summaries.append(summary)

        if bulk:
            # Fresh statistics for the planner: right after a bulk load autovacuum has not seen
            # the new rows, and a plan made for empty tables is quadratic at 10,000 participants.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo trial ready: {len(sites)} sites, {len(DEMO_USERS)} users; "
                + "; ".join(summaries)
            )
        )
        self.stdout.write(f"Sign in at http://127.0.0.1:8000/ with password '{password}' as:")
        for username, role, site_codes, _ in DEMO_USERS:
            self.stdout.write(f"  {username:<14} {role.label} (site {', '.join(site_codes)})")
