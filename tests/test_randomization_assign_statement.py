"""The assignment as one database statement (issue 24, migration 0007): every guarantee of the
ORM code it replaced, proven through the new mechanism. The refusals keep their exceptions and
their words; the audit rows, the visit schedule and the pharmacy notice are the same rows."""

import dataclasses
import threading
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from datamanagement import services as data_services
from datamanagement.exceptions import RecordLocked
from datamanagement.models import Lock, LockLevel, Notification
from kernel.models import Alert, AlertKind
from kernel.roles import Role
from kernel.services import roles_sync
from kernel.trial import TRIAL
from outcomes.models import Visit, VisitState
from outcomes.schedule import visit_dates
from participants.models import Participant, ParticipantStatus
from randomization import services
from randomization.exceptions import (
    AlreadyRandomized,
    ListExhausted,
    ListTampered,
    NoList,
    NotRandomizable,
    PhaseClosed,
)
from randomization.models import Randomization, RandomizationList, Slot

from .factories import ParticipantFactory, SiteFactory, UserFactory
from .randomization_factories import (
    all_lists,
    behind_the_triggers,
    coordinator,
    phase_two_opened,
    store_list,
)
from .test_randomization_concurrency import enrolled_participants_bulk_create, run_threads

pytestmark = pytest.mark.django_db


def enrolled(site, **kwargs):
    return ParticipantFactory(site=site, status=ParticipantStatus.ENROLLED, **kwargs)


def assign(participant, user, support="none"):
    return services.slot_assign(participant=participant, user=user, respiratory_support=support)


def refusal(participant, user, support="none") -> Exception:
    with pytest.raises(Exception) as caught:  # noqa: PT011 — the type is asserted by the caller
        assign(participant, user, support)
    return caught.value


def nothing_changed(participant) -> None:
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.ENROLLED
    assert not Visit.objects.filter(participant=participant).exists()
    assert not Randomization.objects.filter(participant=participant).exists()
    assert participant.history.count() == 1  # its creation only


# -- the refusals: same exceptions, same words -----------------------------------------------


def test_each_refusal_is_the_same_exception_with_the_same_words_and_changes_nothing(
    roles, site01, site02
):
    coord = coordinator(site01)
    waiting = enrolled(site01, study_id="01-0100")
    error = refusal(waiting, coord)
    assert type(error) is NoList
    assert str(error) == (
        "There is no randomization list for phase I, stratum B yet. Ask the trial "
        "statistician to create it; nothing was changed."
    )
    nothing_changed(waiting)

    all_lists()
    other = UserFactory(username="c2", role=Role.COORDINATOR, sites=[site02])
    error = refusal(waiting, other)
    assert type(error) is NotRandomizable
    assert str(error) == "This participant belongs to a site you are not assigned to."
    nothing_changed(waiting)

    consented = ParticipantFactory(
        site=site01, study_id="01-0101", status=ParticipantStatus.CONSENTED
    )
    error = refusal(consented, coord)
    assert type(error) is NotRandomizable
    assert str(error) == (
        "Participant 01-0101 cannot be randomized: status is “Consented”; only an enrolled "
        "participant (eligible, consented, not withdrawn) can be."
    )

    done = enrolled(site01, study_id="01-0102")
    assign(done, coord)
    error = refusal(done, coord)
    assert type(error) is AlreadyRandomized
    assert str(error) == "Participant 01-0102 is already randomized."

    for _ in range(5):
        assign(enrolled(site01), coord)
    error = refusal(waiting, coord)
    assert type(error) is ListExhausted
    assert str(error) == services._exhausted_message("I", "B")
    nothing_changed(waiting)


def test_a_full_phase_is_refused_with_the_words_of_the_phase_cap(roles, site01):
    coord = coordinator(site01)
    all_lists()
    phase_two_opened()
    for i in range(60):
        assign(enrolled(site01), coord, "none" if i % 2 else "invasive_ventilation")
    waiting = enrolled(site01)
    error = refusal(waiting, coord)
    assert type(error) is PhaseClosed
    assert str(error) == (
        "Phase II is full: 60 participants are randomized, the trial's target. Nothing was changed."
    )
    nothing_changed(waiting)


