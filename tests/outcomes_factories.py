"""Factories of the outcomes app: a randomized participant's schedule and CRFs, through the
services (so computed values, audit trail and visit states are the real ones)."""

from __future__ import annotations

from datetime import date, time, timedelta

from kernel import concurrency
from kernel.trial import MURRAY
from outcomes import checks, selectors, services
from outcomes.models import CRF_MODELS, StudyEvent, Visit

# The time of the Day-0 assessments the factory saves: early, before any infusion of the day.
BEFORE_THE_DOSE = time(0, 5)


def schedule(participant, *, day0: date | None = None) -> date:
    """Give `participant` the visit schedule; Day 0 defaults to 3 days ago at the site (so D3
    is due today). Returns Day 0."""
    if day0 is None:
        day0 = selectors.site_today(participant.site) - timedelta(days=3)
    screening = getattr(participant, "screening", None)
    if screening is not None and screening.screened_on > day0:
        # A patient is screened before being randomized: a test's earlier Day 0 moves the
        # factory's screening back to it (the services refuse an event dated before screening).
        type(screening).objects.filter(pk=screening.pk).update(screened_on=day0)
        screening.screened_on = day0
    services.visit_schedule_create(participant=participant, day0=day0)
    return Visit.objects.get(participant=participant, day=0).target_date


def _entry_user(participant):
    """The user who enters the CRFs the tests make (any user of the site will do)."""
    from .factories import UserFactory

    return UserFactory(username=f"entry-{participant.site.code}", sites=[participant.site])


def visit(participant, code: str) -> Visit:
    return Visit.objects.get(participant=participant, code=code)


def crf(participant, code: str, crf_code: str, *, user=None, complete=True, **values):
    """Save one CRF with `values` (assessed_on defaults to the visit's target date), as a
    person who has the CRF as it is now in front of them: values that warn (outcomes.checks)
    are confirmed with a reason, as that person would."""
    v = visit(participant, code)
    values.setdefault("assessed_on", v.target_date)
    if v.day == 0 and crf_code in checks.PRE_DOSE_CRFS:
        # Day 0: a baseline assessment is timed, before the infusion (issue 18).
        values.setdefault("assessed_time", BEFORE_THE_DOSE)
    if crf_code == MURRAY:
        # The support is recorded with the Murray CRF (issue 18): whoever reads PEEP off a
        # ventilator records that the patient is ventilated; otherwise oxygen by face mask.
        ventilated = any(values.get(n) is not None for n in checks.PEEP_AND_COMPLIANCE)
        values.setdefault(
            "respiratory_support", "invasive_ventilation" if ventilated else "face_mask"
        )
    return services.crf_save(
        visit=v,
        crf_code=crf_code,
        values=values,
        complete=complete,
        user=user or _entry_user(participant),
        opened_version=concurrency.version_of(CRF_MODELS[crf_code].objects.filter(visit=v).first()),
        reason="Test correction",
        confirm_warnings=True,
        warning_reason="Checked against the chart",
    )


def icu_stay(participant, *, admitted_on: date, discharged_on: date | None = None, user=None):
    return services.icu_stay_save(
        participant=participant,
        admitted_on=admitted_on,
        discharged_on=discharged_on,
        user=user or _entry_user(participant),
    )


def event(participant, kind: str, occurred_on: date, *, user=None) -> StudyEvent:
    return services.study_event_save(
        participant=participant,
        kind=kind,
        occurred_on=occurred_on,
        details="",
        user=user or _entry_user(participant),
    )


# Vital signs within every limit (issue 19), for the visits that now list them.
VITAL_SIGNS = {
    "temperature_c": "37.0",
    "heart_rate_bpm": 90,
    "systolic_mmhg": 120,
    "diastolic_mmhg": 70,
    "respiratory_rate": 20,
    "spo2_percent": 94,
    "fio2": "0.40",
    "respiratory_support": "face_mask",
}
