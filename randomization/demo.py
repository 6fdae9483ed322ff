"""Demo data of the randomization app: lists from a fixed seed, the enrolled demo participants
randomized (for `manage.py load_demo`; plausible, never real)."""

from __future__ import annotations

import random

from participants.models import Participant, ParticipantStatus
from trialedc.models import User
from trialedc.roles import Role
from trialedc.trial import TRIAL

from . import services
from .exceptions import RandomizationError
from .models import RandomizationList


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
    enrolled = Participant.objects.filter(status=ParticipantStatus.ENROLLED).select_related("site")
    for participant in enrolled.order_by("study_id"):
        coordinator = (
            User.objects.filter(groups__name=Role.COORDINATOR.value, sites=participant.site)
            .order_by("username")
            .first()
        )
        if coordinator is None:
            continue
        try:
            services.slot_assign(
                participant=participant,
                user=coordinator,
                respiratory_support=rng.choice(supports),
            )
        except RandomizationError:
            continue  # a full list or phase: the participant stays enrolled, as on the ward
        randomized += 1
    return f"{made} randomization lists, {randomized} participants randomized"
