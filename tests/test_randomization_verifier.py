"""The verifier: the checksum recorded at creation against the stored list (SPEC §3)."""

import io
from datetime import date

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from participants.models import ParticipantStatus
from randomization import blocks, selectors, services
from randomization.exceptions import ListTampered
from randomization.models import AssignmentCounter, Randomization, RandomizationList, Slot

from .factories import ParticipantFactory
from .randomization_factories import behind_the_triggers, coordinator, statistician, store_list

pytestmark = pytest.mark.django_db


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(min_value=0, max_value=2**62), phase=st.sampled_from(["I", "II"]))
def test_the_database_checksum_is_the_checksum_of_the_csv(roles, seed, phase):
    rlist = services.list_generate(phase=phase, stratum="A", seed=seed, user=statistician())
    rows = selectors.list_rows(rlist)
    assert selectors.list_checksum(rlist) == blocks.checksum(rows) == rlist.checksum


@pytest.mark.parametrize("field", ["sequence", "block", "block_size", "arm", "envelope_code"])
def test_any_edit_to_a_stored_slot_stops_randomization(roles, field):
    rlist = services.list_generate(phase="I", stratum="A", seed=3, user=statistician())
    slot = rlist.slots.order_by("sequence").first()
    changed = {
        "sequence": 99,
        "block": 9,
        "block_size": 8,
        "arm": "placebo" if slot.arm == "exosome" else "exosome",
        "envelope_code": "QQQQQQ",
    }[field]
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(**{field: changed})  # refused by the database
    services.list_verify(rlist)
    with behind_the_triggers():  # as only the database's superuser could
        Slot.objects.filter(pk=slot.pk).update(**{field: changed})
    with pytest.raises(ListTampered):
        services.list_verify(rlist)


def test_a_deleted_or_added_slot_stops_randomization(roles):
    rlist = services.list_generate(phase="I", stratum="B", seed=4, user=statistician())
    services.list_verify(rlist)
    last = rlist.slots.order_by("sequence").last()
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        Slot.objects.filter(pk=last.pk).delete()  # refused by the database
    services.list_verify(rlist)
    with behind_the_triggers():
        Slot.objects.filter(pk=last.pk).delete()
    with pytest.raises(ListTampered):
        services.list_verify(rlist)


def test_a_stored_list_checksum_cannot_be_changed(roles):
    """(TRUNCATE of the slots is refused too: tests/test_truncate.py.)"""
    rlist = services.list_generate(phase="I", stratum="A", seed=5, user=statistician())
    with pytest.raises(IntegrityError, match="cannot be changed"), transaction.atomic():
        RandomizationList.objects.filter(pk=rlist.pk).update(checksum="0" * 64)
    services.list_verify(rlist)


def test_a_tampered_checksum_is_detected_by_the_verifier_and_refused_at_assignment(roles, site01):
    """The list's recorded checksum edited behind the trigger: the verifier (lists page,
    randomization_verify, restore) says so, and the seal of the slot an assignment would take
    no longer matches, so nobody is randomized from it."""
    rlist = services.list_generate(phase="I", stratum="B", seed=6, user=statistician())
    with behind_the_triggers():
        RandomizationList.objects.filter(pk=rlist.pk).update(checksum="0" * 64)
    rlist.refresh_from_db()
    with pytest.raises(ListTampered):
        services.list_verify(rlist)
    participant = ParticipantFactory(site=site01, status=ParticipantStatus.ENROLLED)
    with pytest.raises(ListTampered, match="does not match the checksum"):
        services.slot_assign(
            participant=participant, user=coordinator(site01), respiratory_support="none"
        )
    assert not Randomization.objects.exists()


def test_a_slot_edited_behind_the_trigger_is_refused_when_its_turn_comes(roles, site01):
    """Assignment checks the seal of the slot it takes (not the whole list each time): the
    slots before the edited one are given, the edited one stops randomization."""
    rlist = services.list_generate(phase="I", stratum="B", seed=7, user=statistician())
    third = rlist.slots.get(sequence=3)
    with behind_the_triggers():
        Slot.objects.filter(pk=third.pk).update(
            arm="placebo" if third.arm == "exosome" else "exosome"
        )
    coord = coordinator(site01)
    for _ in range(2):
        participant = ParticipantFactory(site=site01, status=ParticipantStatus.ENROLLED)
        services.slot_assign(participant=participant, user=coord, respiratory_support="none")
    participant = ParticipantFactory(site=site01, status=ParticipantStatus.ENROLLED)
    with pytest.raises(ListTampered):
        services.slot_assign(participant=participant, user=coord, respiratory_support="none")
    assert Randomization.objects.count() == 2


def test_a_slot_deleted_behind_the_trigger_is_a_tampered_list_not_a_full_one(roles, site01):
    rlist = services.list_generate(phase="I", stratum="B", seed=8, user=statistician())
    with behind_the_triggers():
        Slot.objects.filter(randomization_list=rlist, sequence=1).delete()
    participant = ParticipantFactory(site=site01, status=ParticipantStatus.ENROLLED)
    with pytest.raises(ListTampered):
        services.slot_assign(
            participant=participant, user=coordinator(site01), respiratory_support="none"
        )


def test_the_counters_follow_every_randomization_written(roles, site01):
    """The counter rows are the database's (a trigger): the service's assignments, and rows
    written any other way, are counted; a deleted one is uncounted."""
    lists = {s: store_list(phase="I", stratum=s, seed=11 + i) for i, s in enumerate("AB")}
    coord = coordinator(site01)
    for support in ("none", "none", "invasive_ventilation"):
        participant = ParticipantFactory(site=site01, status=ParticipantStatus.ENROLLED)
        services.slot_assign(participant=participant, user=coord, respiratory_support=support)
    written = Randomization.objects.create(
        participant=ParticipantFactory(site=site01, status=ParticipantStatus.ENROLLED),
        slot=lists["A"].slots.get(sequence=2),
        respiratory_support="invasive_ventilation",
        day0=date(2021, 3, 10),
        randomized_at=timezone.now(),
        randomized_by=coord,
    )
    counts = dict(AssignmentCounter.objects.filter(phase="I").values_list("stratum", "assigned"))
    assert counts == {"": 4, "A": 2, "B": 2}
    written.delete()
    assert services.counters_lock("I", "A") == {"": 3, "A": 1}


def test_the_periodic_check_and_the_command_name_a_list_tampered_behind_the_triggers(roles, caplog):
    from importlib import import_module

    from django.apps import apps as django_apps
    from django.core.management import CommandError, call_command
    from django_celery_beat.models import PeriodicTask

    from randomization.tasks import lists_verify_task

    rlist = services.list_generate(phase="II", stratum="A", seed=9, user=statistician())
    services.list_generate(phase="II", stratum="B", seed=10, user=statistician())
    assert lists_verify_task() == 0
    call_command("randomization_verify", stdout=io.StringIO())
    with behind_the_triggers():
        Slot.objects.filter(randomization_list=rlist, sequence=5).update(envelope_code="QQQQQQ")
    assert lists_verify_task() == 1
    assert "randomization list II/A" in caplog.text
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 randomization lists do not match"):
        call_command("randomization_verify", stdout=out)
    assert "phase II stratum A: The randomization list" in out.getvalue()
    assert "phase II stratum B: verified" in out.getvalue()
    # The nightly schedule (migration 0006), created if missing.
    migration = import_module("randomization.migrations.0006_perf_lists_verify_schedule")
    migration.create(django_apps, None)
    assert PeriodicTask.objects.get(name=migration.NAME).task == "randomization.lists_verify"
