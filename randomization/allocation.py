"""The one reader of the allocation for the other apps (SPEC §1, §3, §8).

Exports and dashboards learn what they may know of the randomization here, and nowhere else:
arm-free lookups (randomized or not, when, phase, stratum, emergency unblinding yes/no) for
everyone; the arm only through `arm_path()` and `participant_annotations(with_arm=True)`, which a
caller asks for only after one of the two gates has said yes — `may_see_arms(user)` for a page
(the permission that shows an arm and a role that is not blinded) or `trial_unblinded()` for
the sponsor's export (both confirmations of trial-level unblinding recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate

from kernel.roles import is_blinded

from . import selectors
from .exceptions import ListTampered
from .models import EmergencyUnblinding, Randomization, RandomizationList
from .services import list_verify

# Arm-free lookups from a `Randomization` row.
RANDOMIZATION_PATHS = {
    "randomized_at": "randomized_at",
    "phase": "slot__randomization_list__phase",
    "stratum": "slot__randomization_list__stratum",
}


def trial_unblinded() -> bool:
    """The sponsor's gate: the whole trial is unblinded (both confirmations recorded)."""
    return selectors.trial_unblinded()


def trial_unblinded_at():
    """When the trial-level unblinding was complete (the later confirmation), or None."""
    return selectors.trial_unblinded_at()


def may_see_arms(user) -> bool:
    """A page's two gates: the permission that shows an arm, and a role that is not blinded."""
    return user.has_perm("randomization.view_allocation") and not is_blinded(user)


def randomized_condition() -> Q:
    """A filter on `Participant` rows, true for those randomized."""
    return Q(randomization__isnull=False)


def arm_path(prefix: str = "") -> str:
    """The lookup of a participant's arm, for by-arm aggregates (behind a gate only)."""
    return f"{prefix}randomization__slot__arm"


def participant_annotations(*, with_arm: bool) -> dict:
    """Annotations of a Participant queryset: phase, stratum, emergency unblinding (yes/no),
    and the arm if `with_arm`."""
    annotations = {
        "phase": F("randomization__slot__randomization_list__phase"),
        "stratum": F("randomization__slot__randomization_list__stratum"),
        # SPEC §3: a participant unblinded in an emergency is marked in every report. Whether,
        # not what: the flag says nothing of the arm.
        "emergency_unblinded": Exists(
            EmergencyUnblinding.objects.filter(participant=OuterRef("pk"))
        ),
    }
    if with_arm:
        annotations["arm"] = F(arm_path())
    return annotations


def randomized_counts(
    site_ids,
) -> tuple[tuple[tuple[date, int], ...], dict[tuple[str, str], int]]:
    """Arm-free counts for the dashboards, at the given sites: randomized per calendar day
    (oldest first), and randomized per (phase, stratum)."""
    rows = Randomization.objects.filter(participant__site__in=site_ids)
    by_day = tuple(
        (row["day"], row["n"])
        for row in rows.annotate(day=TruncDate(RANDOMIZATION_PATHS["randomized_at"]))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by("day")
    )
    by_phase_stratum = {
        (row["phase"], row["stratum"]): row["n"]
        for row in rows.values(
            phase=F(RANDOMIZATION_PATHS["phase"]), stratum=F(RANDOMIZATION_PATHS["stratum"])
        )
        .annotate(n=Count("pk"))
        .order_by("phase", "stratum")
    }
    return by_day, by_phase_stratum


# -- for the backups (trialedc.backup): tables and the lists' verifier, never an arm ---------


def randomization_table() -> str:
    """The table of randomizations (one row per randomized participant), for row counts."""
    return Randomization._meta.db_table


def list_table() -> str:
    """The table of the stored randomization lists (phase, stratum, checksum)."""
    return RandomizationList._meta.db_table


@dataclass(frozen=True)
class ListVerification:
    phase: str
    stratum: str
    checksum: str
    problem: str  # "" when the stored slots match the recorded checksum


def lists_verified() -> list[ListVerification]:
    """Every stored list, by phase and stratum, with what the randomization app's own verifier
    says of it (services.list_verify)."""
    verified = []
    for rlist in RandomizationList.objects.order_by("phase", "stratum"):
        try:
            list_verify(rlist)
            problem = ""
        except ListTampered as error:
            problem = str(error)
        verified.append(ListVerification(rlist.phase, rlist.stratum, rlist.checksum, problem))
    return verified
