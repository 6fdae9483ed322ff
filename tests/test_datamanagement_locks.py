"""Locks (SPEC §6, issue 10): a locked CRF, participant or database refuses every change, from
every role, superusers included, through every path of the application; unlocking needs a
reason, is audited and tells the signer; the database lock gates trial-level unblinding."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from datamanagement import selectors, services
from datamanagement.exceptions import AlreadyLocked, NotLocked, RecordLocked
from datamanagement.models import Lock, LockLevel, Notification
from kernel import audit, concurrency
from kernel.models import User
from kernel.roles import Role
from outcomes import services as outcome_services
from outcomes.models import Murray, Visit

from . import outcomes_factories as of
from .factories import PASSWORD, ParticipantFactory, lock_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_manager(make_user):
    return make_user(Role.DATA_MANAGER)


@pytest.fixture
def superuser(site01):
    user = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    user.sites.add(site01)
    return user


def lock_crf(murray, data_manager):
    return services.lock_create(
        user=data_manager,
        level=LockLevel.CRF,
        participant=murray.visit.participant,
        visit=murray.visit,
        crf_code="murray",
        reason="CRF reviewed and signed",
    )


def correct_fio2(murray, user):
    return outcome_services.crf_save(
        visit=murray.visit,
        crf_code="murray",
        values={"fio2": Decimal("0.5")},
        complete=True,
        user=user,
        opened_version=concurrency.version_of(murray),
        reason="Transcription error",
    )


EVERY_USER = [*list(Role), "superuser"]


@pytest.mark.parametrize("who", EVERY_USER)
def test_a_locked_crf_refuses_edits_from_every_role_and_the_superuser(
    make_user, superuser, murray, data_manager, who
):
    lock_crf(murray, data_manager)
    user = superuser if who == "superuser" else make_user(who, username=f"u-{who}")
    with pytest.raises(RecordLocked, match="locked"):
        correct_fio2(murray, user)
    murray.refresh_from_db()
    assert murray.fio2 == Decimal("0.600")


def test_a_locked_crf_page_shows_the_lock_and_refuses_the_post(
    client, login, make_user, murray, data_manager
):
    lock_crf(murray, data_manager)
    login(make_user(Role.COORDINATOR))
    path = f"/outcomes/participants/{murray.visit.participant.study_id}/visits/D0/murray/"
    page = client.get(path).content.decode()
    assert 'data-testid="lock-banner"' in page
    assert "Save as complete" not in page
    response = client.post(
        path,
        {
            "assessed_on": murray.assessed_on.isoformat(),
            "pao2_mmhg": "70",
            "fio2": "0.5",
            "fio2_unit": "fraction",
            "cxr_quadrants": "2",
            "reason_for_change": "Transcription error",
            "action": "complete",
        },
    )
    assert response.status_code == 200
    assert "locked" in response.content.decode()
    murray.refresh_from_db()
    assert murray.fio2 == Decimal("0.600")


def test_the_superuser_cannot_change_a_locked_crf_in_the_admin_or_a_shell(
    client, superuser, murray, data_manager
):
    lock_crf(murray, data_manager)
    client.force_login(superuser)
    response = client.post(f"/admin/outcomes/murray/{murray.pk}/change/", {"fio2": "0.5"})
    assert response.status_code in (403, 302, 200)
    murray.refresh_from_db()
    assert murray.fio2 == Decimal("0.600")
    # Any code path that saves through the ORM meets the guard on the audit trail.
    murray.fio2 = Decimal("0.5")
    with pytest.raises(RecordLocked):
        audit.save_with_reason(murray, user=superuser, reason="shell")
    assert Murray.objects.get(pk=murray.pk).fio2 == Decimal("0.600")


def test_a_crf_lock_leaves_the_other_crfs_editable(participant, murray, data_manager):
    lock_crf(murray, data_manager)
    crf = of.crf(participant, "D0", "crp", crp_mg_l=Decimal("10"), entered_value=Decimal("10"))
    assert crf.pk


def test_a_participant_lock_refuses_crfs_icu_stays_events_and_missed_visits(
    participant, murray, data_manager
):
    services.lock_create(
        user=data_manager,
        level=LockLevel.PARTICIPANT,
        participant=participant,
        reason="Casebook signed",
    )
    user = of._entry_user(participant)
    with pytest.raises(RecordLocked):
        correct_fio2(murray, user)
    with pytest.raises(RecordLocked):
        of.icu_stay(participant, admitted_on=murray.visit.target_date)
    with pytest.raises(RecordLocked):
        of.event(participant, "hospital_discharge", murray.visit.target_date)
    d1 = Visit.objects.get(participant=participant, code="D1")
    with pytest.raises(RecordLocked):
        outcome_services.visit_mark_missed(
            visit=d1, reason="x", user=user, opened_version=concurrency.version_of(d1)
        )


def test_a_database_lock_refuses_every_participant(site01, participant, murray, data_manager):
    other = ParticipantFactory(site=site01)
    lock_database(data_manager)
    with pytest.raises(RecordLocked):
        correct_fio2(murray, of._entry_user(participant))
    with pytest.raises(RecordLocked):
        of.schedule(other)


def test_database_is_locked_gates_trial_level_unblinding(data_manager):
    """Randomization asks this selector before unblinding the trial (SPEC §1, §6)."""
    assert selectors.database_is_locked() is False
    lock = lock_database(data_manager)
    assert selectors.database_is_locked() is True
    services.lock_release(user=data_manager, lock=lock, reason="Query found after lock")
    assert selectors.database_is_locked() is False


def test_a_participant_or_crf_lock_is_not_a_database_lock(participant, murray, data_manager):
    services.lock_create(
        user=data_manager,
        level=LockLevel.PARTICIPANT,
        participant=participant,
        reason="Casebook signed",
    )
    lock_crf(murray, data_manager)
    assert selectors.database_is_locked() is False


def test_unlocking_needs_a_reason_is_audited_and_then_edits_pass(murray, data_manager):
    lock = lock_crf(murray, data_manager)
    with pytest.raises(NotLocked, match="reason"):
        services.lock_release(user=data_manager, lock=lock, reason=" ")
    services.lock_release(user=data_manager, lock=lock, reason="Late lab correction")
    lock.refresh_from_db()
    assert (lock.unlocked_by, lock.unlock_reason) == (data_manager, "Late lab correction")
    assert lock.history.first().history_change_reason == "Unlocked: Late lab correction"
    correct_fio2(murray, of._entry_user(murray.visit.participant))
    with pytest.raises(NotLocked):
        services.lock_release(user=data_manager, lock=lock, reason="again")


def test_unlocking_tells_the_investigator_who_signed(make_user, murray, data_manager):
    investigator = make_user(Role.INVESTIGATOR)
    services.signature_sign(
        user=investigator,
        password=PASSWORD,
        participant=murray.visit.participant,
        level="crf",
        opened_versions=selectors.signed_versions(
            "crf", participant=murray.visit.participant, visit=murray.visit, crf_code="murray"
        ),
        visit=murray.visit,
        crf_code="murray",
        meaning="accurate_complete",
    )
    lock = lock_crf(murray, data_manager)
    services.lock_release(user=data_manager, lock=lock, reason="Late lab correction")
    note = Notification.objects.get(recipient=investigator)
    assert "Late lab correction" in note.text


def test_one_active_lock_per_target(participant, murray, data_manager):
    lock_crf(murray, data_manager)
    with pytest.raises(AlreadyLocked):
        lock_crf(murray, data_manager)
    lock_database(data_manager)
    with pytest.raises(AlreadyLocked):
        lock_database(data_manager)


def test_the_database_refuses_a_second_active_database_lock(data_manager):
    Lock.objects.create(level=LockLevel.DATABASE, locked_by=data_manager)
    with pytest.raises(IntegrityError):
        Lock.objects.create(level=LockLevel.DATABASE, locked_by=data_manager)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.DATA_MANAGER])
def test_only_the_data_manager_locks(make_user, murray, role):
    with pytest.raises(RecordLocked):
        services.lock_create(user=make_user(role), level=LockLevel.DATABASE)


def test_the_data_manager_locks_and_unlocks_through_the_page(
    client, login, participant, murray, data_manager
):
    login(data_manager)
    response = client.post(
        "/data/locks/",
        {"do": "lock", "level": "participant", "study_id": participant.study_id, "reason": "Done"},
    )
    assert response.status_code == 302
    lock = Lock.objects.get()
    response = client.post("/data/locks/", {"do": "unlock", "lock": lock.pk, "reason": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    response = client.post("/data/locks/", {"do": "unlock", "lock": lock.pk, "reason": "Re-entry"})
    assert response.status_code == 302
    lock.refresh_from_db()
    assert not lock.is_active


@pytest.mark.parametrize(
    ("posted", "goes_to"),
    [
        ("https://evil.example/phish", "/data/locks/"),
        ("//evil.example/", "/data/locks/"),
        ("9999-12-31T23:59", "/data/locks/"),
        ("/data/participants/", "/data/participants/"),
    ],
)
def test_after_locking_next_is_followed_only_to_a_page_of_ours(client, posted, goes_to, roles):
    """Found by the HTTP fuzzing: `next` was handed to redirect() (an open redirect, and a 500
    after the lock was committed for text that is no URL)."""
    from kernel.models import Site

    from .factories import UserFactory

    site, _ = Site.objects.get_or_create(code="01", defaults={"name": "Site 01"})
    participant = ParticipantFactory(site=site)
    client.force_login(UserFactory(username="dm", role=Role.DATA_MANAGER))
    response = client.post(
        "/data/locks/",
        {
            "do": "lock",
            "level": "participant",
            "study_id": participant.study_id,
            "reason": "Casebook signed",
            "next": posted,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == goes_to


def test_an_unlock_of_a_lock_id_that_is_no_number_is_not_found(client, roles):
    from .factories import UserFactory

    client.force_login(UserFactory(username="dm", role=Role.DATA_MANAGER))
    response = client.post("/data/locks/", {"do": "unlock", "lock": "1 OR 1=1", "reason": "x"})
    assert response.status_code == 404


def test_data_management_listens_to_every_outcomes_signal():
    # Outcomes cannot import data management (the layers, decision 0019): without these
    # receivers a lock would be left to the pre_save backstop, and no SDV mark, signature or
    # confirmed warning would follow a CRF save.
    from datamanagement import services as dm_services
    from outcomes import signals

    receivers = {
        signals.data_changing: dm_services.on_data_changing,
        signals.crf_saved: dm_services.on_crf_saved,
        signals.participant_data_changed: dm_services.on_participant_data_changed,
    }
    for signal, receiver in receivers.items():
        sync_receivers, _async_receivers = signal._live_receivers(None)
        assert receiver in sync_receivers