@pytest.mark.parametrize("level", [LockLevel.DATABASE, LockLevel.PARTICIPANT])
def test_a_data_management_lock_refuses_randomization_with_its_own_words(roles, site01, level):
    coord = coordinator(site01)
    all_lists()
    waiting = enrolled(site01)
    manager = UserFactory(username="dm", role=Role.DATA_MANAGER, first_name="Dana", last_name="M")
    lock = Lock.objects.create(
        level=level,
        participant=waiting if level == LockLevel.PARTICIPANT else None,
        reason="Interim analysis",
        locked_by=manager,
        locked_at=timezone.now(),
    )
    error = refusal(waiting, coord)
    assert type(error) is RecordLocked
    assert str(error) == str(data_services.lock_refusal(lock))
    assert "Dana M" in str(error)
    nothing_changed(waiting)


def test_when_several_refusals_apply_the_first_in_the_functions_order_is_given(
    roles, site01, site02
):
    """Migration 0009 reads the checks in one query: the refusals keep their order of precedence
    (the user's sites, already randomized, the status, then the data manager's locks)."""
    coord = coordinator(site01)
    all_lists()
    done = enrolled(site01, study_id="01-0102")
    assign(done, coord)
    consented = ParticipantFactory(
        site=site01, study_id="01-0101", status=ParticipantStatus.CONSENTED
    )
    waiting = enrolled(site01)
    manager = UserFactory(username="dm", role=Role.DATA_MANAGER)
    Lock.objects.create(
        level=LockLevel.DATABASE, reason="Interim analysis", locked_by=manager,
        locked_at=timezone.now(),
    )  # fmt: skip
    other = UserFactory(username="c2", role=Role.COORDINATOR, sites=[site02])

    # Outside the user's sites, already randomized and locked: the sites first.
    error = refusal(done, other)
    assert type(error) is NotRandomizable
    assert str(error) == "This participant belongs to a site you are not assigned to."
    # Already randomized and locked: already randomized.
    error = refusal(done, coord)
    assert type(error) is AlreadyRandomized
    assert str(error) == "Participant 01-0102 is already randomized."
    # Not enrolled and locked: the status.
    error = refusal(consented, coord)
    assert type(error) is NotRandomizable
    assert "status is “Consented”" in str(error)
    # Enrolled and locked: the lock.
    assert type(refusal(waiting, coord)) is RecordLocked
    nothing_changed(waiting)


def test_a_slot_given_behind_the_counters_is_refused_not_given_twice(roles, site01):
    """The counters' trigger off (as only the database's superuser could): the next slot by the
    counter is already taken; the function refuses it rather than give it again."""
    coord = coordinator(site01)
    all_lists()
    first = Slot.objects.get(
        randomization_list__phase="I", randomization_list__stratum="B", sequence=1
    )
    with behind_the_triggers():
        Randomization.objects.create(
            participant=enrolled(site01),
            slot=first,
            respiratory_support="none",
            day0=date(2021, 3, 1),
            randomized_at=timezone.now(),
            randomized_by=coord,
        )
    waiting = enrolled(site01)
    error = refusal(waiting, coord)
    assert type(error) is ListTampered
    assert "does not match the checksum" in str(error)
    nothing_changed(waiting)


def test_a_slot_whose_seal_does_not_match_is_refused_by_the_statement(roles, site01):
    coord = coordinator(site01)
    all_lists()
    with behind_the_triggers():
        Slot.objects.filter(
            randomization_list__phase="I", randomization_list__stratum="B", sequence=1
        ).update(envelope_code="AAAAAA")
    waiting = enrolled(site01)
    assert type(refusal(waiting, coord)) is ListTampered
    nothing_changed(waiting)
    # The other stratum's list is untouched: it goes on.
    assert assign(enrolled(site01), coord, "invasive_ventilation").slot.number == "A-001"


# -- the rows written: the same as the ORM code wrote ------------------------------------------


def test_the_audit_rows_are_the_rows_simple_history_writes(roles, site01):
    coord = coordinator(site01)
    all_lists()
    participant = enrolled(site01)
    assign(participant, coord)
    participant.refresh_from_db()
    row = participant.history.order_by("-history_id").first()
    assert (row.history_type, row.history_change_reason, row.history_user) == (
        "~",
        "Randomized",
        coord,
    )
    for field in participant._meta.concrete_fields:  # every column, as simple-history copies
        assert getattr(row, field.attname) == getattr(participant, field.attname), field.name
    visits = {v.pk: v for v in Visit.objects.filter(participant=participant)}
    history = list(Visit.history.filter(participant_id=participant.pk))
    assert sorted(h.id for h in history) == sorted(visits)
    for h in history:
        assert (h.history_type, h.history_change_reason, h.history_user) == (
            "+",
            "Initial entry",
            None,
        )
        for field in Visit._meta.concrete_fields:
            assert getattr(h, field.attname) == getattr(visits[h.id], field.attname), field.name


