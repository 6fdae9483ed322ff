"""Synthetic trial data in bulk, for the benchmarks: `load_demo` goes through every service
(audit trail, row locks, edit checks) and takes minutes per thousand participants; this writes
the same tables with bulk_create, plausibly but without history. Never used outside tests/bench.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from outcomes.models import Baseline as BaselineCrf
from outcomes.models import BloodGas, ClinicalStatus, Crp, IcuStay, Visit
from participants.models import Eligibility, IdentifyingData, Participant, Screening
from safety.models import AdverseEvent
from trialedc.models import Site
from trialedc.trial import BLOOD_GAS, CLINICAL_STATUS, CRP, TRIAL

BATCH = 500


def _sites() -> list[Site]:
    return [
        Site.objects.get_or_create(
            code=s.code, defaults={"name": s.name, "time_zone": s.time_zone}
        )[0]
        for s in TRIAL.sites
    ]


def bulk_trial(total: int, *, user, seed: int = 1) -> int:
    """Top the trial up to `total` participants (split over the sites); returns how many made."""
    rng = random.Random(seed)
    sites = _sites()
    start = Participant.objects.count()
    for first in range(start, total, BATCH):
        _batch(range(first, min(first + BATCH, total)), sites=sites, user=user, rng=rng)
    return max(total - start, 0)


def _batch(indexes, *, sites, user, rng) -> None:
    today = timezone.localdate()
    screenings, days0 = [], []
    for index in indexes:
        site = sites[index % len(sites)]
        sequence = index // len(sites) + 1
        day0 = today - timedelta(days=70 + index % 300)
        days0.append(day0)
        screenings.append(
            Screening(
                site=site,
                screening_number=f"{TRIAL.screening_number_prefix}{site.code}-{sequence:04d}",
                sequence=sequence,
                screened_on=day0 - timedelta(days=1),
                screened_by=user,
            )
        )
    screenings = Screening.objects.bulk_create(screenings)
    identities = IdentifyingData.objects.bulk_create(
        IdentifyingData(
            screening=s,
            full_name=f"Synthetic Person {s.screening_number}",
            national_id=f"{rng.randrange(10**9, 10**10)}",
            date_of_birth=s.screened_on - timedelta(days=365 * 45),
            sex=rng.choice(("female", "male")),
        )
        for s in screenings
    )
    Eligibility.objects.bulk_create(
        Eligibility(
            screening=s,
            **dict.fromkeys(("i1", "i3", "i5"), True),
            **dict.fromkeys((f"e{n}" for n in range(1, 14)), False),
            pao2_mmhg=Decimal("60"),
            fio2_entered=Decimal("0.40"),
            fio2_unit="fraction",
            fio2=Decimal("0.40"),
            pf_ratio=Decimal("150.0"),
            age_years=rng.randint(18, 65),
            eligible=True,
            assessed_by=user,
        )
        for s in screenings
    )
    participants = Participant.objects.bulk_create(
        Participant(
            site=s.site,
            study_id=s.screening_number[len(TRIAL.screening_number_prefix) :],
            status="randomized",
            screening=s,
            identity=identity,
            enrolled_by=user,
        )
        for s, identity in zip(screenings, identities, strict=True)
    )
    visits = Visit.objects.bulk_create(
        Visit(
            participant=p,
            code=v.code,
            day=v.day,
            target_date=day0 + timedelta(days=v.day),
            window_start=day0 + timedelta(days=v.day - v.window_before),
            window_end=day0 + timedelta(days=v.day + v.window_after),
            state="done",
        )
        for p, day0 in zip(participants, days0, strict=True)
        for v in TRIAL.visits
    )
    crfs = {BaselineCrf: [], ClinicalStatus: [], BloodGas: [], Crp: []}
    for visit in visits:
        common = {"visit": visit, "status": "complete", "assessed_on": visit.target_date}
        common["entered_by"] = user
        if visit.day == 0:
            crfs[BaselineCrf].append(
                BaselineCrf(
                    **common,
                    sex=rng.choice(("female", "male")),
                    age_years=rng.randint(18, 65),
                    weight_kg=Decimal(rng.randint(50, 110)),
                    height_cm=rng.randint(150, 195),
                    respiratory_support=rng.choice(list(TRIAL.respiratory_support_labels)),
                )
            )
        codes = TRIAL.visit(visit.code).crfs
        if CLINICAL_STATUS in codes:
            crfs[ClinicalStatus].append(ClinicalStatus(**common, status_score=rng.randint(1, 6)))
        if BLOOD_GAS in codes:
            pao2 = Decimal(rng.randint(50, 120))
            crfs[BloodGas].append(
                BloodGas(**common, pao2_mmhg=pao2, fio2=Decimal("0.5"), pf_ratio=pao2 * 2)
            )
        if CRP in codes:
            value = Decimal(rng.randint(5, 300))
            crfs[Crp].append(Crp(**common, crp_mg_l=value, entered_value=value))
    for model, rows in crfs.items():
        model.objects.bulk_create(rows, batch_size=2000)
    IcuStay.objects.bulk_create(
        IcuStay(
            participant=p,
            admitted_on=day0 - timedelta(days=1),
            discharged_on=day0 + timedelta(days=rng.randint(3, 20)),
            entered_by=user,
        )
        for p, day0 in zip(participants, days0, strict=True)
    )
    AdverseEvent.objects.bulk_create(
        AdverseEvent(
            participant=p,
            number=1,
            verbatim_term="Fever",
            preferred_term="Pyrexia",
            system_organ_class="General disorders and administration site conditions",
            needs_coding=False,
            onset_date=day0 + timedelta(days=1),
            ongoing=False,
            end_date=day0 + timedelta(days=2),
            ctcae_grade=1,
            relationship="unlikely",
            outcome="recovered",
            reported_by=user,
        )
        for p, day0 in zip(participants, days0, strict=True)
        if p.pk % 3 == 0
    )
