"""Audit trail: who, when, old, new and a reason for every change (21 CFR Part 11 §11.10(e))."""

import pytest

from kernel import concurrency
from kernel.exceptions import ReasonForChangeRequired
from kernel.roles import Role
from participants import services
from participants.models import IdentifyingData

from .factories import ParticipantFactory
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def participant(site01, roles):
    return ParticipantFactory(site=site01)


@pytest.fixture
def coordinator(make_user, login):
    user = make_user(Role.COORDINATOR)
    login(user)
    return user


def edit_url(p):
    return f"/participants/{p.study_id}/identity/edit/"


def test_the_edit_form_of_a_saved_record_asks_for_a_reason(client, coordinator, participant):
    body = client.get(edit_url(participant)).content.decode()
    assert 'name="reason_for_change"' in body


def test_the_screening_form_of_a_new_record_does_not(client, coordinator):
    body = client.get("/participants/screen/").content.decode()
    assert 'name="reason_for_change"' not in body


def test_an_edit_without_a_reason_is_refused_and_loses_nothing_typed(
    client, coordinator, participant
):
    before = participant.identity.full_name
    response = client.post(
        edit_url(participant),
        {"full_name": "Corrected Name", "national_id": "0012345678", "reason_for_change": " "},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Give a reason for this change; nothing was saved without one." in body
    # What the user typed is still in the form.
    assert 'value="Corrected Name"' in body
    assert 'value="0012345678"' in body
    participant.identity.refresh_from_db()
    assert participant.identity.full_name == before
    assert participant.identity.history.count() == 1


def test_an_edit_with_a_reason_shows_who_when_old_new_and_why(client, coordinator, participant):
    old_name = participant.identity.full_name
    response = client.post(
        edit_url(participant),
        {
            "full_name": "Corrected Name",
            "national_id": participant.identity.national_id,
            "hospital_record_number": participant.identity.hospital_record_number,
            "date_of_birth": participant.identity.date_of_birth.isoformat(),
            "sex": participant.identity.sex,
            "reason_for_change": "Name misspelt at registration; checked against ID card",
        },
        follow=True,
    )
    assert "the change is in the audit trail" in response.content.decode()
    history = client.get(
        f"/audit/participants.identifyingdata/{participant.identity.pk}/"
    ).content.decode()
    assert coordinator.get_full_name() in history  # who
    assert "Changed" in history
    assert old_name in history  # old
    assert "Corrected Name" in history  # new
    assert "Name misspelt at registration; checked against ID card" in history  # why
    assert "<time datetime=" in history  # when
    assert "Created" in history  # the first version is there too


def test_the_trail_shows_related_records_and_labels_not_raw_ids(client, coordinator, participant):
    history = client.get(f"/audit/participants.participant/{participant.pk}/").content.decode()
    assert str(participant.site) in history  # "01 · Site name", not the site's primary key
    assert participant.get_status_display() in history


def test_an_unchanged_form_saves_nothing(client, coordinator, participant):
    identity = participant.identity
    response = client.post(
        edit_url(participant),
        {
            "full_name": identity.full_name,
            "national_id": identity.national_id,
            "hospital_record_number": identity.hospital_record_number,
            "date_of_birth": identity.date_of_birth.isoformat(),
            "sex": identity.sex,
            "reason_for_change": "just looking",
        },
        follow=True,
    )
    assert "Nothing changed" in response.content.decode()
    assert identity.history.count() == 1


def test_the_service_refuses_a_change_without_a_reason(participant, make_user):
    user = make_user(Role.COORDINATOR)
    with pytest.raises(ReasonForChangeRequired):
        services.identifying_data_update(
            identifying=participant.identity,
            user=user,
            reason="",
            values={"phone": "1"},
            opened_version=concurrency.version_of(participant.identity),
        )


def test_no_code_path_can_change_audited_data_without_a_reason(participant):
    # A forgotten service or a shell session: the guard on the history signal refuses it.
    identity = IdentifyingData.objects.get(pk=participant.identity.pk)
    identity.phone = "+98 21 0000 0000"
    with pytest.raises(ReasonForChangeRequired):
        identity.save()


def test_roles_without_audit_permission_cannot_read_the_trail(
    client, make_user, login, participant
):
    login(make_user(Role.SPONSOR))
    response = client.get(f"/audit/participants.participant/{participant.pk}/")
    assert response.status_code == 403


def test_models_not_registered_for_audit_have_no_history_page(client, coordinator, participant):
    response = client.get(f"/audit/trialedc.user/{coordinator.pk}/")
    assert response.status_code == 403


def test_a_computed_value_recomputed_by_a_change_is_shown_in_the_trail(
    client, coordinator, participant
):
    """Issue 20, finding 10: the P/F ratio is computed and stored with its inputs; a change of
    FiO₂ changes it, and the trail shows that change too (it was stored but not shown)."""
    from decimal import Decimal

    from outcomes.models import BloodGas

    from . import outcomes_factories as of

    of.schedule(participant)
    # P/F = PaO₂ / FiO₂: 100 / 0.5 = 200; 100 / 0.4 = 250.
    of.crf(participant, "D0", BloodGas.crf_code, pao2_mmhg=Decimal("100"), fio2=Decimal("0.5"))
    of.crf(participant, "D0", BloodGas.crf_code, pao2_mmhg=Decimal("100"), fio2=Decimal("0.4"))
    record = BloodGas.objects.get()
    assert record.pf_ratio == Decimal("250.0")
    body = client.get(f"/audit/outcomes.bloodgas/{record.pk}/").content.decode()
    assert "250.0" in body  # only in the change: the creation had 200.0


def test_every_models_history_manager_class_is_built_once_and_reads_as_before(participant):
    """simple-history built a new manager class on every `.history` (issue 24: about 1 ms per
    audited save); kernel.audit builds it once per model. The manager still reads the history
    of its own record only, and of the model from the class."""
    from django.apps import apps

    audited = [m for m in apps.get_models() if hasattr(m._meta, "simple_history_manager_attribute")]
    assert len(audited) > 10
    for model in audited:
        history = model._meta.simple_history_manager_attribute
        assert type(getattr(model, history)) is type(getattr(model, history)), model
    other = ParticipantFactory(site=participant.site)
    assert type(participant.history) is type(other.history) is type(type(participant).history)
    assert {h.id for h in participant.history.all()} == {participant.pk}
    assert participant.history.instance == participant
    assert type(participant).history.model.objects.filter(id=other.pk).count() == (
        other.history.count()
    )
