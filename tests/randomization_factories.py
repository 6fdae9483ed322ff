"""Helpers for randomization tests: lists with chosen arms, randomized participants."""

from __future__ import annotations

import time
from binascii import unhexlify
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.db import connection
from django.test import RequestFactory
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes.models import Visit, VisitState
from participants.models import ParticipantStatus
from randomization import blocks, services
from randomization.models import PhaseReview, Randomization, RandomizationList

from .factories import PASSWORD, ParticipantFactory, SiteFactory, UserFactory

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


# -- the phase gate ----------------------------------------------------------------------------


def phase_two_opened(*, user=None) -> PhaseReview:
    """The DSMB's approval of phase I written directly, for tests of phase II itself. The gate's
    own rule (checklist, password, second factor) is tested in test_randomization_phase_gate.py."""
    return PhaseReview.objects.create(
        phase=TRIAL.gate_review_of_phase,
        review_date=date(2021, 4, 8),
        decision="approved",
        document_reference="DSMB minutes (test set-up)",
        recorded_by=user or statistician(),
    )


def phase_one_filled(*, site, windows_complete=True) -> list[Randomization]:
    """Every phase I slot of both strata used (lists made if absent); each participant's D14
    visit marked done when `windows_complete` (a test set-up: the state the gate reads)."""
    phase = TRIAL.phase(TRIAL.gate_review_of_phase)
    for s in TRIAL.strata:
        if not RandomizationList.objects.filter(phase=phase.code, stratum=s.code).exists():
            store_list(phase=phase.code, stratum=s.code, seed=ord(s.code))
    supports = {"A": "invasive_ventilation", "B": "nasal_cannula"}
    taken = []
    for s in TRIAL.strata:
        used = Randomization.objects.filter(
            slot__randomization_list__phase=phase.code, slot__randomization_list__stratum=s.code
        ).count()
        for _ in range(phase.slots_per_stratum - used):
            taken.append(randomized_participant(site=site, support=supports[s.code]))
    if windows_complete:
        safety_windows_complete()
    return taken


def safety_windows_complete() -> None:
    Visit.objects.filter(
        code=TRIAL.gate_safety_window_visit,
        participant__randomization__slot__randomization_list__phase=TRIAL.gate_review_of_phase,
    ).update(state=VisitState.DONE)


def authenticator(user) -> TOTPDevice:
    """A set-up authenticator app (as if enrolled a while ago)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def code_now(device: TOTPDevice, *, later_steps: int = 0) -> str:
    """The six digits the app shows now (RFC 6238), as tests/test_two_factor.py computes them;
    `later_steps` on, the code it will show 30 s later each."""
    totp = TOTP(unhexlify(device.key))
    totp.time = time.time() + 30 * later_steps
    return f"{totp.token():06d}"


def dsmb_decision(*, user, decision="approved", minutes="DSMB minutes 3/2021", **overrides):
    """The DSMB's decision through the service, signed with the password and a current code."""
    request = RequestFactory().post("/randomization/phase-gate/")
    request.user = user
    arguments = {
        "phase": TRIAL.gate_review_of_phase,
        "review_date": date(2021, 4, 8),
        "decision": decision,
        "document_reference": minutes,
        "user": user,
        "password": PASSWORD,
        "request": request,
    }
    if "second_factor_code" not in overrides:
        arguments["second_factor_code"] = code_now(authenticator(user))
    return services.phase_review_record(**(arguments | overrides))


@contextmanager
def behind_the_triggers() -> Iterator[None]:
    """Edit stored slots or a list's checksum as only someone with the database's superuser
    rights could: with the triggers off for this session (`session_replication_role =
    replica`; migration 0005 refuses any other change). Tests use it to tamper, then prove the
    verifier and the slot seals still catch it, or to give every slot the other arm."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
