"""The one place where the dashboards read the allocation (SPEC §1, §3).

Everything else in this app is arm-free. The blinded pages never call `arm_path()`; a by-arm
page asks `may_see_arms(user)` first. The randomization app is read lazily, so this app works
(pooled, with the randomized count taken from the visit schedule) while it is not installed.
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Exists, OuterRef, Q

from trialedc.roles import is_blinded


def randomization_model():
    """The randomization app's `Randomization` model, or None before that app is installed."""
    try:
        return apps.get_model("randomization", "Randomization")
    except LookupError:
        return None


def randomized_condition():
    """A filter on `Participant` rows, true for those randomized."""
    if randomization_model() is not None:
        return Q(randomization__isnull=False)
    # Without the randomization app: visits are created at randomization (outcomes.services).
    from outcomes.models import Visit

    return Q(Exists(Visit.objects.filter(participant=OuterRef("pk"), day=0)))


def randomization_paths() -> dict[str, str] | None:
    """Arm-free lookups from a `Randomization` row: date, phase, stratum (None without app)."""
    if randomization_model() is None:
        return None
    return {
        "randomized_at": "randomized_at",
        "phase": "slot__randomization_list__phase",
        "stratum": "slot__randomization_list__stratum",
    }


def arm_path(prefix: str = "") -> str | None:
    """The lookup of a participant's arm, for by-arm aggregates (unblinded viewers only)."""
    if randomization_model() is None:
        return None
    return f"{prefix}randomization__slot__arm"


def may_see_arms(user) -> bool:
    """Two gates: the permission that shows an arm, and a role that is not blinded."""
    return (
        randomization_model() is not None
        and user.has_perm("randomization.view_allocation")
        and not is_blinded(user)
    )
