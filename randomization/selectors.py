"""Reads of the randomization app that pages, reports and exports share.

Blinded reads (`randomizations_for`, `randomization_of`) are shown without `Slot.arm`; the unblinded
ones (`pharmacy_rows`, `list_rows`) are called only behind randomization.view_allocation.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from datamanagement.selectors import database_is_locked
from kernel.access import scope_to_sites
from kernel.trial import TRIAL
from outcomes.selectors import SafetyWindow, safety_windows
from participants.models import Participant, ParticipantStatus

from . import blocks
from .models import (
    OPENING_DECISIONS,
    EmergencyUnblinding,
    PhaseReview,
    Randomization,
    RandomizationList,
    Slot,
    TrialUnblinding,
)

# The canonical CSV of blocks.to_csv, hashed inside PostgreSQL: the verifier runs in every
# assignment while the list is locked, so it must not ship the whole list to Python each time.
# tests/test_randomization_verifier.py proves it equals blocks.checksum for every list.
_CHECKSUM_SQL = """
    SELECT encode(sha256(convert_to(%s || coalesce(string_agg(
        sequence || ',' || block || ',' || block_size || ',' || arm || ',' || envelope_code
        || chr(10), '' ORDER BY sequence), ''), 'UTF8')), 'hex')
    FROM randomization_slot WHERE randomization_list_id = %s
"""


def list_checksum(rlist: RandomizationList) -> str:
    """SHA-256 of the stored list as blocks.to_csv would write it."""
    header = ",".join(blocks.CSV_HEADER) + "\n"
    with connection.cursor() as cursor:
        cursor.execute(_CHECKSUM_SQL, [header, rlist.pk])
        return cursor.fetchone()[0]


def list_rows(rlist: RandomizationList) -> list[blocks.SlotRow]:
    return [
        blocks.SlotRow(s.sequence, s.block, s.block_size, s.arm, s.envelope_code)
        for s in Slot.objects.filter(randomization_list=rlist).order_by("sequence")
    ]


def assigned_by_arm() -> list[dict]:
    """Unblinded balance monitoring: randomized per phase, stratum and arm (statistician only)."""
    from django.db.models import Count

    counts = {
        (
            row["slot__randomization_list__phase"],
            row["slot__randomization_list__stratum"],
            row["slot__arm"],
        ): row["n"]
        for row in Randomization.objects.values(
            "slot__randomization_list__phase", "slot__randomization_list__stratum", "slot__arm"
        ).annotate(n=Count("pk"))
    }
    rows = []
    for phase in TRIAL.phases:
        for stratum in [*(s.code for s in TRIAL.strata), None]:
            per_arm = {
                arm.code: sum(
                    n
                    for (p, s, a), n in counts.items()
                    if p == phase.code and a == arm.code and (stratum is None or s == stratum)
                )
                for arm in TRIAL.arms
            }
            rows.append(
                {
                    "phase": phase.code,
                    "stratum": stratum,
                    "per_arm": per_arm,
                    "imbalance": max(per_arm.values()) - min(per_arm.values()),
                }
            )
    return rows


def latest_review(phase: str) -> PhaseReview | None:
    return PhaseReview.objects.filter(phase=phase).order_by("-recorded_at", "-pk").first()


def gated_phase_open() -> bool:
    """The gated phase opens on the latest review of the phase before it, if it approved."""
    review = latest_review(TRIAL.gate_review_of_phase)
    return review is not None and review.decision in OPENING_DECISIONS


def current_phase() -> str:
    return TRIAL.gated_phase if gated_phase_open() else TRIAL.gate_review_of_phase


def randomized_count(*, phase: str, stratum: str | None = None) -> int:
    queryset = Randomization.objects.filter(slot__randomization_list__phase=phase)
    if stratum is not None:
        queryset = queryset.filter(slot__randomization_list__stratum=stratum)
    return queryset.count()


@dataclass(frozen=True)
class StratumReadiness:
    stratum: str
    used: int
    slots: int

    @property
    def complete(self) -> bool:
        return self.used >= self.slots


@dataclass(frozen=True)
class ParticipantReadiness:
    study_id: str
    number: str  # the randomization number ("A-007"): arm-free
    stratum: str
    window: SafetyWindow


@dataclass(frozen=True)
class GateReadiness:
    """Whether the gated phase may open (SPEC §10): every slot of the reviewed phase used in
    every stratum, and each of its participants through the safety window. Arm-free."""

    phase: str
    strata: tuple[StratumReadiness, ...]
    participants: tuple[ParticipantReadiness, ...]

    @property
    def ready(self) -> bool:
        return all(s.complete for s in self.strata) and all(
            p.window.complete for p in self.participants
        )


def gate_readiness() -> GateReadiness:
    """The checklist of the phase gate, read for the page and, under lock, for the decision."""
    phase = TRIAL.phase(TRIAL.gate_review_of_phase)
    sizes = {x.stratum: x.slots.count() for x in RandomizationList.objects.filter(phase=phase.code)}
    strata = tuple(
        StratumReadiness(
            stratum=s.code,
            used=randomized_count(phase=phase.code, stratum=s.code),
            slots=phase.slots_per_stratum or sizes.get(s.code, 0),
        )
        for s in TRIAL.strata
    )
    randomized = list(
        Randomization.objects.filter(slot__randomization_list__phase=phase.code)
        .select_related("participant", "slot__randomization_list")
        .order_by("slot__randomization_list__stratum", "slot__sequence")
    )
    windows = safety_windows(r.participant_id for r in randomized)
    participants = tuple(
        ParticipantReadiness(
            study_id=r.participant.study_id,
            number=r.slot.number,
            stratum=r.slot.randomization_list.stratum,
            window=windows[r.participant_id],
        )
        for r in randomized
    )
    return GateReadiness(phase=phase.code, strata=strata, participants=participants)


@dataclass(frozen=True)
class Enrollment:
    """Randomized against target, per phase and stratum: arm-free, any role may see it."""

    phase: str
    stratum: str
    randomized: int
    slots: int | None  # None while no list exists; its length is shown to unblinded roles only
    target: int


def enrollment_by_phase_and_stratum() -> list[Enrollment]:
    sizes = {(x.phase, x.stratum): x.slots.count() for x in RandomizationList.objects.all()}
    return [
        Enrollment(
            phase=p.code,
            stratum=s.code,
            randomized=randomized_count(phase=p.code, stratum=s.code),
            slots=sizes.get((p.code, s.code)),
            target=p.target_total,
        )
        for p in TRIAL.phases
        for s in TRIAL.strata
    ]


def randomizations_for(user) -> QuerySet[Randomization]:
    """Randomized participants the user may see, by study ID (an order that says nothing)."""
    return scope_to_sites(
        Randomization.objects.select_related("participant__site", "slot"),
        user,
        site_path="participant__site",
    ).order_by("participant__study_id")


def awaiting_randomization(user) -> QuerySet:
    """Enrolled participants at the user's sites who hold no slot yet, by study ID."""

    return scope_to_sites(
        Participant.objects.filter(
            status=ParticipantStatus.ENROLLED, randomization__isnull=True
        ).select_related("site"),
        user,
    ).order_by("study_id")


