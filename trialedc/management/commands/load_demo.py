"""Load the demo trial: sites, one user per role, and N demo participants. Idempotent.

    python manage.py load_demo [--participants N] [--password P]
"""

from __future__ import annotations

import random
from datetime import date

from django.core.management.base import BaseCommand
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from participants.models import IdentifyingData, Participant
from trialedc.models import Site, User
from trialedc.roles import Role
from trialedc.services import roles_sync, sites_sync, user_set_up

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


class Command(BaseCommand):
    help = "Create the demo trial: sites 01 and 02, one user per role, demo participants."

    def add_arguments(self, parser):
        parser.add_argument("--participants", type=int, default=8,
                            help="total demo participants to have (default 8)")
        parser.add_argument("--password", default=DEMO_PASSWORD,
                            help="password for every demo user")
        parser.add_argument("--seed", type=int, default=20210305,
                            help="seed for the synthetic data (default: registration date)")

    def handle(self, *args, participants: int, password: str, seed: int, **options):
        roles_sync()
        sites = sites_sync()
        for username, role, site_codes, full_name in DEMO_USERS:
            user_set_up(username=username, password=password, role=role,
                        site_codes=site_codes, full_name=full_name)
        created = self._participants(total=participants, sites=sites, seed=seed)

        self.stdout.write(self.style.SUCCESS(
            f"Demo trial ready: {len(sites)} sites, {len(DEMO_USERS)} users, "
            f"{Participant.objects.count()} participants ({created} new)."))
        self.stdout.write(f"Sign in at http://127.0.0.1:8000/ with password '{password}' as:")
        for username, role, site_codes, _ in DEMO_USERS:
            self.stdout.write(f"  {username:<14} {role.label} (site {', '.join(site_codes)})")

    def _participants(self, *, total: int, sites: list[Site], seed: int) -> int:
        """Top the demo participants up to `total`, spread over the sites. Returns how many new."""
        missing = total - Participant.objects.count()
        if missing <= 0:
            return 0
        rng = random.Random(seed + Participant.objects.count())
        registrar = {s.code: User.objects.filter(sites=s).order_by("username").first()
                     for s in sites}
        next_number = {}
        for site in sites:
            last = (Participant.objects.filter(site=site).order_by("-study_id")
                    .values_list("study_id", flat=True).first())
            next_number[site.code] = int(last.split("-")[1]) + 1 if last else 1
        new = []
        for i in range(missing):
            site = sites[i % len(sites)]
            number = next_number[site.code]
            next_number[site.code] += 1
            new.append(Participant(site=site, study_id=f"{site.code}-{number:04d}",
                                   registered_by=registrar[site.code]))
        with transaction.atomic():
            made = bulk_create_with_history(new, Participant, batch_size=2000,
                                            default_change_reason="Demo data")
            made = list(Participant.objects.filter(study_id__in=[p.study_id for p in new]))
            identities = [
                IdentifyingData(
                    participant=p,
                    full_name=f"Demo Participant {p.study_id}",
                    national_id=f"{rng.randrange(10**9, 10**10)}",
                    hospital_record_number=f"HRN-{rng.randrange(10**6, 10**7)}",
                    date_of_birth=date(rng.randint(1958, 2003), rng.randint(1, 12),
                                       rng.randint(1, 28)),
                    phone=f"+98 912 {rng.randrange(1000000, 9999999)}",
                )
                for p in made
            ]
            bulk_create_with_history(identities, IdentifyingData, batch_size=2000,
                                     default_change_reason="Demo data")
        return len(made)
