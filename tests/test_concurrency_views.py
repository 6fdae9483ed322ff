"""No lost updates (issue 26), tried as two people would: two browsers (test clients) signed in
as two users open the same record, one saves, then the other, whose form was opened before that
save. The second save is refused with the conflict panel, every value typed is kept, nothing is
written, and the audit trail never shows a value reverted by someone who did not see it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from kernel.roles import Role
from outcomes.models import BloodGas
from participants.models import IdentifyingData
from safety import services as safety_services
from safety.models import AdverseEvent

from . import outcomes_factories as of
from .factories import ParticipantFactory, UserFactory
from .fuzz_http import form_fields
from .safety_factories import ae_data

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def opened(client, path: str) -> dict:
    """Open the page and return what its form would post as it stands (the browser's view)."""
    response = client.get(path)
    assert response.status_code == 200, path
    fields = form_fields(response.content.decode(), path)
    return {
        name: (f.initial if f.kind in ("checkbox", "select-multiple") else f.initial[0])
        for name, f in fields.items()
        if f.initial and f.kind not in ("button", "submit")
    }


def history_count(record) -> int:
    return record.history.count()


@pytest.fixture
def people(roles, site01):
    return {
        "investigator": UserFactory(
            username="investigator", role=Role.INVESTIGATOR, sites=[site01], first_name="Ida"
        ),
        "coordinator": UserFactory(
            username="coordinator", role=Role.COORDINATOR, sites=[site01], first_name="Cyrus"
        ),
    }


@pytest.fixture
def participant(site01):
    p = ParticipantFactory(site=site01)
    of.schedule(p)
    return p


# -- the scenario: the Day-0 blood gas of 01-0001 ----------------------------------------


@pytest.fixture
def blood_gas(participant):
    return of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("82"), fio2=Decimal("0.60"))


def abg_url(participant) -> str:
    return f"/outcomes/participants/{participant.study_id}/visits/D0/blood_gas/"


