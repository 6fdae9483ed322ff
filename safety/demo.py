"""Demo data of the safety app for `manage.py load_demo`: AEs, two SAEs and one SUSAR.

Synthetic and plausible, never real. Made through the services, so the SAEs have their initial
reports and alerts, and the clocks on the safety page run from "now".
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from kernel.bulk import insert_with_history
from kernel.models import User
from kernel.roles import Role
from outcomes.models import Visit
from participants.demo import BULK_REASON
from participants.models import Participant

from . import services
from .models import AdverseEvent


def _reporter(site) -> User | None:
    return (
        User.objects.filter(groups__name=Role.COORDINATOR.value, sites=site)
        .order_by("username")
        .first()
    )


def load(*, participants: int, seed: int, stdout) -> str:
    if AdverseEvent.objects.exists():
        return f"{AdverseEvent.objects.count()} adverse events (0 new)"
    # Most events at the first site (where the demo users work), one at another site, so
    # site scoping shows on the safety page of coordinator2.
    staffed = [p for p in Participant.objects.order_by("study_id") if _reporter(p.site)]
    if not staffed:
        return ""
    first_site = staffed[0].site_id
    pool = [p for p in staffed if p.site_id == first_site]
    elsewhere = [p for p in staffed if p.site_id != first_site] or pool
    now = timezone.now()
    today = timezone.localdate()

    def days_ago(n: int):
        return today - timedelta(days=n)

    events = [
        # Non-serious, expected (in the RSI at this grade), recovered.
        dict(
            verbatim_term="Fever 38.4 °C four hours after the infusion",
            preferred_term="Pyrexia",
            onset_date=days_ago(6),
            ongoing=False,
            end_date=days_ago(5),
            ctcae_grade=1,
            relationship="possible",
            action_taken="not_applicable",
            outcome="recovered",
        ),
        dict(
            verbatim_term="Headache",
            preferred_term="Headache",
            onset_date=days_ago(4),
            ongoing=True,
            ctcae_grade=1,
            relationship="unlikely",
            action_taken="not_applicable",
            outcome="recovering",
        ),
        # Free text, flagged for coding.
        dict(
            verbatim_term="Itchy skin on forearms",
            preferred_term="",
            onset_date=days_ago(3),
            ongoing=True,
            ctcae_grade=1,
            relationship="unrelated",
            action_taken="not_applicable",
            outcome="not_recovered",
        ),
        # SAE 1: open, unrelated, no follow-up for two days (its reminder is due).
        dict(
            verbatim_term="Worsening hypoxaemia, intubated on day 2",
            preferred_term="Acute respiratory distress syndrome worsening",
            onset_date=days_ago(3),
            ongoing=True,
            ctcae_grade=4,
            serious=True,
            criterion_life_threatening=True,
            criterion_hospitalization=True,
            aware_at=now - timedelta(days=2, hours=3),
            relationship="unrelated",
            action_taken="not_applicable",
            outcome="not_recovered",
            description="P/F ratio fell from 140 to 85; intubated and proned.",
        ),
        # SAE 2: resolved, unlikely related.
        dict(
            verbatim_term="Deep vein thrombosis, left leg",
            preferred_term="Deep vein thrombosis",
            onset_date=days_ago(9),
            ongoing=False,
            end_date=days_ago(2),
            ctcae_grade=3,
            serious=True,
            criterion_hospitalization=True,
            aware_at=now - timedelta(days=9),
            relationship="unlikely",
            action_taken="not_applicable",
            outcome="recovered",
            description="Doppler-confirmed DVT; therapeutic anticoagulation.",
        ),
        # The SUSAR: unexpected, probable, life-threatening: 7-day clock, 2 days left.
        dict(
            verbatim_term="Anaphylaxis 10 minutes into the infusion",
            preferred_term="Anaphylactic reaction",
            onset_date=days_ago(5),
            ongoing=False,
            end_date=days_ago(4),
            ctcae_grade=4,
            serious=True,
            criterion_life_threatening=True,
            aware_at=now - timedelta(days=5, hours=1),
            relationship="probable",
            action_taken="infusion_stopped",
            outcome="recovered",
            description="Urticaria, wheeze, BP 70/40; adrenaline IM; resolved in 20 hours.",
        ),
    ]
    for i, data in enumerate(events):
        participant = elsewhere[0] if i == 2 else pool[i % len(pool)]
        services.ae_report(participant=participant, user=_reporter(participant.site), data=data)
    made = AdverseEvent.objects.count()
    serious = AdverseEvent.objects.filter(serious=True).count()
    return f"{made} adverse events ({serious} serious, 1 SUSAR)"


# -- the large demo: bulk inserts (load_demo --participants 10000) ---------------------------


def load_bulk(*, participants: int, seed: int, stdout) -> str:
    """One non-serious, expected AE (grade 1 pyrexia, recovered) for one randomized participant
    in three without AEs, reported at the day-2 AE assessment (outcomes.demo.load_bulk)."""
    reported = Visit.objects.filter(code="D2", state="done", participant__adverse_events=None)
    events = []
    for visit in reported.select_related("participant").order_by("participant_id"):
        participant = visit.participant
        if participant.pk % 3:
            continue
        event = AdverseEvent(
            participant=participant,
            number=1,
            visit=visit.code,
            verbatim_term="Fever 38.2 °C the day after the infusion",
            preferred_term="Pyrexia",
            system_organ_class="General disorders and administration site conditions",
            needs_coding=False,
            onset_date=visit.target_date,
            ongoing=False,
            end_date=visit.target_date + timedelta(days=1),
            ctcae_grade=1,
            relationship="possible",
            expected=True,  # in the reference safety information up to grade 2
            action_taken="not_applicable",
            outcome="recovered",
            reported_by=participant.enrolled_by,
        )
        event._history_user = participant.enrolled_by
        events.append(event)
    insert_with_history(AdverseEvent, events, user=None, reason=BULK_REASON)
    return f"{AdverseEvent.objects.count()} adverse events ({len(events)} new, bulk)"
