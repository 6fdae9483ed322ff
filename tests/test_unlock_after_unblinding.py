"""After trial-level unblinding the database stays locked; a correction needs an unlock asked by
one data manager and approved by another, both re-authenticated, the sponsor and the
statistician told, and every later export says which values changed (issue 20, finding 3;
ICH E9 §5.1 and E6(R3) 3.16: data changes after unblinding must be documented)."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from django.core.management import call_command

from datamanagement import services as dm_services
from datamanagement.exceptions import NotLocked
from datamanagement.models import Lock, UnlockRequest
from kernel.models import Alert, AlertKind
from kernel.roles import Role
from outcomes.models import CRF_MODELS
from randomization import services as randomization_services

from . import outcomes_factories as of
from .exports_data import build_trial
from .factories import PASSWORD, UserFactory, lock_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def unblinded(site01, roles):
    participants = build_trial(site01)
    first = UserFactory(username="dm1", role=Role.DATA_MANAGER, email="dm1@example.org")
    second = UserFactory(username="dm2", role=Role.DATA_MANAGER, email="dm2@example.org")
    statistician = UserFactory(username="st", role=Role.STATISTICIAN, email="st@example.org")
    lock = lock_database(first)
    randomization_services.trial_unblinding_confirm(user=first, password=PASSWORD)
    randomization_services.trial_unblinding_confirm(user=statistician, password=PASSWORD)
    return participants, lock, first, second


def test_one_person_cannot_unlock_after_unblinding(unblinded):
    _, lock, first, _ = unblinded
    with pytest.raises(NotLocked, match="stays locked"):
        dm_services.lock_release(user=first, lock=lock, reason="Correct a CRP value")
    assert Lock.objects.get(pk=lock.pk).is_active


def test_the_requester_cannot_approve_and_a_wrong_password_is_refused(unblinded):
    _, lock, first, second = unblinded
    with pytest.raises(NotLocked, match="password"):
        dm_services.unlock_request_create(user=first, lock=lock, reason="CRP", password="x")
    unlock = dm_services.unlock_request_create(
        user=first, lock=lock, reason="CRP typed as 1205", password=PASSWORD
    )
    with pytest.raises(NotLocked, match="Another person"):
        dm_services.unlock_request_approve(user=first, unlock=unlock, password=PASSWORD)
    with pytest.raises(NotLocked, match="password"):
        dm_services.unlock_request_approve(user=second, unlock=unlock, password="x")
    assert Lock.objects.get(pk=lock.pk).is_active


def test_two_people_unlock_the_sponsor_and_statistician_are_told(unblinded):
    _, lock, first, second = unblinded
    unlock = dm_services.unlock_request_create(
        user=first, lock=lock, reason="CRP typed as 1205", password=PASSWORD
    )
    dm_services.unlock_request_approve(user=second, unlock=unlock, password=PASSWORD)
    lock.refresh_from_db()
    assert not lock.is_active
    assert "approved by" in lock.unlock_reason
    unlock = UnlockRequest.objects.get()
    assert (unlock.requested_by, unlock.approved_by) == (first, second)
    alerts = Alert.objects.filter(kind=AlertKind.UNLOCK_AFTER_UNBLINDING)
    assert alerts.count() == 2  # requested, approved
    for alert in alerts:
        assert "st@example.org" in alert.recipients
        assert any("sponsor" in r or "@" in r for r in alert.recipients)


def test_the_page_asks_one_and_another_approves(client, login, unblinded):
    _, lock, first, second = unblinded
    login(first)
    response = client.post(
        "/data/locks/", {"do": "unlock", "lock": lock.pk, "reason": "Correct a CRP value"}
    )
    assert "stays locked" in response.content.decode()
    response = client.post(
        "/data/locks/",
        {"do": "unlock_request", "reason": "CRP typed as 1205", "password": PASSWORD},
    )
    assert response.status_code == 302
    client.logout()
    login(second)
    page = client.get("/data/locks/").content.decode()
    assert "CRP typed as 1205" in page
    response = client.post("/data/locks/", {"do": "unlock_approve", "password": PASSWORD})
    assert response.status_code == 302
    assert not Lock.objects.get(pk=lock.pk).is_active


def test_every_export_after_it_lists_the_values_changed_after_unblinding(unblinded, tmp_path):
    participants, lock, first, second = unblinded
    unlock = dm_services.unlock_request_create(
        user=first, lock=lock, reason="CRP typed as 1205", password=PASSWORD
    )
    dm_services.unlock_request_approve(user=second, unlock=unlock, password=PASSWORD)
    crp = CRF_MODELS["crp"].objects.filter(visit__participant=participants[0]).get()
    from kernel import concurrency
    from outcomes import services as outcome_services

    outcome_services.crf_save(
        visit=crp.visit,
        crf_code="crp",
        values={"crp_mg_l": Decimal("12.5"), "entered_value": Decimal("12.5")},
        complete=True,
        user=of._entry_user(participants[0]),
        opened_version=concurrency.version_of(crp),
        reason="Transcription error after unblinding",
        confirm_warnings=True,
        warning_reason="checked",
    )
    out = tmp_path / "after"
    call_command("export_ipd", "--out", str(out))
    readme = (out / "README.txt").read_text()
    assert "Changes after unblinding" in readme
    rows = list(csv.DictReader((out / "changes_after_unblinding.csv").read_text().splitlines()))
    assert {"file": "crp.csv", "variable": "crp_mg_l", "old_value": "120.5"}.items() <= {
        k: rows[0][k] for k in ("file", "variable", "old_value")
    }.items()
    assert rows[0]["new_value"] == "12.5"


def test_the_vital_signs_at_screening_changed_after_unblinding_are_listed(unblinded, tmp_path):
    """Issue 19: the record of no visit, exported in participants.csv, is listed as a CRF is;
    and the database lock refused the change until the two-person unlock."""
    from datamanagement.exceptions import RecordLocked
    from kernel import concurrency
    from participants import services as participant_services
    from participants.models import ScreeningVitalSigns

    participants, lock, first, second = unblinded
    participant = participants[0]
    vitals = ScreeningVitalSigns.objects.get(screening=participant.screening)  # build_trial's
    before = str(vitals.heart_rate_bpm)
    coordinator = UserFactory(
        username="coordinator01", role=Role.COORDINATOR, sites=[participant.site]
    )

    def correct():
        return participant_services.screening_vital_signs_save(
            screening=participant.screening,
            user=coordinator,
            values={name: getattr(vitals, name) for name in ScreeningVitalSigns.VALUE_FIELDS}
            | {"heart_rate_bpm": vitals.heart_rate_bpm + 1},
            opened_version=concurrency.version_of(vitals),
            reason="Misread after unblinding",
        )

    with pytest.raises(RecordLocked, match="Database lock"):
        correct()
    unlock = dm_services.unlock_request_create(
        user=first, lock=lock, reason="Heart rate misread", password=PASSWORD
    )
    dm_services.unlock_request_approve(user=second, unlock=unlock, password=PASSWORD)
    correct()
    out = tmp_path / "after"
    call_command("export_ipd", "--out", str(out))
    rows = list(csv.DictReader((out / "changes_after_unblinding.csv").read_text().splitlines()))
    listed = [r for r in rows if r["variable"] == "screening_heart_rate_bpm"]
    assert len(listed) == 1
    assert listed[0]["file"] == "participants.csv"
    assert listed[0]["visit"] == "screening"
    assert (listed[0]["old_value"], listed[0]["new_value"]) == (before, str(int(before) + 1))
    assert listed[0]["export_id"]