def randomization_of(participant) -> Randomization | None:
    return (
        Randomization.objects.select_related("slot", "randomized_by")
        .filter(participant=participant)
        .first()
    )


def emergency_unblindings_of(participant) -> list[EmergencyUnblinding]:
    return list(
        EmergencyUnblinding.objects.filter(participant=participant).select_related("requested_by")
    )


def unblinded_participant_ids() -> set[int]:
    """Participants unblinded in an emergency: every report marks them (SPEC §3)."""
    return set(EmergencyUnblinding.objects.values_list("participant_id", flat=True))


def pharmacy_rows(user) -> QuerySet[Randomization]:
    """Unblinded: the pharmacist's own-site randomized participants with slot and preparation."""
    return scope_to_sites(
        Randomization.objects.select_related("participant__site", "slot", "preparation"),
        user,
        site_path="participant__site",
    ).order_by("participant__study_id")


def pharmacy_queue(user) -> QuerySet[Randomization]:
    """The pharmacist's queue: randomized participants of the user's sites with no preparation
    yet, most urgent first (the earliest Day 0, then the longest waiting)."""
    return scope_to_sites(
        Randomization.objects.filter(preparation__isnull=True).select_related("participant__site"),
        user,
        site_path="participant__site",
    ).order_by("day0", "randomized_at", "participant__study_id")


def database_locked() -> bool:

    return database_is_locked()


def trial_unblinding() -> TrialUnblinding | None:
    return TrialUnblinding.objects.select_related("data_manager", "statistician").first()


def trial_unblinded() -> bool:
    """True once both confirmations are recorded: sponsor exports may then carry the arm."""
    unblinding = trial_unblinding()
    return unblinding is not None and unblinding.complete


def arm_of_participant(participant) -> str | None:
    """The arm code of one participant, None if not randomized: for kernel.arms only."""
    return (
        Randomization.objects.filter(participant=participant)
        .values_list("slot__arm", flat=True)
        .first()
    )


def trial_unblinded_at():
    """When the trial-level unblinding became complete (the later of the two confirmations)."""
    unblinding = trial_unblinding()
    if unblinding is None or not unblinding.complete:
        return None
    confirmed = (unblinding.data_manager_confirmed_at, unblinding.statistician_confirmed_at)
    return max(moment for moment in confirmed if moment is not None)
