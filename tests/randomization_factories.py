"""Helpers for randomization tests: lists with chosen arms, randomized participants."""

from __future__ import annotations

from kernel.roles import Role
from kernel.trial import TRIAL
from participants.models import ParticipantStatus
from randomization import blocks, services
from randomization.models import Randomization, RandomizationList

from .factories import ParticipantFactory, SiteFactory, UserFactory

EXOSOME, PLACEBO = (a.code for a in TRIAL.arms)


def statistician():
    return UserFactory(username="stat-helper", role=Role.STATISTICIAN)


def coordinator(site):
    return UserFactory(username=f"coord-helper-{site.code}", role=Role.COORDINATOR, sites=[site])


def _code(prefix: str, number: int) -> str:
    alphabet = TRIAL.envelope_alphabet
    digits = ""
    for _ in range(TRIAL.envelope_length - len(prefix)):
        number, index = divmod(number, len(alphabet))
        digits = alphabet[index] + digits
    return prefix + digits


def rows_with_arms(arms: list[str], *, prefix: str = "TT") -> list[blocks.SlotRow]:
    """A valid list whose arms are exactly `arms`, in blocks of 2 (each pair must be 1:1)."""
    return [
        blocks.SlotRow(i, (i + 1) // 2, 2, arm, _code(prefix, i)) for i, arm in enumerate(arms, 1)
    ]


def _prefix(phase: str, stratum: str) -> str:
    return {"I": "J", "II": "K"}[phase] + {"A": "A", "B": "C"}[stratum]


def store_list(*, phase="I", stratum="A", arms=None, seed=None, user=None) -> RandomizationList:
    user = user or statistician()
    if arms is not None:
        return services.list_store(
            phase=phase,
            stratum=stratum,
            rows=rows_with_arms(arms, prefix=_prefix(phase, stratum)),
            source="imported",
            seed=None,
            user=user,
        )
    return services.list_generate(phase=phase, stratum=stratum, seed=seed or 1, user=user)


def all_lists(seed: int = 7):
    for p in TRIAL.phases:
        for s in TRIAL.strata:
            store_list(phase=p.code, stratum=s.code, seed=seed + len(p.code) * 10 + ord(s.code))


def randomized_participant(*, site=None, support="nasal_cannula", user=None) -> Randomization:
    site = site or SiteFactory(code="01")
    participant = ParticipantFactory(site=site, status=ParticipantStatus.ENROLLED)
    return services.slot_assign(
        participant=participant, user=user or coordinator(site), respiratory_support=support
    )
