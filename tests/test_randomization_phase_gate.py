"""The phase I → II gate (SPEC §10, issue 18): the DSMB's approval opens phase II only when
every phase I slot of both strata is used and each phase I participant has completed the safety
window (the D14 visit done, or follow-up ended by death or withdrawal); recorded by the
statistician/DSMB with the password, a current second factor and the DSMB minutes reference.

Design (registry record IRCT20201202049568N3): phase I 12 (two strata of 6), phase II 60: 72.
"""

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone

from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes.models import EventKind, Visit, VisitState
from randomization import selectors
from randomization.exceptions import (
    ListExhausted,
    PasswordMismatch,
    PhaseGateRefused,
    SecondFactorRefused,
)
from randomization.models import PhaseReview, Randomization

from . import outcomes_factories as of
from .factories import PASSWORD
from .randomization_factories import (
    authenticator,
    code_now,
    dsmb_decision,
    phase_one_filled,
    randomized_participant,
    safety_windows_complete,
    store_list,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    """A stopped clock moved on one TOTP step (30 s) at each `clock.step()`: a code is
    accepted once per step, as an authenticator app gives one."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        traveller.step = lambda: traveller.shift(timedelta(seconds=35))
        yield traveller


@pytest.fixture
def dsmb(make_user):
    user = make_user(Role.STATISTICIAN)
    authenticator(user)
    return user


def test_the_design_is_twelve_in_phase_one_and_sixty_in_phase_two():
    one, two = TRIAL.phase("I"), TRIAL.phase("II")
    assert (one.target_total, one.slots_per_stratum, len(TRIAL.strata)) == (12, 6, 2)
    assert one.target_total + two.target_total == 72
    assert TRIAL.gate_safety_window_visit == "D14"


# -- slots ------------------------------------------------------------------------------------


def test_an_approval_at_six_of_twelve_is_refused_and_phase_two_stays_closed(dsmb, site01):
    # The old gate opened here: stratum B full, stratum A untouched.
    store_list(phase="I", stratum="A", seed=1)
    store_list(phase="I", stratum="B", seed=2)
    for _ in range(6):
        randomized_participant(site=site01, support="none")
    safety_windows_complete()
    with pytest.raises(PhaseGateRefused) as refusal:
        dsmb_decision(user=dsmb)
    assert refusal.value.errors == ["Stratum A: 0 of 6 phase I slots are used."]
    assert not PhaseReview.objects.exists()
    assert not selectors.gated_phase_open()
    with pytest.raises(ListExhausted, match="once the DSMB gate is open: the unblinded"):
        randomized_participant(site=site01, support="none")


def test_an_approval_is_refused_until_the_last_slot_is_used(clock, dsmb, site01):
    phase_one_filled(site=site01)
    last = selectors.gate_readiness().participants[-1]
    # Undo the last assignment of stratum B: 11 of 12 used.
    taken = Randomization.objects.get(slot__number=last.number)
    Visit.objects.filter(participant=taken.participant).delete()
    taken.delete()
    with pytest.raises(PhaseGateRefused) as refusal:
        dsmb_decision(user=dsmb)
    assert refusal.value.errors == ["Stratum B: 5 of 6 phase I slots are used."]
    randomized_participant(site=site01, support="nasal_cannula")
    safety_windows_complete()
    clock.step()
    review = dsmb_decision(user=dsmb)
    assert selectors.gated_phase_open()
    assert review.readiness["ready"] is True
    assert [s["used"] for s in review.readiness["strata"]] == [6, 6]


# -- the safety window ------------------------------------------------------------------------


def test_an_approval_is_refused_while_a_safety_window_is_open(dsmb, site01):
    taken = phase_one_filled(site=site01)
    open_one, missed_one = taken[0].participant, taken[1].participant
    Visit.objects.filter(participant=open_one, code="D14").update(state=VisitState.SCHEDULED)
    Visit.objects.filter(participant=missed_one, code="D14").update(
        state=VisitState.MISSED, missed_reason="Transferred to another hospital"
    )
    window_end = Visit.objects.get(participant=open_one, code="D14").window_end
    with pytest.raises(PhaseGateRefused) as refusal:
        dsmb_decision(user=dsmb)
    assert refusal.value.errors == [
        f"{open_one.study_id} ({taken[0].slot.number}): the safety window is not complete: "
        f"the D14 visit is not done yet (its window closes {window_end.isoformat()}).",
        f"{missed_one.study_id} ({taken[1].slot.number}): the safety window is not complete: "
        "the D14 visit was missed (only a D14 visit done, a death or a withdrawal completes it).",
    ]
    assert not PhaseReview.objects.exists()


@pytest.mark.parametrize("kind", [EventKind.DEATH, EventKind.WITHDRAWAL])
def test_death_or_withdrawal_ends_the_safety_window_and_the_gate_may_open(dsmb, site01, kind):
    taken = phase_one_filled(site=site01)
    ended = taken[0].participant
    Visit.objects.filter(participant=ended, code="D14").update(state=VisitState.SCHEDULED)
    with pytest.raises(PhaseGateRefused, match="Nothing was recorded"):
        dsmb_decision(user=dsmb)  # refused before the code is checked: the same code serves
    # On Day 0 itself (randomized today here; an event cannot be dated in the future).
    of.event(ended, kind, taken[0].day0)
    window = next(
        p for p in selectors.gate_readiness().participants if p.study_id == ended.study_id
    )
    assert (window.window.complete, window.window.ended_by) == (True, kind)
    review = dsmb_decision(user=dsmb)
    assert selectors.gated_phase_open()
    recorded = next(p for p in review.readiness["participants"] if p["study_id"] == ended.study_id)
    assert (recorded["ended_by"], recorded["visit_state"]) == (kind, VisitState.SCHEDULED)


def test_loss_to_follow_up_does_not_end_the_safety_window(dsmb, site01):
    # SPEC §10 names death and withdrawal: a participant lost before day 14 has no known safety.
    taken = phase_one_filled(site=site01)
    lost = taken[0].participant
    Visit.objects.filter(participant=lost, code="D14").update(state=VisitState.SCHEDULED)
    of.event(lost, EventKind.LOST_TO_FOLLOW_UP, taken[0].day0)  # today: not in the future
    with pytest.raises(PhaseGateRefused, match="Nothing was recorded"):
        dsmb_decision(user=dsmb)


# -- who, password, second factor, minutes ---------------------------------------------------


@pytest.mark.parametrize("minutes", ["", "   "])
def test_the_minutes_reference_is_required(dsmb, site01, minutes):
    phase_one_filled(site=site01)
    with pytest.raises(PhaseGateRefused) as refusal:
        dsmb_decision(user=dsmb, minutes=minutes)
    assert refusal.value.errors == [
        "Give the DSMB minutes reference (number and date of the minutes)."
    ]
    assert not PhaseReview.objects.exists()


def test_a_wrong_password_is_refused(dsmb, site01):
    phase_one_filled(site=site01)
    with pytest.raises(PasswordMismatch):
        dsmb_decision(user=dsmb, password="not-the-password")
    assert not PhaseReview.objects.exists()


def test_a_wrong_or_reused_second_factor_is_refused_and_logged(clock, dsmb, site01):
    phase_one_filled(site=site01)
    with pytest.raises(SecondFactorRefused, match="This code is not right"):
        dsmb_decision(user=dsmb, second_factor_code="000000")
    with pytest.raises(SecondFactorRefused):
        dsmb_decision(user=dsmb, second_factor_code="")
    assert not PhaseReview.objects.exists()
    assert SecurityEvent.objects.filter(
        kind=SecurityEventKind.TWO_FACTOR_FAILED, detail__for="phase gate"
    ).exists()
    clock.step()
    clock.shift(timedelta(seconds=5))  # past the wait after the wrong codes
    code = code_now(authenticator(dsmb))
    dsmb_decision(user=dsmb, second_factor_code=code)
    with pytest.raises(SecondFactorRefused):  # a code works once
        dsmb_decision(user=dsmb, second_factor_code=code, decision="not_approved")
    assert PhaseReview.objects.count() == 1


def test_without_a_second_factor_set_up_nothing_is_recorded(make_user, site01):
    phase_one_filled(site=site01)
    statistician = make_user(Role.STATISTICIAN)
    with pytest.raises(SecondFactorRefused, match="set up two-factor sign-in"):
        dsmb_decision(user=statistician, second_factor_code="123456")
    assert not PhaseReview.objects.exists()


def test_only_the_statistician_dsmb_records_the_decision(make_user, site01):
    phase_one_filled(site=site01)
    data_manager = make_user(Role.DATA_MANAGER)
    authenticator(data_manager)
    with pytest.raises(PhaseGateRefused) as refusal:
        dsmb_decision(user=data_manager)
    assert refusal.value.errors == [
        "Only the unblinded statistician / DSMB records the DSMB's decision."
    ]


def test_a_not_approved_decision_may_be_recorded_before_the_gate_is_ready(dsmb, site01):
    review = dsmb_decision(user=dsmb, decision="not_approved", minutes="DSMB 1/2021")
    assert review.readiness["ready"] is False
    assert not selectors.gated_phase_open()


def test_the_audit_trail_records_who_when_the_minutes_and_the_second_factor(dsmb, site01):
    phase_one_filled(site=site01)
    before = timezone.now()
    review = dsmb_decision(user=dsmb, minutes="DSMB minutes 4/2021, 2021-04-08")
    history = review.history.get()
    assert (history.history_user, history.history_type) == (dsmb, "+")
    assert history.history_date >= before
    assert history.document_reference == "DSMB minutes 4/2021, 2021-04-08"
    assert (history.second_factor, history.recorded_by) == ("app", dsmb)
    assert len(history.readiness["participants"]) == 12
    assert SecurityEvent.objects.filter(
        kind=SecurityEventKind.TWO_FACTOR_VERIFIED, detail__for="phase gate", user=dsmb
    ).exists()


# -- the page ---------------------------------------------------------------------------------


def signed_in_with_code(client, user, clock) -> None:
    """Password, then the code (a user with a second factor gives it at sign-in); the clock
    moves on one step so that the next code is a new one."""
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    response = client.post("/account/two-factor/verify/", {"code": code_now(authenticator(user))})
    assert response.status_code == 302, response.content[:400]
    clock.step()


def gate_post(client, **overrides):
    data = {
        "review_date": "2021-04-08",
        "decision": "approved",
        "document_reference": "DSMB minutes 3/2021",
        "password": PASSWORD,
    }
    return client.post("/randomization/phase-gate/", data | overrides)


def test_the_page_shows_the_checklist_and_refuses_with_every_reason(clock, client, dsmb, site01):
    store_list(phase="I", stratum="A", seed=1)
    store_list(phase="I", stratum="B", seed=2)
    first = randomized_participant(site=site01, support="none")
    signed_in_with_code(client, dsmb, clock)
    page = client.get("/randomization/phase-gate/").content.decode()
    assert 'data-testid="gate">closed' in page
    assert 'data-testid="gate-ready">not ready' in page
    assert "Stratum A: slots used 0/6" in page
    assert "Stratum B: slots used 1/6" in page
    assert first.participant.study_id in page
    assert "missing: the D14 visit is not done yet" in page
    assert 'name="otp_code"' in page
    response = gate_post(client, otp_code=code_now(authenticator(dsmb)))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Stratum A: 0 of 6 phase I slots are used." in body
    assert "Stratum B: 1 of 6 phase I slots are used." in body
    assert f"{first.participant.study_id} ({first.slot.number})" in body
    assert 'value="DSMB minutes 3/2021"' in body  # what was typed is kept
    assert not PhaseReview.objects.exists()


def test_the_page_opens_the_gate_with_password_code_and_minutes(clock, client, dsmb, site01):
    phase_one_filled(site=site01)
    signed_in_with_code(client, dsmb, clock)
    page = client.get("/randomization/phase-gate/").content.decode()
    assert 'data-testid="gate-ready">ready' in page
    assert page.count("complete: D14 visit done") == 12
    wrong = gate_post(client, otp_code="000000").content.decode()
    assert "This code is not right" in wrong
    missing = gate_post(client, document_reference="", otp_code="123456").content.decode()
    assert "This field is required." in missing
    assert not PhaseReview.objects.exists()
    clock.step()
    clock.shift(timedelta(seconds=5))
    response = gate_post(client, otp_code=code_now(authenticator(dsmb)))
    assert response.status_code == 302
    page = client.get("/randomization/phase-gate/").content.decode()
    assert 'data-testid="gate">open' in page
    assert "DSMB minutes 3/2021" in page
    review = PhaseReview.objects.get()
    assert (review.recorded_by, review.document_reference, review.review_date) == (
        dsmb,
        "DSMB minutes 3/2021",
        date(2021, 4, 8),
    )


def test_a_statistician_without_a_second_factor_is_told_to_set_it_up(client, login, make_user):
    login(make_user(Role.STATISTICIAN))
    page = client.get("/randomization/phase-gate/").content.decode()
    assert 'data-testid="gate-needs-second-factor"' in page
    body = gate_post(client, decision="not_approved").content.decode()
    assert "set up two-factor sign-in" in body
    assert not PhaseReview.objects.exists()


def test_a_blinded_role_cannot_open_the_gate_page(client, login, make_user, site01):
    login(make_user(Role.COORDINATOR))
    assert client.get("/randomization/phase-gate/").status_code == 403
    assert gate_post(client).status_code == 403
    assert not PhaseReview.objects.exists()