def test_the_audit_rows_and_notices_take_the_applications_clock(roles, site01):
    """As simple-history and auto_now_add do (timezone.now()), not the database's clock: the
    audit trail reads one clock, and tests that freeze time see the same rows."""
    UserFactory(username="ph", role=Role.PHARMACIST, sites=[site01], email="ph@example.org")
    coord = coordinator(site01)
    all_lists()
    participant = enrolled(site01)
    frozen = datetime(2021, 3, 1, 9, 30, tzinfo=ZoneInfo("UTC"))
    with time_machine.travel(frozen, tick=False):
        randomization = assign(participant, coord)
    assert randomization.randomized_at == frozen
    assert participant.history.order_by("-history_id").first().history_date == frozen
    assert {h.history_date for h in Visit.history.filter(participant_id=participant.pk)} == {frozen}
    assert Notification.objects.get().created_at == frozen
    alert = Alert.objects.get()
    assert (alert.created_at, alert.next_attempt_at) == (frozen, frozen)


def test_the_visit_schedule_is_outcomes_schedule_from_the_day0_at_the_site(roles, site01):
    coord = coordinator(site01)
    all_lists()
    participant = enrolled(site01)
    # 20:29 UTC is 23:59 in Tehran; 20:31 UTC is already the next day there.
    for minute, day0 in ((29, date(2021, 3, 1)), (31, date(2021, 3, 2))):
        participant = enrolled(site01)
        at = datetime(2021, 3, 1, 20, minute, tzinfo=ZoneInfo("UTC"))
        randomization = services.slot_assign(
            participant=participant, user=coord, respiratory_support="none", randomized_at=at
        )
        assert randomization.day0 == day0
        visits = list(Visit.objects.filter(participant=participant).order_by("day"))
        assert len(visits) == len(TRIAL.visits)
        for visit, config in zip(visits, TRIAL.visits, strict=True):
            assert (visit.code, visit.day, visit.state, visit.missed_reason) == (
                config.code,
                config.day,
                VisitState.SCHEDULED,
                "",
            )
            assert (visit.target_date, visit.window_start, visit.window_end) == visit_dates(
                day0=day0,
                day=config.day,
                window_before=config.window_before,
                window_after=config.window_after,
            )


def test_the_returned_randomization_is_the_stored_one(roles, site01):
    coord = coordinator(site01)
    all_lists()
    returned = assign(enrolled(site01), coord)
    stored = Randomization.objects.select_related("slot__randomization_list", "participant").get()
    assert returned == stored
    for field in Randomization._meta.concrete_fields:
        assert getattr(returned, field.attname) == getattr(stored, field.attname)
    assert returned.slot.number == stored.slot.number
    assert returned.slot.randomization_list.checksum == stored.slot.randomization_list.checksum
    assert returned.participant.status == ParticipantStatus.RANDOMIZED
    assert returned.participant.site == site01
    assert returned.randomized_by == coord


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_pharmacy_notice_has_pharmacy_messages_words_in_the_users_language(
    roles, site01, language, django_capture_on_commit_callbacks
):
    pharmacist = UserFactory(
        username="ph", role=Role.PHARMACIST, sites=[site01], email=" ph@example.org "
    )
    UserFactory(username="ph0", role=Role.PHARMACIST, sites=[site01], email="a@example.org")
    UserFactory(username="gone", role=Role.PHARMACIST, sites=[site01], is_active=False)
    coord = coordinator(site01)
    all_lists()
    with translation.override(language), django_capture_on_commit_callbacks() as callbacks:
        randomization = assign(enrolled(site01), coord)
        words = services.pharmacy_message(randomization)
        subject = services._pharmacy_subject_words() % {"site": site01.code}
    notes = list(Notification.objects.order_by("pk"))
    assert [n.recipient.username for n in notes] == ["ph", "ph0"]
    assert {n.text for n in notes} == {words}
    assert {n.link for n in notes} == {"/randomization/pharmacy/to-prepare/"}
    alert = Alert.objects.get()
    assert (alert.kind, alert.subject, alert.body) == (AlertKind.DOSE_TO_PREPARE, subject, words)
    assert alert.recipients == ["a@example.org", "ph@example.org"]
    assert alert.participant_id == randomization.participant_id
    assert alert.sent_at is None
    assert len(callbacks) == 1  # its delivery is handed on after the commit
    assert pharmacist.email.strip() in alert.recipients


