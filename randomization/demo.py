"""Demo data of the randomization app: lists from a fixed seed, the enrolled demo participants
randomized (for `manage.py load_demo`; plausible, never real)."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from kernel import audit
from kernel.bulk import update_with_history
from kernel.models import User
from kernel.roles import Role
from kernel.trial import TRIAL
from participants.demo import BULK_REASON
from participants.models import Participant, ParticipantStatus

from . import selectors, services
from .exceptions import RandomizationError
from .models import PhaseReview, Randomization, RandomizationList, ReviewDecision, Slot


def load(*, participants: int, seed: int, stdout) -> str:
    statistician = User.objects.filter(groups__name=Role.STATISTICIAN.value).first()
    if statistician is None:
        return "randomization: no statistician, no lists"
    made = 0
    for p_index, phase in enumerate(TRIAL.phases):
        for s_index, stratum in enumerate(TRIAL.strata):
            if not RandomizationList.objects.filter(
                phase=phase.code, stratum=stratum.code
            ).exists():
                services.list_generate(
                    phase=phase.code,
                    stratum=stratum.code,
                    seed=seed * 10 + p_index * 2 + s_index,
                    user=statistician,
                )
                made += 1
    rng = random.Random(seed)
    supports = list(TRIAL.respiratory_support_stratum)
    randomized = 0
    enrolled = Participant.objects.filter(status=ParticipantStatus.ENROLLED).select_related(
        "site", "screening"
    )
    now = timezone.now()
    for participant in enrolled.order_by("study_id"):
        coordinator = (
            User.objects.filter(groups__name=Role.COORDINATOR.value, sites=participant.site)
            .order_by("username")
            .first()
        )
        if coordinator is None:
            continue
        # The day after screening (participants.demo spreads screenings over the past
        # 31–65 days), so the demo has visits to fill and show and nothing precedes screening.
        zone = ZoneInfo(participant.site.time_zone)
        day0 = participant.screening.screened_on + timedelta(days=1)
        randomized_at = datetime.combine(day0, time(9 + rng.randint(0, 8), 0), tzinfo=zone)
        try:
            services.slot_assign(
                participant=participant,
                user=coordinator,
                respiratory_support=rng.choice(supports),
                randomized_at=min(randomized_at, now),
            )
        except RandomizationError:
            continue  # a full list or phase: the participant stays enrolled, as on the ward
        randomized += 1
    return f"{made} randomization lists, {randomized} participants randomized"


# -- the large demo: bulk inserts (load_demo --participants 10000) ---------------------------


def load_bulk(*, participants: int, seed: int, stdout) -> str:
    """Randomize every enrolled participant in bulk, as slot_assign would one at a time: each
    slot used once, in sequence order within its list, Phase I first (strata alternating until
    its lists are full), then the DSMB's approval, then Phase II.

    At network scale the Phase II lists are made long enough for everyone, and the trial's
    Phase II target (60) is not applied: the benchmarks need thousands randomized
    (docs/decisions/0014-bulk-demo-and-benchmarks.md). Visits are made by outcomes.demo.
    """
    statistician = User.objects.filter(groups__name=Role.STATISTICIAN.value).first()
    if statistician is None:
        return "randomization: no statistician, no lists"
    waiting = list(
        Participant.objects.filter(status=ParticipantStatus.ENROLLED, randomization__isnull=True)
        .select_related("site", "screening")
        .order_by("screening__screened_on", "study_id")
    )
    phase_one, phase_two = TRIAL.gate_review_of_phase, TRIAL.gated_phase
    for s_index, stratum in enumerate(TRIAL.strata):
        if not RandomizationList.objects.filter(phase=phase_one, stratum=stratum.code).exists():
            services.list_generate(
                phase=phase_one, stratum=stratum.code, seed=seed * 10 + s_index, user=statistician
            )

    def free_slots(phase: str, stratum: str) -> list:
        return list(
            Slot.objects.filter(
                randomization_list__phase=phase,
                randomization_list__stratum=stratum,
                randomization__isnull=True,
            ).order_by("sequence")
        )

    rng = random.Random(seed)
    by_stratum: dict[str, list[str]] = {}
    for support, stratum in TRIAL.respiratory_support_stratum.items():
        by_stratum.setdefault(stratum, []).append(support)
    free = {s.code: free_slots(phase_one, s.code) for s in TRIAL.strata}
    plan = []  # (participant, support, slot or None for Phase II)
    for participant in waiting:
        open_strata = [code for code, slots in free.items() if slots]
        if open_strata:
            stratum = open_strata[len(plan) % len(open_strata)]
            plan.append((participant, rng.choice(by_stratum[stratum]), free[stratum].pop(0)))
        else:
            support = rng.choice(list(TRIAL.respiratory_support_stratum))
            plan.append((participant, support, None))
    later = [(p, support) for p, support, slot in plan if slot is None]
    if later and not selectors.gated_phase_open():
        # Written directly, as the randomizations below are: the bulk demo makes its day-14
        # visits afterwards (outcomes.demo), and it has no second factor to sign with. The
        # gate's rule is services.phase_review_record's (docs/randomization.md, phase gate).
        first_later = later[0][0].screening.screened_on
        review = PhaseReview(
            phase=phase_one,
            review_date=first_later,
            decision=ReviewDecision.APPROVED,
            document_reference="DSMB minutes (demo)",
            recorded_by=statistician,
        )
        audit.save_with_reason(review, user=statistician)
    for s_index, stratum in enumerate(TRIAL.strata):
        needed = sum(TRIAL.stratum_for_support(s) == stratum.code for _, s in later)
        existing = RandomizationList.objects.filter(phase=phase_two, stratum=stratum.code).first()
        if needed and (existing is None or len(free_slots(phase_two, stratum.code)) < needed):
            in_use = (
                existing is not None
                and Slot.objects.filter(
                    randomization_list=existing, randomization__isnull=False
                ).exists()
            )
            if not in_use:  # an unused list may be replaced by a longer one (list_store)
                services.list_generate(
                    phase=phase_two,
                    stratum=stratum.code,
                    seed=seed * 10 + 2 + s_index,
                    user=statistician,
                    length=needed,
                )
    free.update({s.code: free_slots(phase_two, s.code) for s in TRIAL.strata})
    randomizations, randomized = [], []
    for participant, support, slot in plan:
        stratum = TRIAL.stratum_for_support(support)
        if slot is None:
            if not free[stratum]:
                continue  # the list is full: the participant stays enrolled, as on the ward
            slot = free[stratum].pop(0)
        coordinator = participant.enrolled_by
        zone = ZoneInfo(participant.site.time_zone)
        day0 = participant.screening.screened_on
        randomizations.append(
            Randomization(
                participant=participant,
                slot=slot,
                respiratory_support=support,
                day0=day0,
                randomized_at=datetime.combine(day0, time(16, 0), tzinfo=zone),
                randomized_by=coordinator,
            )
        )
        participant.status = ParticipantStatus.RANDOMIZED
        participant._history_user = coordinator
        participant._change_reason = "Randomized"
        randomized.append(participant)
    Randomization.objects.bulk_create(randomizations, batch_size=2000)
    update_with_history(Participant, randomized, ["status"], user=None, reason=BULK_REASON)
    stdout.write(f"  randomization: {len(randomized)} participants randomized")
    reviews = PhaseReview.objects.count()
    return (
        f"{RandomizationList.objects.count()} randomization lists, {reviews} phase reviews, "
        f"{len(randomized)} participants randomized (bulk)"
    )


def visit_starts() -> list[Randomization]:
    """The randomized participants without visits yet, for outcomes.demo.load_bulk (composed by
    the project's load_demo: outcomes reads nothing of randomization)."""
    return list(
        Randomization.objects.filter(participant__visits__isnull=True)
        .select_related("participant__site", "participant__identity", "randomized_by")
        .order_by("participant__study_id")
    )
