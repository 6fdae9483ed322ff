"""Assignment (services.slot_assign) and the coordinator's two-step randomize page."""

from datetime import date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes.models import Visit
from outcomes.schedule import visit_dates
from participants.models import ParticipantStatus
from randomization import services
from randomization.exceptions import (
    AlreadyRandomized,
    ListExhausted,
    ListTampered,
    NoList,
    NotRandomizable,
    PhaseClosed,
    PhaseGateRefused,
)
from randomization.models import Randomization, Slot

from .factories import ParticipantFactory, UserFactory
from .randomization_factories import (
    EXOSOME,
    PLACEBO,
    all_lists,
    behind_the_triggers,
    coordinator,
    dsmb_decision,
    phase_two_opened,
    safety_windows_complete,
    store_list,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def coord(roles, site01):
    return coordinator(site01)


def enrolled(site, **kwargs):
    return ParticipantFactory(site=site, status=ParticipantStatus.ENROLLED, **kwargs)


def assign(participant, user, support="nasal_cannula"):
    return services.slot_assign(participant=participant, user=user, respiratory_support=support)


def test_it_takes_the_next_free_slot_in_sequence_order_of_the_stratum_list(coord, site01):
    store_list(phase="I", stratum="A", arms=[EXOSOME, PLACEBO] * 3)
    store_list(phase="I", stratum="B", arms=[PLACEBO, EXOSOME] * 3)
    first = assign(enrolled(site01), coord, "invasive_ventilation")
    second = assign(enrolled(site01), coord, "none")
    third = assign(enrolled(site01), coord, "non_invasive_ventilation")
    assert (first.slot.randomization_list.stratum, first.slot.sequence) == ("A", 1)
    assert (second.slot.randomization_list.stratum, second.slot.sequence) == ("B", 1)
    assert (third.slot.randomization_list.stratum, third.slot.sequence) == ("A", 2)
    assert third.slot.number == "A-002"


@pytest.mark.parametrize(
    ("support", "stratum"),
    [
        ("invasive_ventilation", "A"),
        ("non_invasive_ventilation", "A"),
        ("high_flow_nasal_oxygen", "B"),
        ("face_mask", "B"),
        ("nasal_cannula", "B"),
        ("none", "B"),
    ],
)
def test_the_respiratory_support_decides_the_stratum(coord, site01, support, stratum):
    all_lists()
    randomization = assign(enrolled(site01), coord, support)
    assert randomization.slot.randomization_list.stratum == stratum
    assert randomization.respiratory_support == support


def test_it_marks_the_participant_randomized_with_a_reason_in_the_audit_trail(coord, site01):
    all_lists()
    participant = enrolled(site01)
    assign(participant, coord)
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.RANDOMIZED
    last = participant.history.order_by("-history_date").first()
    assert last.history_change_reason == "Randomized"
    assert last.history_user == coord


def test_day0_is_the_date_at_the_site_and_the_visit_schedule_is_created(coord, site01):
    all_lists()
    participant = enrolled(site01)
    # 22:00 UTC on 1 March is already 2 March in Tehran (UTC+3:30).
    late_evening = datetime(2021, 3, 1, 22, 0, tzinfo=ZoneInfo("UTC"))
    with mock.patch.object(timezone, "now", return_value=late_evening):
        randomization = assign(participant, coord)
    assert randomization.day0 == date(2021, 3, 2)
    # The schedule is made from that Day 0 (in the database since issue 24: it no longer goes
    # through outcomes.services.visit_schedule_create; the dates are outcomes.schedule's).
    visits = list(Visit.objects.filter(participant=participant).order_by("day"))
    assert [v.code for v in visits] == [c.code for c in TRIAL.visits]
    for visit, config in zip(visits, TRIAL.visits, strict=True):
        assert (visit.target_date, visit.window_start, visit.window_end) == visit_dates(
            day0=date(2021, 3, 2),
            day=config.day,
            window_before=config.window_before,
            window_after=config.window_after,
        )


@pytest.mark.parametrize(
    "status", ["screened", "eligible", "consented", "withdrawn", "completed", "died"]
)
def test_only_an_enrolled_participant_can_be_randomized(coord, site01, status):
    all_lists()
    participant = ParticipantFactory(site=site01, status=status)
    with pytest.raises(NotRandomizable, match="only an enrolled participant"):
        assign(participant, coord)
    assert not Randomization.objects.exists()


def test_nobody_is_randomized_twice(coord, site01):
    all_lists()
    participant = enrolled(site01)
    assign(participant, coord)
    participant.refresh_from_db()
    participant.status = ParticipantStatus.ENROLLED  # even if the status were wrongly reset
    participant.save = None  # (not saved: the check reads the database)
    with pytest.raises(AlreadyRandomized):
        assign(participant, coord)
    assert Randomization.objects.count() == 1


def test_the_database_refuses_a_second_slot_for_a_participant_or_participant_for_a_slot(
    coord, site01
):
    from django.db import IntegrityError, transaction

    all_lists()
    taken = assign(enrolled(site01), coord)
    free = Slot.objects.filter(randomization__isnull=True).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Randomization.objects.create(
            participant=taken.participant,
            slot=free,
            respiratory_support="none",
            day0=taken.day0,
            randomized_at=taken.randomized_at,
            randomized_by=coord,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Randomization.objects.create(
            participant=enrolled(site01),
            slot=taken.slot,
            respiratory_support="none",
            day0=taken.day0,
            randomized_at=taken.randomized_at,
            randomized_by=coord,
        )


def test_a_coordinator_of_another_site_cannot_randomize(roles, site01, site02):
    all_lists()
    other = UserFactory(username="c2", role=Role.COORDINATOR, sites=[site02])
    with pytest.raises(NotRandomizable, match="site you are not assigned to"):
        assign(enrolled(site01), other)


def test_without_a_list_it_says_so(coord, site01):
    with pytest.raises(NoList, match="no randomization list for phase I, stratum B"):
        assign(enrolled(site01), coord)
    assert enrolled(site01).status == ParticipantStatus.ENROLLED


def test_a_full_phase_one_stratum_waits_for_the_gate(coord, site01):
    all_lists()
    for _ in range(6):
        assign(enrolled(site01), coord, "none")
    waiting = enrolled(site01)
    with pytest.raises(
        ListExhausted, match="once the DSMB gate is open: the unblinded statistician"
    ):
        assign(waiting, coord, "none")
    waiting.refresh_from_db()
    assert waiting.status == ParticipantStatus.ENROLLED


def test_phase_two_opens_on_an_approved_review_only_when_phase_one_is_complete(
    coord, site01, roles
):
    all_lists()
    for _ in range(6):
        assign(enrolled(site01), coord, "none")
    statistician = UserFactory(username="dsmb", role=Role.STATISTICIAN)
    dsmb_decision(user=statistician, decision="not_approved", minutes="DSMB-1")
    with pytest.raises(ListExhausted):
        assign(enrolled(site01), coord, "none")
    # 6 of 12 used: an approval is refused (issue 18), and phase II stays closed.
    with pytest.raises(PhaseGateRefused) as refusal:
        dsmb_decision(user=statistician, decision="approved", minutes="DSMB-2")
    assert refusal.value.errors[0] == "Stratum A: 0 of 6 phase I slots are used."
    assert len(refusal.value.errors) == 1 + 6  # and each stratum B window still open
    with pytest.raises(ListExhausted):
        assign(enrolled(site01), coord, "none")
    for _ in range(6):
        assign(enrolled(site01), coord, "invasive_ventilation")
    safety_windows_complete()
    with time_machine.travel(timezone.now() + timedelta(seconds=70), tick=False):
        dsmb_decision(user=statistician, decision="approved", minutes="DSMB-2")
    randomization = assign(enrolled(site01), coord, "none")
    assert randomization.slot.randomization_list.phase == "II"
    assert randomization.slot.number == "B-007"


def test_phase_one_closes_at_twelve(coord, site01):
    all_lists()
    for support in ["none"] * 6 + ["invasive_ventilation"] * 6:
        assign(enrolled(site01), coord, support)
    # The refusal says why and where randomization goes on from: the DSMB gate, and who opens it.
    with pytest.raises(
        (PhaseClosed, ListExhausted),
        match=r"DSMB gate is open: the unblinded statistician \(DSMB\) records .* Phase gate page",
    ):
        assign(enrolled(site01), coord, "none")


def test_phase_two_closes_at_sixty_across_strata(coord, site01, roles):
    all_lists()
    phase_two_opened()
    for i in range(60):
        assign(enrolled(site01), coord, "none" if i % 2 else "invasive_ventilation")
    with pytest.raises(PhaseClosed, match="Phase II is full: 60"):
        assign(enrolled(site01), coord, "none")


def test_the_verifier_refuses_a_tampered_list(coord, site01):
    all_lists()
    slot = Slot.objects.get(
        randomization_list__phase="I", randomization_list__stratum="B", sequence=1
    )
    other = PLACEBO if slot.arm == EXOSOME else EXOSOME
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(arm=other)  # the database refuses it
    with behind_the_triggers():  # as only the database's superuser could
        Slot.objects.filter(pk=slot.pk).update(arm=other)
    participant = enrolled(site01)
    with pytest.raises(ListTampered, match="does not match the checksum"):
        assign(participant, coord, "none")
    assert not Randomization.objects.exists()


# -- the page ---------------------------------------------------------------------------------


def test_the_page_asks_then_confirms_then_shows_number_envelope_and_day0(
    client, login, coord, site01
):
    all_lists()
    participant = enrolled(site01)
    login(coord)
    url = f"/randomization/participant/{participant.study_id}/randomize/"
    page = client.get(url).content.decode()
    assert "Respiratory support now" in page
    step2 = client.post(url, {"respiratory_support": "face_mask"}).content.decode()
    assert "Confirm randomization" in step2
    assert "Nasal cannula or no respiratory support" in step2
    assert not Randomization.objects.exists()  # nothing taken before the confirmation
    unticked = client.post(url, {"respiratory_support": "face_mask", "confirm_step": "1"})
    assert "Tick the box to confirm" in unticked.content.decode()
    assert not Randomization.objects.exists()
    done = client.post(
        url, {"respiratory_support": "face_mask", "confirm_step": "1", "confirm": "on"}, follow=True
    )
    body = done.content.decode()
    randomization = Randomization.objects.get()
    assert f"{randomization.slot.number} · envelope" in body
    assert randomization.slot.envelope_code in body
    assert f"Day 0 = {randomization.day0:%Y-%m-%d}" in body
    assert "exosome" not in body.lower().replace("exosome therapy", "")


def test_a_missing_choice_is_a_clear_message(client, login, coord, site01):
    all_lists()
    participant = enrolled(site01)
    login(coord)
    response = client.post(f"/randomization/participant/{participant.study_id}/randomize/", {})
    assert response.status_code == 200
    assert "Choose the respiratory support at randomization." in response.content.decode()


def test_a_full_list_is_a_message_on_the_page_not_an_error_page(client, login, coord, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    for _ in range(6):
        assign(enrolled(site01), coord, "none")
    participant = enrolled(site01)
    login(coord)
    response = client.post(
        f"/randomization/participant/{participant.study_id}/randomize/",
        {"respiratory_support": "none", "confirm_step": "1", "confirm": "on"},
    )
    assert response.status_code == 200
    assert "Every slot of phase I, stratum B is taken" in response.content.decode()


def test_a_randomized_participant_goes_to_the_status_page(client, login, coord, site01):
    all_lists()
    participant = enrolled(site01)
    assign(participant, coord)
    login(coord)
    response = client.get(f"/randomization/participant/{participant.study_id}/randomize/")
    assert response.status_code == 302
    assert response["Location"] == f"/randomization/participant/{participant.study_id}/"


def test_a_randomization_may_be_dated_earlier_but_never_in_the_future(db, roles, site01):
    from datetime import timedelta

    from django.utils import timezone

    from randomization.exceptions import NotRandomizable

    from .factories import ParticipantFactory, UserFactory
    from .randomization_factories import EXOSOME, PLACEBO, store_list

    statistician = UserFactory(username="stat-dated", role=Role.STATISTICIAN)
    coordinator = UserFactory(username="coord-dated", role=Role.COORDINATOR, sites=[site01])
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3, user=statistician)
    participant = ParticipantFactory(site=site01)
    with pytest.raises(NotRandomizable, match="future"):
        services.slot_assign(
            participant=participant,
            user=coordinator,
            respiratory_support="none",
            randomized_at=timezone.now() + timedelta(hours=1),
        )
    earlier = timezone.now() - timedelta(days=10)
    randomization = services.slot_assign(
        participant=participant,
        user=coordinator,
        respiratory_support="none",
        randomized_at=earlier,
    )
    assert randomization.randomized_at == earlier
    assert participant.visits.get(day=0).target_date == randomization.day0