def test_the_second_save_of_a_blood_gas_is_refused_and_pao2_is_not_reverted(
    people, participant, blood_gas
):
    url = abg_url(participant)
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    theirs = opened(investigator, url)
    mine = opened(coordinator, url)  # opened before the investigator saves

    response = investigator.post(
        url,
        theirs
        | {"pao2_mmhg": "77", "action": "complete", "reason_for_change": "Re-read the printout"},
    )
    assert response.status_code == 302
    saved = history_count(blood_gas)

    response = coordinator.post(
        url, mine | {"fio2": "0.55", "action": "complete", "reason_for_change": "corrects FiO₂"}
    )
    assert response.status_code == 200  # not saved: the form again
    blood_gas.refresh_from_db()
    assert (blood_gas.pao2_mmhg, blood_gas.fio2) == (Decimal("77"), Decimal("0.600"))
    assert history_count(blood_gas) == saved  # nothing written, not even an audit row
    page = response.content.decode()
    panel = page[page.index('data-testid="edit-conflict"') :]
    assert "Re-read the printout" in panel
    assert "Ida" in panel
    assert 'data-testid="conflict-pao2_mmhg"' in panel
    # FiO₂ was not touched by the investigator, but P/F reads it with PaO₂: asked, not merged.
    assert 'data-testid="conflict-fio2"' in panel
    form = response.context["form"]
    assert form["fio2"].value() == "0.55"  # every value typed is kept
    assert form["reason_for_change"].value() == "corrects FiO₂"
    rows = {row["field"].name: row["field"] for row in form.edit_conflict_rows}
    assert (rows["pao2_mmhg"].opened, rows["pao2_mmhg"].current) == ("82.0", "77.0")
    assert rows["pao2_mmhg"].typed == "82.0"  # untouched: the value the form was opened with
    assert rows["fio2"].linked_to

    # The coordinator keeps the investigator's PaO₂ and their own FiO₂, and saves again.
    again = form_fields(page, url)
    answer = {n: f.initial[0] for n, f in again.items() if f.kind == "hidden"}
    response = coordinator.post(
        url,
        mine
        | answer
        | {
            "fio2": "0.55",
            "keep__pao2_mmhg": "theirs",
            "keep__fio2": "mine",
            "action": "complete",
            "reason_for_change": "corrects FiO₂",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    blood_gas.refresh_from_db()
    assert (blood_gas.pao2_mmhg, blood_gas.fio2) == (Decimal("77"), Decimal("0.550"))
    assert blood_gas.pf_ratio == Decimal("140.0")  # 77 / 0.55
    last, before = blood_gas.history.order_by("-history_id")[:2]
    assert last.history_user == people["coordinator"]
    assert last.history_change_reason == "corrects FiO₂"
    # The coordinator's save changed FiO₂ (and the P/F it gives), never PaO₂.
    changed = {c.field for c in last.diff_against(before).changes}
    assert "fio2" in changed
    assert "pao2_mmhg" not in changed


def test_a_conflict_answered_without_a_choice_is_asked_again_and_writes_nothing(
    people, participant, blood_gas
):
    url = abg_url(participant)
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    theirs, mine = opened(investigator, url), opened(coordinator, url)
    investigator.post(url, theirs | {"pao2_mmhg": "77", "reason_for_change": "Printout"})
    page = coordinator.post(url, mine | {"fio2": "0.55", "reason_for_change": "FiO₂"})
    answer = {
        n: f.initial[0]
        for n, f in form_fields(page.content.decode(), url).items()
        if f.kind == "hidden"
    }
    saved = history_count(blood_gas)
    response = coordinator.post(
        url, mine | answer | {"fio2": "0.55", "keep__fio2": "mine", "reason_for_change": "FiO₂"}
    )
    assert response.status_code == 200
    assert history_count(blood_gas) == saved
    assert "Choose which value of" in response.content.decode()
    assert 'data-testid="conflict-pao2_mmhg"' in response.content.decode()  # shown again


def test_a_change_to_a_field_nobody_else_touched_merges_without_asking(people, participant):
    baseline = of.crf(
        participant,
        "D0",
        "baseline",
        sex="female",
        age_years=54,
        weight_kg=Decimal("70"),
        height_cm=165,
        respiratory_support="invasive_ventilation",
    )
    url = f"/outcomes/participants/{participant.study_id}/visits/D0/baseline/"
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    theirs, mine = opened(investigator, url), opened(coordinator, url)
    investigator.post(
        url, theirs | {"weight_kg": "72", "action": "complete", "reason_for_change": "Scale"}
    )
    response = coordinator.post(
        url, mine | {"height_cm": "166", "action": "complete", "reason_for_change": "Chart"}
    )
    assert response.status_code == 302, [
        (r["field"].name, r["field"].opened, r["field"].current, r["field"].typed)
        for r in response.context["form"].edit_conflict_rows
    ]
    baseline.refresh_from_db()
    assert (baseline.weight_kg, baseline.height_cm) == (Decimal("72"), 166)


def test_two_people_entering_the_same_new_crf_do_not_overwrite_each_other(people, participant):
    url = abg_url(participant)
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    theirs, mine = opened(investigator, url), opened(coordinator, url)
    # A Day-0 assessment is timed to be complete (issue 18).
    investigator.post(
        url,
        theirs | {"pao2_mmhg": "80", "fio2": "0.5", "assessed_time": "00:05", "action": "complete"},
    )
    response = coordinator.post(url, mine | {"pao2_mmhg": "85", "fio2": "0.5", "action": "draft"})
    assert response.status_code == 200, response.context["form"].errors
    crf = BloodGas.objects.get(visit__participant=participant, visit__code="D0")
    assert crf.pao2_mmhg == 80
    assert crf.is_complete
    form = response.context["form"]
    assert "reason_for_change" in form.fields  # it is someone's record now: a reason is needed
    assert {r["field"].name for r in form.edit_conflict_rows} >= {"pao2_mmhg", "status"}


@pytest.mark.parametrize("token", [None, "", "forged", "eyJ1IjoxfQ:1abc:xyz"])
def test_a_missing_or_forged_version_is_refused_cleanly_and_writes_nothing(
    people, participant, blood_gas, token
):
    url = abg_url(participant)
    coordinator = browser(people["coordinator"])
    data = opened(coordinator, url) | {"pao2_mmhg": "90", "reason_for_change": "Typo"}
    if token is None:
        del data["edit_version"]
    else:
        data["edit_version"] = token
    saved = history_count(blood_gas)
    response = coordinator.post(url, data)
    assert response.status_code == 200
    assert history_count(blood_gas) == saved
    assert "does not say which version" in response.content.decode()
    assert 'data-testid="conflict-pao2_mmhg"' in response.content.decode()


def test_a_version_issued_to_someone_else_is_not_accepted(people, participant, blood_gas):
    url = abg_url(participant)
    data = opened(browser(people["investigator"]), url)
    coordinator = browser(people["coordinator"])
    saved = history_count(blood_gas)
    response = coordinator.post(url, data | {"pao2_mmhg": "90", "reason_for_change": "Typo"})
    assert response.status_code == 200
    assert history_count(blood_gas) == saved


# -- an adverse event --------------------------------------------------------------------------


@pytest.fixture
def adverse_event(people, participant):
    return safety_services.ae_report(
        participant=participant, user=people["coordinator"], data=ae_data()
    )


def test_an_ae_corrected_by_two_people_keeps_both_corrections_or_asks(
    people, participant, adverse_event
):
    url = f"/safety/ae/{adverse_event.pk}/edit/"
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    theirs, mine = opened(investigator, url), opened(coordinator, url)
    response = investigator.post(
        url, theirs | {"ctcae_grade": "2", "reason_for_change": "Needed paracetamol"}
    )
    assert response.status_code == 302
    saved = history_count(adverse_event)
    # The coordinator corrects the outcome: checked with the grade (consistency) — asked.
    response = coordinator.post(
        url,
        mine
        | {
            "outcome": "recovered_with_sequelae",
            "reason_for_change": "Sequelae noted",
        },
    )
    assert response.status_code == 200
    adverse_event.refresh_from_db()
    assert adverse_event.ctcae_grade == 2
    assert adverse_event.outcome == "recovered"
    assert history_count(adverse_event) == saved
    rows = {r["field"].name: r["field"] for r in response.context["form"].edit_conflict_rows}
    assert rows["ctcae_grade"].edit.reason == "Needed paracetamol"
    assert rows["outcome"].linked_to

    # A correction of the free text only merges with the grade without asking.
    fresh = opened(coordinator, url)
    investigator.post(
        url, opened(investigator, url) | {"ctcae_grade": "1", "reason_for_change": "Back to 1"}
    )
    response = coordinator.post(
        url,
        fresh
        | {"description": "Fever 38.4 °C, settled with paracetamol", "reason_for_change": "Detail"},
    )
    assert response.status_code == 302
    adverse_event.refresh_from_db()
    assert adverse_event.ctcae_grade == 1
    assert adverse_event.description.startswith("Fever 38.4")


def test_an_ae_change_before_the_causality_signature_refuses_the_signature(
    people, participant, adverse_event
):
    from .factories import PASSWORD

    url = f"/safety/ae/{adverse_event.pk}/sign/"
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    sign_form = opened(investigator, url)
    edit = f"/safety/ae/{adverse_event.pk}/edit/"
    coordinator.post(
        edit, opened(coordinator, edit) | {"ctcae_grade": "2", "reason_for_change": "Grade"}
    )
    response = investigator.post(
        url, sign_form | {"relationship": "unlikely", "password": PASSWORD}
    )
    assert response.status_code == 200
    adverse_event.refresh_from_db()
    assert adverse_event.causality_signed_at is None  # not applied to data never seen
    assert 'data-testid="conflict-ctcae_grade"' in response.content.decode()
    again = {
        n: f.initial[0]
        for n, f in form_fields(response.content.decode(), url).items()
        if f.kind == "hidden"
    }
    response = investigator.post(
        url, sign_form | again | {"relationship": "unlikely", "password": PASSWORD}
    )
    assert response.status_code == 302
    adverse_event.refresh_from_db()
    assert adverse_event.causality_signed_by == people["investigator"]


# -- identifying data ----------------------------------------------------------------------------


def test_identifying_data_corrected_by_two_people(people, participant):
    url = f"/participants/{participant.study_id}/identity/edit/"
    investigator, coordinator = browser(people["investigator"]), browser(people["coordinator"])
    theirs, mine = opened(investigator, url), opened(coordinator, url)
    investigator.post(
        url, theirs | {"phone": "+98 912 111 2222", "reason_for_change": "New number"}
    )
    identity = IdentifyingData.objects.get(pk=participant.identity.pk)
    saved = history_count(identity)
    # Another field only: merged without asking (no derived value reads two identity fields).
    response = coordinator.post(
        url, mine | {"address": "Valiasr St, Tehran", "reason_for_change": "Moved"}
    )
    assert response.status_code == 302
    identity.refresh_from_db()
    assert identity.phone == "+98 912 111 2222"
    assert identity.address == "Valiasr St, Tehran"
    assert history_count(identity) == saved + 1
    # The same field: asked, and the phone number is not reverted.
    stale = opened(coordinator, url)
    investigator.post(
        url, opened(investigator, url) | {"phone": "+98 912 333 4444", "reason_for_change": "Again"}
    )
    response = coordinator.post(
        url, stale | {"phone": "+98 912 555 6666", "reason_for_change": "Typo"}
    )
    assert response.status_code == 200
    identity.refresh_from_db()
    assert identity.phone == "+98 912 333 4444"
    rows = {r["field"].name: r["field"] for r in response.context["form"].edit_conflict_rows}
    assert rows["phone"].opened == "+98 912 111 2222"
    assert rows["phone"].current == "+98 912 333 4444"
    assert rows["phone"].typed == "+98 912 555 6666"


def test_the_service_itself_refuses_a_stale_version_whatever_the_caller(
    people, participant, adverse_event
):
    """Not the form: a script or an import calling the service with an old version."""
    from kernel import concurrency
    from kernel.exceptions import EditConflict

    old = concurrency.version_of(adverse_event)
    safety_services.ae_update(
        ae=adverse_event,
        user=people["investigator"],
        reason="Grade",
        values={"ctcae_grade": 2},
        opened_version=old,
    )
    with pytest.raises(EditConflict):  # both changed the grade
        safety_services.ae_update(
            ae=adverse_event,
            user=people["coordinator"],
            reason="Grade",
            values={"ctcae_grade": 3},
            opened_version=old,
        )
    # The grade as it was when opened: not a change of this caller's, so not reverted.
    safety_services.ae_update(
        ae=adverse_event,
        user=people["coordinator"],
        reason="Term",
        values={"ctcae_grade": 1, "verbatim_term": "Fever"},
        opened_version=old,
    )
    adverse_event.refresh_from_db()
    assert (adverse_event.ctcae_grade, adverse_event.verbatim_term) == (2, "Fever")
    with pytest.raises(EditConflict):
        safety_services.ae_update(
            ae=adverse_event,
            user=people["coordinator"],
            reason="Grade",
            values={"verbatim_term": "Fever again"},
            opened_version=concurrency.UNKNOWN,
        )
    assert AdverseEvent.objects.get(pk=adverse_event.pk).ctcae_grade == 2
    assert timezone.now() - adverse_event.reported_at < timedelta(minutes=5)
