"""Demo data of the participants app, for `manage.py load_demo` (plausible, never real)."""

from __future__ import annotations

import random
from datetime import date

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from trialedc.models import Site, User

from .models import IdentifyingData, Participant


def load(*, participants: int, seed: int, stdout) -> str:
    """Top the demo participants up to `participants`, spread over the sites."""
    total = participants
    sites = list(Site.objects.order_by("code"))
    missing = total - Participant.objects.count()
    if missing <= 0:
        return f"{Participant.objects.count()} participants (0 new)"
    rng = random.Random(seed + Participant.objects.count())
    registrar = {s.code: User.objects.filter(sites=s).order_by("username").first() for s in sites}
    next_number = {}
    for site in sites:
        last = (
            Participant.objects.filter(site=site)
            .order_by("-study_id")
            .values_list("study_id", flat=True)
            .first()
        )
        next_number[site.code] = int(last.split("-")[1]) + 1 if last else 1
    new = []
    for i in range(missing):
        site = sites[i % len(sites)]
        number = next_number[site.code]
        next_number[site.code] += 1
        new.append(
            Participant(
                site=site, study_id=f"{site.code}-{number:04d}", registered_by=registrar[site.code]
            )
        )
    with transaction.atomic():
        bulk_create_with_history(
            new, Participant, batch_size=2000, default_change_reason="Demo data"
        )
        made = list(Participant.objects.filter(study_id__in=[p.study_id for p in new]))
        identities = [
            IdentifyingData(
                participant=p,
                full_name=f"Demo Participant {p.study_id}",
                national_id=f"{rng.randrange(10**9, 10**10)}",
                hospital_record_number=f"HRN-{rng.randrange(10**6, 10**7)}",
                date_of_birth=date(rng.randint(1958, 2003), rng.randint(1, 12), rng.randint(1, 28)),
                phone=f"+98 912 {rng.randrange(1000000, 9999999)}",
            )
            for p in made
        ]
        bulk_create_with_history(
            identities, IdentifyingData, batch_size=2000, default_change_reason="Demo data"
        )
    return f"{Participant.objects.count()} participants ({len(made)} new)"
