"""Derived endpoints per participant, from the CRFs and events stored (SPEC §4)."""

from datetime import date, timedelta

import pytest
from django.core.management import call_command

from kernel import concurrency
from outcomes import demo, selectors
from outcomes.models import ClinicalStatus, Murray, StudyEvent, Visit
from participants.models import Participant

from . import outcomes_factories as of
from .factories import PASSWORD, ParticipantFactory

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 1, 5)
LATER = date(2026, 6, 1)  # past day 60: endpoints final


@pytest.fixture
def participant(site01, roles):
    p = ParticipantFactory(site=site01)
    of.schedule(p, day0=DAY0)
    return p


def at(day):
    return DAY0 + timedelta(days=day)


def test_ttic_from_clinical_status_crfs(participant):
    of.crf(participant, "D0", "clinical_status", status_score=5)
    of.crf(participant, "D3", "clinical_status", status_score=4)
    of.crf(participant, "D7", "clinical_status", status_score=3, assessed_on=at(8))
    result = selectors.participant_endpoints(participant, today=LATER)
    # Baseline 5, target <= 3, first reached on day 8 (assessed 2026-01-13, D7 +1).
    assert result["ttic"] == {"baseline": 5, "day": 8, "event": True, "final": True}


def test_ttic_by_discharge_alive(participant):
    of.crf(participant, "D0", "clinical_status", status_score=4)
    of.event(participant, "hospital_discharge", at(11))
    assert selectors.participant_endpoints(participant, today=LATER)["ttic"]["day"] == 11


def test_ttic_censored_at_28_after_death(participant):
    of.crf(participant, "D0", "clinical_status", status_score=5)
    of.event(participant, "death", at(9))
    ttic = selectors.participant_endpoints(participant, today=LATER)["ttic"]
    assert (ttic["day"], ttic["event"]) == (28, False)


def test_ttic_is_provisional_before_the_horizon(participant):
    of.crf(participant, "D0", "clinical_status", status_score=5)
    ttic = selectors.participant_endpoints(participant, today=at(10))["ttic"]
    assert (ttic["day"], ttic["event"], ttic["final"]) == (28, False, False)


def test_icu_free_days_with_overlapping_stays(participant):
    # [-2, 6) clipped to [0, 6) = 6 days, [4, 10) overlaps: union [0, 10) = 10 days;
    # [30, 35) = 5 days; 60 - 15 = 45.
    of.icu_stay(participant, admitted_on=at(-2), discharged_on=at(6))
    of.icu_stay(participant, admitted_on=at(4), discharged_on=at(10))
    of.icu_stay(participant, admitted_on=at(30), discharged_on=at(35))
    result = selectors.participant_endpoints(participant, today=LATER)["icu_free_days"]
    assert (result["value"], result["icu_days"], result["final"]) == (45, 15, True)


def test_no_endpoints_without_a_schedule(site01, roles):
    p = ParticipantFactory(site=site01)
    assert selectors.participant_endpoints(p, today=LATER) == {"available": False}


def test_the_demo_does_nothing_without_visits(site01, roles):
    ParticipantFactory(site=site01)
    assert demo.load(participants=1, seed=1, stdout=None) == "0 visits with outcome CRFs"
    assert not Visit.objects.exists()


def test_the_demo_fills_past_visits_with_trajectories_and_is_idempotent(capsys):
    call_command("load_demo", "--participants", "8", "--password", PASSWORD)
    today = selectors.site_today(Participant.objects.first().site)
    for p in Participant.objects.all():
        of.schedule(p, day0=today - timedelta(days=30))
    summary = demo.load(participants=8, seed=1, stdout=None)
    assert summary != "0 visits with outcome CRFs"
    # Four courses: a death, a withdrawal, ICU stays, improving P/F.
    assert StudyEvent.objects.filter(kind="death").exists()
    assert StudyEvent.objects.filter(kind="withdrawal").exists()
    assert Murray.objects.filter(score__isnull=False).exists()
    counts = ClinicalStatus.objects.count()
    demo.load(participants=8, seed=1, stdout=None)
    assert ClinicalStatus.objects.count() == counts
    for p in Participant.objects.all():
        assert selectors.participant_endpoints(p, today=today)["available"]


def test_a_recorded_death_makes_the_participant_died_and_a_correction_gives_it_back(participant):
    from outcomes import services
    from participants.models import ParticipantStatus

    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ENROLLED
    of.event(participant, "hospital_discharge", at(5))
    death = of.event(participant, "death", at(12))
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.DIED

    # Editing another event leaves the death standing.
    discharge = StudyEvent.objects.get(participant=participant, kind="hospital_discharge")
    services.study_event_save(
        participant=participant,
        kind="hospital_discharge",
        occurred_on=at(6),
        details="",
        user=death.entered_by,
        event=discharge,
        opened_version=concurrency.version_of(discharge),
        reason="Discharge date from the summary",
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.DIED

    # The death was entered on the wrong form: corrected to early termination.
    services.study_event_save(
        participant=participant,
        kind="lost_to_follow_up",
        occurred_on=at(12),
        details="",
        user=death.entered_by,
        event=death,
        opened_version=concurrency.version_of(death),
        reason="Entered as death by mistake",
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ENROLLED
