"""What the export may know of the randomization: phase, stratum, and the arm after unblinding.

The randomization app owns the allocation. This module asks it through its selectors and the
`Randomization → Slot → RandomizationList` relation, so that the export never reaches `Slot.arm`
unless `trial_unblinded()` says the whole trial is unblinded (SPEC §3, §8). Fail closed: if the
randomization app cannot answer, the trial counts as blinded and the columns stay empty.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef


def _randomization_selectors():
    try:
        from randomization import selectors
    except ImportError:
        return None
    return selectors if hasattr(selectors, "trial_unblinded") else None


def trial_unblinded() -> bool:
    selectors = _randomization_selectors()
    return bool(selectors and selectors.trial_unblinded())


def participant_annotations(*, with_arm: bool) -> dict:
    """Annotations of a Participant queryset: phase, stratum, emergency unblinding (yes/no),
    and the arm if `with_arm`."""
    if _randomization_selectors() is None:
        return {}
    from randomization.models import EmergencyUnblinding

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
        annotations["arm"] = F("randomization__slot__arm")
    return annotations