def test_a_site_without_a_pharmacist_e_mail_gets_no_outbox_row(roles, site01):
    UserFactory(username="ph", role=Role.PHARMACIST, sites=[site01], email="")
    coord = coordinator(site01)
    all_lists()
    assign(enrolled(site01), coord)
    assert Notification.objects.count() == 1
    assert not Alert.objects.exists()


# -- the phase cap under a race ----------------------------------------------------------------


def test_twenty_threads_racing_past_the_phase_cap_stop_at_exactly_the_cap(
    transactional_db, monkeypatch
):
    """Phase II capped at 37 across both strata, 20 threads × 4 assignments in both strata at
    once: exactly 37 randomized, each extra one refused as PhaseClosed, no slot twice."""
    roles_sync()
    site = SiteFactory(code="01")
    coord = UserFactory(username="coord", role=Role.COORDINATOR, sites=[site])
    statistician = UserFactory(username="stat", role=Role.STATISTICIAN)
    store_list(phase="II", stratum="A", arms=["exosome", "placebo"] * 40, user=statistician)
    store_list(phase="II", stratum="B", arms=["placebo", "exosome"] * 40, user=statistician)
    phase_two_opened(user=statistician)
    phases = tuple(
        dataclasses.replace(p, target_total=37) if p.code == "II" else p for p in TRIAL.phases
    )
    monkeypatch.setattr("randomization.services.TRIAL", dataclasses.replace(TRIAL, phases=phases))
    enrolled_participants_bulk_create(site=site, user=coord, count=80)
    participants = list(Participant.objects.filter(site=site).order_by("pk"))
    closed = []
    lock = threading.Lock()

    def work(index):
        for k in range(4):
            participant = participants[index * 4 + k]
            support = "none" if k % 2 else "invasive_ventilation"
            try:
                services.slot_assign(
                    participant=participant, user=coord, respiratory_support=support
                )
            except PhaseClosed:
                with lock:
                    closed.append(participant.pk)

    assert run_threads(work) == []
    connection.close()
    assert Randomization.objects.count() == 37
    assert len(closed) == 80 - 37
    assert Randomization.objects.values("slot").distinct().count() == 37
    for stratum in ("A", "B"):
        used = sorted(
            Randomization.objects.filter(slot__randomization_list__stratum=stratum).values_list(
                "slot__sequence", flat=True
            )
        )
        assert used == list(range(1, len(used) + 1))


# -- the counters locked, not written; the foreign keys checked before the lock (0008) --------


