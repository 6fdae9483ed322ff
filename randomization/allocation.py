"""The one reader of the allocation for the other apps (SPEC §1, §3, §8).

Exports and dashboards learn what they may know of the randomization here, and nowhere else:
arm-free lookups (randomized or not, when, phase, stratum, emergency unblinding yes/no) for
everyone; the arm only through `arm_path()` and `participant_annotations(with_arm=True)`, which a
caller asks for only after one of the two gates has said yes — `may_see_arms(user)` for a page
(the permission that shows an arm and a role that is not blinded) or `trial_unblinded()` for
the sponsor's export (both confirmations of trial-level unblinding recorded).
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q

from kernel.roles import is_blinded

from . import selectors
from .models import EmergencyUnblinding

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
