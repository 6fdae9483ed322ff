"""A synthetic trial in bulk, for the dashboards' query-count tests and the benchmark.

`bulk_trial(n)` writes n screened patients per site with `bulk_create` (no services, no audit
rows: fast at 10,000), most of them enrolled and randomized, with visits, outcome CRFs, study
events and adverse events, so every part of the dashboard has rows to aggregate.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from kernel.trial import TRIAL
from outcomes.models import (
    BloodGas,
    ClinicalStatus,
    Crp,
    EventKind,
    Murray,
    StudyEvent,
    Visit,
    VisitState,
)
from participants.models import (
    Eligibility,
    IdentifyingData,
    NotEnrolledReason,
    Participant,
    ParticipantStatus,
    Screening,
)
from safety.models import AdverseEvent

from . import dashboards_randomization


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(9, 0)))


def bulk_trial(*, sites, user, per_site: int, today: date | None = None) -> None:
    today = today or timezone.localdate()
    for site in sites:
        _bulk_site(site=site, user=user, n=per_site, today=today)


def _bulk_site(*, site, user, n: int, today: date) -> None:
    start = Screening.objects.filter(site=site).count()
    screenings = Screening.objects.bulk_create(
        Screening(
            site=site,
            sequence=start + i + 1,
            screening_number=f"S{site.code}-{start + i + 1:04d}",
            screened_on=today - timedelta(days=80 - i % 70),
            screened_by=user,
            not_enrolled_reason=NotEnrolledReason.DECLINED if i % 10 == 1 else "",
        )
        for i in range(n)
    )
    identities = IdentifyingData.objects.bulk_create(
        IdentifyingData(
            screening=s,
            full_name=f"Synthetic {s.screening_number}",
            date_of_birth=date(1980, 1, 1),
            sex="male",
        )
        for s in screenings
    )
    eligible = []
    for i, s in enumerate(screenings):
        eligible.append(
            Eligibility(
                screening=s,
                pao2_mmhg=Decimal("80"),
                fio2_entered=Decimal("0.6"),
                fio2_unit="fraction",
                fio2=Decimal("0.6"),
                pf_ratio=Decimal("133.3"),
                age_years=44,
                eligible=i % 10 != 2,
                failed_criteria="" if i % 10 != 2 else "E7",
                assessed_by=user,
            )
        )
    Eligibility.objects.bulk_create(eligible)
    enrolled = [
        (i, s, identity)
        for i, (s, identity) in enumerate(zip(screenings, identities, strict=True))
        if i % 10 not in (1, 2, 3)
    ]
    start_id = Participant.objects.filter(site=site).count()
    participants = Participant.objects.bulk_create(
        Participant(
            site=site,
            study_id=f"{site.code}-{start_id + k + 1:04d}",
            status=ParticipantStatus.WITHDRAWN if i % 10 == 9 else ParticipantStatus.RANDOMIZED,
            screening=s,
            identity=identity,
            enrolled_by=user,
        )
        for k, (i, s, identity) in enumerate(enrolled)
    )
    visits = []
    for k, p in enumerate(participants):
        day0 = today - timedelta(days=k % 70)
        for config in TRIAL.visits:
            target = day0 + timedelta(days=config.day)
            done = target < today - timedelta(days=2) and k % 7 != 0
            visits.append(
                Visit(
                    participant=p,
                    code=config.code,
                    day=config.day,
                    target_date=target,
                    window_start=target - timedelta(days=config.window_before),
                    window_end=target + timedelta(days=config.window_after),
                    state=VisitState.DONE if done else VisitState.SCHEDULED,
                )
            )
    visits = Visit.objects.bulk_create(visits)
    crfs = {BloodGas: [], Murray: [], Crp: [], ClinicalStatus: []}
    for j, v in enumerate(visits):
        if v.state != VisitState.DONE:
            continue
        codes = TRIAL.visit(v.code).crfs
        common = {
            "visit": v,
            "status": "complete",
            "assessed_on": v.target_date,
            "entered_by": user,
        }
        if "blood_gas" in codes:
            pf = Decimal(100 + j % 200)
            crfs[BloodGas].append(
                BloodGas(**common, pao2_mmhg=pf / 2, fio2=Decimal("0.5"), pf_ratio=pf)
            )
        if "murray" in codes:
            crfs[Murray].append(
                Murray(
                    **common,
                    pao2_mmhg=Decimal("70"),
                    fio2=Decimal("0.5"),
                    pf_ratio=Decimal("140"),
                    cxr_quadrants=2,
                    total=8,
                    n_components=4,
                    score=Decimal(j % 17) / 4,
                )
            )
        if "crp" in codes:
            crfs[Crp].append(Crp(**common, crp_mg_l=Decimal(j % 300), entered_value=j % 300))
        if "clinical_status" in codes:
            crfs[ClinicalStatus].append(ClinicalStatus(**common, status_score=1 + j % 5))
    for model, rows in crfs.items():
        model.objects.bulk_create(rows)
    StudyEvent.objects.bulk_create(
        StudyEvent(
            participant=p,
            kind=EventKind.DEATH if k % 13 == 0 else EventKind.LOST_TO_FOLLOW_UP,
            occurred_on=today - timedelta(days=1),
            entered_by=user,
        )
        for k, p in enumerate(participants)
        if k % 13 == 0 or k % 17 == 0
    )
    events = []
    for k, p in enumerate(participants):
        if k % 3:
            continue
        grade = 1 + k % 4
        serious = grade >= 3
        events.append(
            AdverseEvent(
                participant=p,
                number=1,
                verbatim_term="Fever",
                preferred_term="Pyrexia",
                onset_date=today - timedelta(days=3),
                ongoing=True,
                ctcae_grade=grade,
                serious=serious,
                criterion_hospitalization=serious,
                aware_at=_aware(today - timedelta(days=2)) if serious else None,
                relationship="possible" if k % 2 else "unrelated",
                outcome="recovering",
                reported_by=user,
            )
        )
    AdverseEvent.objects.bulk_create(events)
    dashboards_randomization.bulk_randomize(participants, user=user, today=today)
