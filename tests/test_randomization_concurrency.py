"""Assignment under real concurrency on PostgreSQL: 20 threads × 50 randomizations.

Each thread has its own connection and its own transactions (transactional_db), all taking
slots from one list at once. Afterwards: no slot twice, no participant twice, no gap.
"""

import dataclasses
import threading
from datetime import date

import pytest
from django.db import connection

from kernel.roles import Role
from kernel.services import roles_sync
from kernel.trial import TRIAL
from participants.models import IdentifyingData, Participant, ParticipantStatus, Screening
from randomization import services
from randomization.exceptions import AlreadyRandomized
from randomization.models import Randomization, Slot

from .factories import SiteFactory, UserFactory
from .randomization_factories import EXOSOME, PLACEBO, phase_two_opened, store_list

THREADS, PER_THREAD = 20, 50
TOTAL = THREADS * PER_THREAD


@pytest.fixture
def big_phase_two(transactional_db, monkeypatch):
    """Phase II opened, its stratum A list holding 1,000 slots, its cap lifted for the test."""
    roles_sync()
    site = SiteFactory(code="01")
    coordinator = UserFactory(username="coord", role=Role.COORDINATOR, sites=[site])
    statistician = UserFactory(username="stat", role=Role.STATISTICIAN)
    phases = tuple(
        dataclasses.replace(p, target_total=10 * TOTAL) if p.code == "II" else p
        for p in TRIAL.phases
    )
    store_list(phase="II", stratum="A", arms=[EXOSOME, PLACEBO] * (TOTAL // 2), user=statistician)
    store_list(phase="II", stratum="B", arms=[PLACEBO, EXOSOME] * PER_THREAD, user=statistician)
    # Lists are stored under the real rules; only the phase cap of 60 is lifted afterwards.
    monkeypatch.setattr("randomization.services.TRIAL", dataclasses.replace(TRIAL, phases=phases))
    phase_two_opened(user=statistician)
    enrolled_participants_bulk_create(site=site, user=coordinator, count=TOTAL)
    return coordinator


def enrolled_participants_bulk_create(*, site, user, count: int) -> None:
    """`count` enrolled participants, each with its screening and identifying data, in three
    bulk inserts (a factory per participant would take longer than the test itself)."""
    today = date(2021, 4, 10)
    screenings = Screening.objects.bulk_create(
        Screening(
            site=site,
            sequence=n,
            screening_number=f"S{site.code}-{n:04d}",
            screened_on=today,
            screened_by=user,
        )
        for n in range(1, count + 1)
    )
    identities = IdentifyingData.objects.bulk_create(
        IdentifyingData(
            screening=screening,
            full_name=f"Concurrent Patient {screening.sequence}",
            date_of_birth=date(1980, 1, 1),
            sex="male",
        )
        for screening in screenings
    )
    Participant.objects.bulk_create(
        Participant(
            site=site,
            study_id=f"{site.code}-{screening.sequence:04d}",
            status=ParticipantStatus.ENROLLED,
            screening=screening,
            identity=identity,
            enrolled_by=user,
        )
        for screening, identity in zip(screenings, identities, strict=True)
    )


def run_threads(work):
    errors = []

    def target(index):
        try:
            work(index)
        except Exception as error:  # noqa: BLE001 — reported by the test below
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_twenty_threads_randomize_a_thousand_without_a_double_or_a_gap(big_phase_two):
    coordinator = big_phase_two
    participants = list(Participant.objects.order_by("study_id"))

    def work(index):
        for participant in participants[index::THREADS]:
            services.slot_assign(
                participant=participant,
                user=coordinator,
                respiratory_support="invasive_ventilation",
            )

    errors = run_threads(work)
    assert errors == []
    sequences = list(
        Randomization.objects.values_list("slot__sequence", flat=True).order_by("slot__sequence")
    )
    assert sequences == list(range(1, TOTAL + 1))  # every slot once, none skipped
    assert Randomization.objects.values("participant").distinct().count() == TOTAL
    assert Randomization.objects.values("slot").distinct().count() == TOTAL
    assert not Participant.objects.exclude(status=ParticipantStatus.RANDOMIZED).exists()
    assert not Slot.objects.filter(randomization_list__stratum="A", randomization__isnull=True)


def test_twenty_threads_racing_for_the_same_participants_randomize_each_once(big_phase_two):
    coordinator = big_phase_two
    contested = list(Participant.objects.order_by("study_id")[:PER_THREAD])
    refused = []

    def work(index):
        for participant in contested:
            try:
                services.slot_assign(
                    participant=participant, user=coordinator, respiratory_support="face_mask"
                )
            except AlreadyRandomized:
                refused.append(participant.pk)

    errors = run_threads(work)
    assert errors == []
    assert Randomization.objects.count() == PER_THREAD
    assert len(refused) == PER_THREAD * (THREADS - 1)
    sequences = sorted(Randomization.objects.values_list("slot__sequence", flat=True))
    assert sequences == list(range(1, PER_THREAD + 1))
