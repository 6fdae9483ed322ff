"""Load the demo trial: sites, one user per role, and N demo participants. Idempotent.

    python manage.py load_demo [--participants N] [--password P] [--bulk | --no-bulk]

Each app that has a `demo` module with `load(*, participants, seed, stdout)` fills its own part,
in the order of DEMO_MODULES (screening before randomization before visits before safety).
From BULK_FROM participants on (or with --bulk), each module's `load_bulk` is used instead:
bulk inserts with their first audit-trail rows, for network-scale demos and the benchmarks
(docs/decisions/0014-bulk-demo-and-benchmarks.md); a module without it is skipped.
"""

from __future__ import annotations

import argparse
import time
from importlib import import_module

from django.core.management.base import CommandError
from django.db import connection

from trialedc.management.base import TrialCommand
from trialedc.roles import Role
from trialedc.services import roles_sync, sites_sync, user_set_up

DEMO_MODULES = (
    "participants.demo",
    "randomization.demo",
    "outcomes.demo",
    "safety.demo",
    "datamanagement.demo",
)

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
    ("coordinator2", Role.COORDINATOR, ["02"], "Kian Coordinator"),
    ("investigator2", Role.INVESTIGATOR, ["02"], "Leila Investigator"),
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
        for module_name in DEMO_MODULES:
            try:
                module = import_module(module_name)
            except ModuleNotFoundError:
                continue
            load = getattr(module, "load_bulk", None) if bulk else module.load
            if load is None:
                continue
            started = time.monotonic()
            summary = load(participants=participants, seed=seed, stdout=self.stdout)
            if bulk:
                self.stdout.write(f"{module_name}: {time.monotonic() - started:.1f} s")
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