def _counter_updates() -> int:
    """Row versions this transaction has written in the counters' table so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd FROM pg_stat_xact_user_tables "
            "WHERE relname = 'randomization_assignmentcounter'"
        )
        row = cursor.fetchone()
    return 0 if row is None else row[0]


def test_an_assignment_writes_each_counter_row_once(roles, site01):
    """The function locks the phase's and the stratum's counter rows (SELECT … FOR UPDATE) and
    the Randomization's trigger moves them: two row versions per assignment, one per row (the
    upsert that locked them wrote two more)."""
    coord = coordinator(site01)
    all_lists()
    before = _counter_updates()
    assign(enrolled(site01), coord)
    assert _counter_updates() - before == 2
    assert services.counters_lock("I", "B") == {"": 1, "B": 1}


def test_a_missing_counter_row_is_created_then_locked(roles, site01):
    """A list whose counter rows are not there (stored before migration 0008, or behind the
    service's back): the assignment creates them and counts from zero."""
    from randomization.models import AssignmentCounter

    coord = coordinator(site01)
    all_lists()
    AssignmentCounter.objects.all().delete()
    assert assign(enrolled(site01), coord).slot.sequence == 1
    assert assign(enrolled(site01), coord).slot.sequence == 2
    counts = dict(AssignmentCounter.objects.values_list("stratum", "assigned"))
    assert counts == {"": 2, "B": 2}


def test_every_deferrable_constraint_is_initially_deferred():
    """randomization_assign checks the deferred foreign keys before the counters' lock
    (SET CONSTRAINTS ALL IMMEDIATE) and then sets them back with SET CONSTRAINTS ALL DEFERRED:
    that is their initial mode only while no deferrable constraint is initially immediate."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE condeferrable AND NOT condeferred"
        )
        assert cursor.fetchall() == []


def test_the_foreign_keys_are_deferred_again_after_an_assignment(roles, site01):
    """Inside the caller's transaction, after the assignment, a foreign key is checked at the
    commit again, not at the statement: a row naming a missing user goes in, and is refused
    when the constraints are checked."""
    coord = coordinator(site01)
    all_lists()
    assign(enrolled(site01), coord)
    with transaction.atomic(), connection.cursor() as cursor:
        # Not checked at the statement: it goes in...
        cursor.execute(
            "INSERT INTO datamanagement_notification (recipient_id, text, link, created_at) "
            "VALUES (2147483000, 'x', '', now())"
        )
        # ...and is refused when the constraints are checked (the savepoint undoes it).
        with pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DELETE FROM datamanagement_notification WHERE recipient_id = 2147483000")


def test_a_broken_foreign_key_written_before_the_lock_is_still_refused(roles, site01):
    """The checks moved before the counters' lock are the same checks: the visits' audit rows
    name a user that does not exist (a trigger of the test's own writes it), the assignment
    is refused and writes nothing."""
    coord = coordinator(site01)
    all_lists()
    waiting = enrolled(site01)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION pg_temp.bad_user() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN NEW.history_user_id := 2147483000; RETURN NEW; END $$;
            CREATE TRIGGER bad_user BEFORE INSERT ON outcomes_historicalvisit
                FOR EACH ROW EXECUTE FUNCTION pg_temp.bad_user();
            """
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        assign(waiting, coord)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER bad_user ON outcomes_historicalvisit")
    nothing_changed(waiting)
    assert services.counters_lock("I", "B") == {"": 0, "B": 0}


def test_an_assignment_waits_while_another_transaction_holds_the_counter_rows(transactional_db):
    """The counter rows locked by SELECT … FOR UPDATE (migration 0008): a transaction holding
    them (services.counters_lock, as list_store and the phase gate take them) stops every
    assignment of the phase until it ends, and the assignment then reads the counts it left:
    here a slot it gave meanwhile, so the next one is taken (read without the lock, the slot
    would be taken twice and refused by its unique index)."""
    roles_sync()
    site = SiteFactory(code="01")
    coord = UserFactory(username="coord", role=Role.COORDINATOR, sites=[site])
    all_lists()
    first = Slot.objects.get(
        randomization_list__phase="I", randomization_list__stratum="B", sequence=1
    )
    other, participant = enrolled(site), enrolled(site)
    held, release = threading.Event(), threading.Event()
    assigned: list[tuple[float, str]] = []

    def holder():
        try:
            with transaction.atomic():
                services.counters_lock("I", "B")
                Randomization.objects.create(
                    participant=other,
                    slot=first,
                    respiratory_support="none",
                    day0=date(2021, 3, 1),
                    randomized_at=timezone.now(),
                    randomized_by=coord,
                )
                held.set()
                release.wait(20)
        finally:
            connection.close()

    def assigner():
        try:
            held.wait(20)
            number = assign(participant, coord).slot.number
            assigned.append((time.monotonic(), number))
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=assigner)]
    for thread in threads:
        thread.start()
    held.wait(20)
    time.sleep(1.0)
    assert assigned == []  # waiting on the rows
    released_at = time.monotonic()
    release.set()
    for thread in threads:
        thread.join(30)
    assert len(assigned) == 1
    assert assigned[0][0] >= released_at
    assert assigned[0][1] == "B-002"
    assert services.counters_lock("I", "B") == {"": 2, "B": 2}


def _plan_of_the_slot_lookup(rlist) -> str:
    """The plan of randomization_assign's slot lookup as the function runs it after its first
    calls: a generic plan, cached (PL/pgSQL's plan cache)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        # Among the indexes: a few slots are cheaper to read whole, a list of thousands is not.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "PREPARE slot_of (bigint, int) AS SELECT * FROM randomization_slot "
            "WHERE randomization_list_id = $1 AND sequence = $2 FOR UPDATE"
        )
        try:
            cursor.execute("EXPLAIN EXECUTE slot_of (%s, 1)", [rlist.pk])
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE slot_of")


def test_the_slot_of_a_sequence_is_read_by_both_columns_of_the_unique_index(roles, site01):
    """Slot.randomization_list has no index of its own (migration 0010, issue 24's seventh
    step): with it, the slot lookup read the list's slots through it and filtered them for the
    sequence, one more row for each slot given; now the unique index finds the one slot."""
    all_lists()
    rlist = RandomizationList.objects.order_by("pk").first()
    plan = _plan_of_the_slot_lookup(rlist)
    assert "one_slot_per_sequence" in plan
    assert "Filter" not in plan
