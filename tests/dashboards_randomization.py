"""Allocations for the dashboards' tests: one participant through the real service, or many in
bulk; and a switch that swaps every arm, for the differential blinding test."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, F, Max, Value, When

from kernel.trial import TRIAL
from outcomes.models import Visit
from participants.models import Participant, ParticipantStatus, Screening
from randomization import services
from randomization.models import Randomization, RandomizationList, Slot

from .randomization_factories import behind_the_triggers, rows_with_arms

EXOSOME, PLACEBO = (a.code for a in TRIAL.arms)
# A blinded-by-design alternation of supports, so both strata fill.
SUPPORTS = ("invasive_ventilation", "nasal_cannula")


def phase_one_lists(*, user, first: str = EXOSOME) -> None:
    """Phase I lists for both strata, arms alternating from `first`: 1:1 in blocks of 2."""
    second = PLACEBO if first == EXOSOME else EXOSOME
    for stratum, prefix in (("A", "JA"), ("B", "JC")):
        if RandomizationList.objects.filter(phase="I", stratum=stratum).exists():
            continue
        services.list_store(
            phase="I",
            stratum=stratum,
            rows=rows_with_arms([first, second] * 3, prefix=prefix),
            source="imported",
            seed=None,
            user=user,
        )


def randomize(participant, *, user, day0=None, support: str | None = None) -> Randomization:
    """Randomize one participant through the service; then move Day 0 back if asked (the
    service takes today, as at the bedside)."""
    phase_one_lists(user=user)
    support = support or SUPPORTS[Randomization.objects.count() % 2]
    randomization = services.slot_assign(
        participant=participant, user=user, respiratory_support=support
    )
    if day0 is not None and day0 != randomization.day0:
        shift = randomization.day0 - day0
        # Screened before that Day 0, as a patient is before being randomized.
        if participant.screening.screened_on > day0:
            Screening.objects.filter(pk=participant.screening_id).update(screened_on=day0)
            participant.screening.screened_on = day0
        Randomization.objects.filter(pk=randomization.pk).update(day0=day0)
        Visit.objects.filter(participant=participant).update(
            target_date=F("target_date") - shift,
            window_start=F("window_start") - shift,
            window_end=F("window_end") - shift,
        )
    return randomization


def swap_arms() -> None:
    """Give every slot the other arm (the same trial, the opposite allocation)."""
    with behind_the_triggers():  # stored slots are immutable otherwise (migration 0005)
        Slot.objects.update(
            arm=Case(When(arm=EXOSOME, then=Value(PLACEBO)), default=Value(EXOSOME))
        )


def bulk_randomize(participants, *, user, today) -> None:
    """A slot for each participant with a visit schedule, in bulk: the first twelve in phase I,
    the rest in phase II; arms alternate; Day 0 is the schedule's."""
    day0 = dict(
        Visit.objects.filter(participant__in=participants, day=0).values_list(
            "participant_id", "target_date"
        )
    )
    chosen = [p for p in participants if p.pk in day0]
    existing = Randomization.objects.count()
    # After any slots already stored (the demo's lists, an earlier call).
    last_sequence = Slot.objects.aggregate(last=Max("sequence"))["last"] or 0
    lists = {}
    for phase in ("I", "II"):
        for stratum in ("A", "B"):
            lists[(phase, stratum)], _ = RandomizationList.objects.get_or_create(
                phase=phase,
                stratum=stratum,
                defaults={"source": "imported", "checksum": "bulk", "created_by": user},
            )
    slots, supports, randomizations = [], [], []
    for k in range(existing, existing + len(chosen)):
        phase = "I" if k < TRIAL.phase("I").target_total else "II"
        support = SUPPORTS[k % 2]
        stratum = TRIAL.stratum_for_support(support)
        supports.append(support)
        slots.append(
            Slot(
                randomization_list=lists[(phase, stratum)],
                sequence=last_sequence + k + 1,
                block=k // 2 + 1,
                block_size=2,
                arm=EXOSOME if k % 2 == 0 else PLACEBO,
                envelope_code=f"BK{k:08d}",
                number=f"B-{k:06d}",
            )
        )
    slots = Slot.objects.bulk_create(slots)
    for participant, slot, support in zip(chosen, slots, supports, strict=True):
        randomizations.append(
            Randomization(
                participant=participant,
                slot=slot,
                respiratory_support=support,
                day0=day0[participant.pk],
                randomized_at=participant.enrolled_at + timedelta(hours=1),
                randomized_by=user,
            )
        )
    Randomization.objects.bulk_create(randomizations)
    Participant.objects.filter(
        pk__in=[p.pk for p in chosen], status=ParticipantStatus.ENROLLED
    ).update(status=ParticipantStatus.RANDOMIZED)
