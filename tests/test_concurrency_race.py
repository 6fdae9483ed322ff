"""No lost updates under a real race (issue 26): two threads, two database connections, the same
version opened, saving at the same instant through the service. The row lock serialises them
and the version check, in the same transaction, refuses the second: one save wins, the other is
told, and the audit trail has exactly one change.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from kernel import concurrency
from kernel.exceptions import EditConflict
from kernel.roles import Role
from outcomes import services
from outcomes.models import BloodGas, Visit
from safety import services as safety_services

from . import outcomes_factories as of
from .db_waits import until_a_session_waits_on_a_lock
from .factories import ParticipantFactory, UserFactory
from .safety_factories import ae_data
from .test_participants_concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two(roles, site01):
    return (
        UserFactory(username="investigator", role=Role.INVESTIGATOR, sites=[site01]),
        UserFactory(username="coordinator", role=Role.COORDINATOR, sites=[site01]),
    )


def test_two_saves_of_one_crf_at_the_same_instant_one_wins_the_other_is_refused(two, site01):
    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    crf = of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("82"), fio2=Decimal("0.6"))
    opened = concurrency.version_of(crf)
    visit = Visit.objects.get(participant=participant, code="D0")
    common = {"assessed_on": visit.target_date}

    def save(user, values, reason):
        return lambda: (
            services.crf_save(
                visit=visit,
                crf_code="blood_gas",
                values=common | values,
                complete=True,
                user=user,
                opened_version=opened,
                reason=reason,
            ).pk
        )

    investigator, coordinator = two
    results, errors = run_at_once(
        [
            save(investigator, {"pao2_mmhg": Decimal("77"), "fio2": Decimal("0.6")}, "PaO2"),
            save(coordinator, {"pao2_mmhg": Decimal("82"), "fio2": Decimal("0.55")}, "FiO2"),
        ]
    )
    assert len(results) == 1
    assert len(errors) == 1, errors
    assert isinstance(errors[0], EditConflict), errors
    crf = BloodGas.objects.get(pk=crf.pk)
    # The winner's change only: never a mixture nobody saw, never a reverted value.
    assert (crf.pao2_mmhg, crf.fio2) in {
        (Decimal("77"), Decimal("0.600")),
        (Decimal("82"), Decimal("0.550")),
    }
    assert crf.history.count() == 2  # the first entry and one change


def test_many_corrections_of_one_ae_at_once_from_one_version_keep_exactly_one(two, site01):
    participant = ParticipantFactory(site=site01)
    investigator, coordinator = two
    ae = safety_services.ae_report(participant=participant, user=coordinator, data=ae_data())
    opened = concurrency.version_of(ae)

    def correct(grade):
        return lambda: (
            safety_services.ae_update(
                ae=ae,
                user=investigator if grade % 2 else coordinator,
                reason=f"Grade {grade}",
                values={"ctcae_grade": grade},
                opened_version=opened,
            ).ctcae_grade
        )

    results, errors = run_at_once([correct(g) for g in (2, 3, 4)])
    assert len(results) == 1, errors
    assert len(errors) == 2
    assert all(isinstance(e, EditConflict) for e in errors)
    ae.refresh_from_db()
    assert ae.ctcae_grade == results[0]
    assert ae.history.count() == 2


def test_a_signature_and_a_correction_at_the_same_instant_never_leave_a_valid_stale_signature(
    two, site01
):
    from datamanagement import selectors as dm_selectors
    from datamanagement import services as dm_services
    from datamanagement.models import Signature

    from .factories import PASSWORD

    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    crf = of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("82"), fio2=Decimal("0.6"))
    visit = Visit.objects.get(participant=participant, code="D0")
    investigator, coordinator = two
    shown = dm_selectors.signed_versions(
        "crf", participant=participant, visit=visit, crf_code="blood_gas"
    )
    opened = concurrency.version_of(crf)

    def sign():
        return dm_services.signature_sign(
            user=investigator,
            password=PASSWORD,
            participant=participant,
            level="crf",
            meaning="accurate_complete",
            opened_versions=shown,
            visit=visit,
            crf_code="blood_gas",
        ).pk

    def correct():
        return services.crf_save(
            visit=visit,
            crf_code="blood_gas",
            values={"assessed_on": visit.target_date, "pao2_mmhg": Decimal("77")},
            complete=True,
            user=coordinator,
            opened_version=opened,
            reason="Printout",
        ).pk

    results, errors = run_at_once([sign, correct])
    assert all(isinstance(e, EditConflict) for e in errors), errors
    assert BloodGas.objects.get(pk=crf.pk).pao2_mmhg == Decimal("77")  # the correction holds
    # Either refused (the correction came first) or signed first and voided by the correction:
    # never a valid signature on a version that is not the one signed.
    for signature in Signature.objects.all():
        assert signature.is_void
        assert not dm_selectors.signature_is_intact(signature)


def test_a_crf_lock_committed_while_a_save_waits_on_the_visit_refuses_the_save(two, site01):
    """Issue 24 (crf6): the save's lock check is sent in one message with the visit's locking
    read (kernel.prepared.read_together), after it. A CRF lock created while the save waits on
    the visit's row (lock_create locks the participant's visits) is seen once the wait ends:
    the save is refused and writes nothing."""
    from datamanagement import services as dm_services
    from datamanagement.exceptions import RecordLocked
    from datamanagement.models import LockLevel

    from .factories import UserFactory as Users

    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    crf = of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("82"), fio2=Decimal("0.6"))
    opened = concurrency.version_of(crf)
    visit = Visit.objects.get(participant=participant, code="D0")
    data_manager = Users(username="dm", role=Role.DATA_MANAGER)
    _investigator, coordinator = two
    holding, release = threading.Event(), threading.Event()
    errors: list = []
    saved: list = []

    def lock():
        try:
            with transaction.atomic():
                dm_services.lock_create(
                    user=data_manager,
                    level=LockLevel.CRF,
                    participant=participant,
                    visit=visit,
                    crf_code="blood_gas",
                    reason="Reviewed",
                )
                holding.set()  # the visits locked, the lock written, not committed yet
                release.wait(30)  # until the save below waits on the visit's row
        except Exception as error:  # noqa: BLE001 — asserted on below
            errors.append(error)
        finally:
            holding.set()
            connection.close()

    def save():
        try:
            saved.append(
                services.crf_save(
                    visit=visit,
                    crf_code="blood_gas",
                    values={"assessed_on": visit.target_date, "pao2_mmhg": Decimal("77")}
                    | {"fio2": Decimal("0.6")},
                    complete=True,
                    user=coordinator,
                    opened_version=opened,
                    reason="Transcription",
                )
            )
        except Exception as error:  # noqa: BLE001 — asserted on below
            errors.append(error)
        finally:
            connection.close()

    locker = threading.Thread(target=lock)
    locker.start()
    assert holding.wait(30)
    saver = threading.Thread(target=save)
    saver.start()
    until_a_session_waits_on_a_lock("the save")
    release.set()
    locker.join(30)
    saver.join(30)
    assert not saved
    assert len(errors) == 1, errors
    assert isinstance(errors[0], RecordLocked), errors
    assert BloodGas.objects.get(pk=crf.pk).pao2_mmhg == Decimal("82")
    assert crf.history.count() == 1
