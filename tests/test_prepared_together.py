"""Reads sent together (kernel.prepared.read_together, issue 24): each read's rows or instances
as it gives them alone, from one round trip; run one by one where the server binds the
parameters; and, under a real race, each statement with its own snapshot, taken after the one
before it returned (READ COMMITTED as for separate round trips), which the CRF save's reads
after its write rely on."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL
from django.test.utils import CaptureQueriesContext
from simple_history.signals import post_create_historical_record

from kernel import prepared
from kernel.prepared import PreparedRows, Read, read_together
from outcomes.models import Visit

from . import outcomes_factories as of
from .db_waits import until_a_session_waits_on_a_lock
from .factories import ParticipantFactory


def _visits_locked(_key, visit_id):
    return Visit.objects.select_for_update().filter(pk=visit_id).select_related("participant")


def _missed_reason(_key, visit_id):
    return Visit.objects.filter(pk=visit_id).values_list("pk", "missed_reason")


def _days_as_text(_key, participant_id, code):
    # The database gives text; the annotation's converter (IntegerField) makes it an int.
    day = RawSQL('"outcomes_visit"."day"::text', (), output_field=IntegerField())
    visits = Visit.objects.filter(participant_id=participant_id, code__gte=code)
    return visits.annotate(day_read=day).order_by("day").values_list("code", "day_read")


LOCKED = PreparedRows(Visit, _visits_locked, ("int",), for_write=True)
MISSED_REASON = PreparedRows(Visit, _missed_reason, ("int",))
DAYS = PreparedRows(Visit, _days_as_text, ("int", "text"))


def _reads(p):
    d0, d3 = (Visit.objects.get(participant=p, code=code) for code in ("D0", "D3"))
    return [
        Read(LOCKED, None, (d0.pk,)),
        Read(MISSED_REASON, None, (-1,), objects=False),  # no row
        Read(DAYS, None, (p.pk, "D"), objects=False),
        Read(LOCKED, None, (d3.pk,)),
    ]


@pytest.fixture
def participant(site01, roles):
    """A participant of site 01 with its visit schedule: the rows the reads below read."""
    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    return participant


def _alone(reads):
    return [
        r.prepared.objects(r.key, *r.args) if r.objects else r.prepared.rows(r.key, *r.args)
        for r in reads
    ]


@pytest.mark.django_db
def test_reads_together_give_each_reads_results_in_one_query(participant):
    reads = _reads(participant)
    with transaction.atomic():
        alone = _alone(reads)
        with CaptureQueriesContext(connection) as together:
            results = read_together(reads)
    assert len(together) == 1
    assert results == alone
    assert results[1] == []
    assert results[2]
    assert all(isinstance(day, int) for _code, day in results[2])
    # The instances with their related objects, as the queryset makes them.
    visit = results[0][0]
    assert visit.code == "D0"
    assert visit.participant.study_id == participant.study_id
    assert results[3][0].code == "D3"


@pytest.fixture
def server_binds_parameters(monkeypatch):
    """A server-binding cursor is not a ClientCursor: several statements in one message are
    refused there, so the reads must run one by one."""

    class NotTheCursor:
        pass

    monkeypatch.setattr(prepared.psycopg, "ClientCursor", NotTheCursor)


@pytest.mark.django_db
def test_reads_together_run_one_by_one_where_the_server_binds_parameters(
    participant, server_binds_parameters
):
    reads = _reads(participant)
    with transaction.atomic():
        alone = _alone(reads)
        with CaptureQueriesContext(connection) as one_by_one:
            results = read_together(reads)
    assert len(one_by_one) == len(reads)
    assert results == alone


@pytest.mark.django_db(transaction=True)
def test_each_statement_sent_together_takes_its_own_snapshot_after_the_lock_before_it(participant):
    """A holds the D0 visit's lock and changes the D3 visit, then commits; B's two reads sent
    together, the D0 visit FOR UPDATE then the D3 visit's missed reason, wait for the lock and
    see A's change: the second statement's snapshot is taken after the first returned. (One
    statement with both in it would read the D3 visit with the snapshot taken before the wait,
    and miss it.)"""
    d0, d3 = (Visit.objects.get(participant=participant, code=code) for code in ("D0", "D3"))
    locked = threading.Event()
    release = threading.Event()
    seen: list = []
    errors: list = []

    def holder():
        try:
            with transaction.atomic():
                list(Visit.objects.select_for_update().filter(pk=d0.pk))
                Visit.objects.filter(pk=d3.pk).update(missed_reason="changed by A")
                locked.set()
                release.wait(30)
        except Exception as error:  # noqa: BLE001 — asserted on below
            errors.append(error)
        finally:
            locked.set()
            connection.close()

    def reader():
        try:
            with transaction.atomic():
                seen.append(
                    read_together(
                        [
                            Read(LOCKED, None, (d0.pk,)),
                            Read(MISSED_REASON, None, (d3.pk,), objects=False),
                        ]
                    )
                )
        except Exception as error:  # noqa: BLE001 — asserted on below
            errors.append(error)
        finally:
            connection.close()

    a = threading.Thread(target=holder)
    a.start()
    assert locked.wait(30)
    b = threading.Thread(target=reader)
    b.start()
    # B waits on the row lock (its first statement) before A commits.
    until_a_session_waits_on_a_lock("the reads")
    release.set()
    a.join(30)
    b.join(30)
    assert not errors, errors
    (visits, reasons) = seen[0]
    assert [v.pk for v in visits] == [d0.pk]
    assert reasons == [(d3.pk, "changed by A")]


# -- reads sent with the next statement (read_before_next, issue 24, crf7) --------------------

_MISSED_UPDATE = 'UPDATE "outcomes_visit" SET "missed_reason"'


@pytest.mark.django_db
def test_reads_sent_with_the_next_statement_give_their_results_and_leave_it_its_own(participant):
    """The reads' results as read_together gives them, one query with the statement; and the
    statement's own result as when it ran alone: the row count Django checks (here 3 visits
    updated, while the reads before it gave 1, 0, 8 and 1 rows)."""
    reads = _reads(participant)
    with transaction.atomic():
        alone = _alone(reads)
        with CaptureQueriesContext(connection) as captured:
            with prepared.read_before_next(reads, starting=_MISSED_UPDATE) as results:
                assert results == []  # not run yet
                updated = Visit.objects.filter(participant=participant, day__in=(1, 2, 3)).update(
                    missed_reason="x"
                )
    assert updated == 3
    assert len(captured) == 1
    *sent, statement = captured.captured_queries[0]["sql"].split(";\n")
    assert len(sent) == len(reads)
    assert statement.startswith(_MISSED_UPDATE)
    assert results == alone


@pytest.mark.django_db
def test_a_statement_returning_rows_gives_its_own_rows_after_the_reads(participant):
    """An INSERT ... RETURNING (as an audit row's): the id Django reads back is the new row's."""
    visit = Visit.objects.get(participant=participant, code="D3")
    reads = _reads(participant)
    made: list = []

    def keep(history_instance, **kwargs):
        made.append(history_instance.history_id)

    post_create_historical_record.connect(keep, dispatch_uid="test_read_before_next")
    try:
        with transaction.atomic():
            alone = _alone(reads)
            visit.missed_reason = "audited"
            visit._change_reason = "a test"
            with CaptureQueriesContext(connection) as captured:
                with prepared.read_before_next(
                    reads, starting='INSERT INTO "outcomes_historicalvisit" '
                ) as results:
                    visit.save()
            newest = visit.history.order_by("-history_id").first()
    finally:
        post_create_historical_record.disconnect(dispatch_uid="test_read_before_next")
    assert results == alone
    message = captured.captured_queries[-1]["sql"].split(";\n")
    assert len(message) == len(reads) + 1
    assert message[-1].startswith('INSERT INTO "outcomes_historicalvisit" ')
    assert newest.missed_reason == "audited"
    # The history id the library read back (RETURNING) is the new row's.
    assert made == [newest.history_id]


@pytest.mark.django_db
def test_reads_not_sent_with_a_statement_are_read_when_the_block_ends(participant):
    reads = _reads(participant)
    with transaction.atomic():
        alone = _alone(reads)
        with CaptureQueriesContext(connection) as captured:
            with prepared.read_before_next(reads, starting="INSERT INTO nothing") as results:
                Visit.objects.filter(participant=participant, day=1).update(missed_reason="y")
    assert results == alone
    assert [q["sql"].count(";\n") for q in captured.captured_queries] == [0, len(reads) - 1]


@pytest.mark.django_db
def test_reads_sent_with_a_statement_that_raises_are_not_read_again(participant):
    reads = _reads(participant)

    def refused():
        with transaction.atomic(), prepared.read_before_next(reads, starting=_MISSED_UPDATE):
            raise RuntimeError("refused")

    with CaptureQueriesContext(connection) as captured:
        with pytest.raises(RuntimeError, match="refused"):
            refused()
    assert not [q for q in captured.captured_queries if "outcomes_visit" in q["sql"]]


@pytest.mark.django_db
def test_reads_with_the_next_statement_run_one_by_one_where_the_server_binds_parameters(
    participant, server_binds_parameters
):
    reads = _reads(participant)
    with transaction.atomic():
        alone = _alone(reads)
        with CaptureQueriesContext(connection) as captured:
            with prepared.read_before_next(reads, starting=_MISSED_UPDATE) as results:
                updated = Visit.objects.filter(participant=participant, day=1).update(
                    missed_reason="z"
                )
    assert updated == 1
    assert results == alone
    assert len(captured) == 1 + len(reads)
    assert captured.captured_queries[0]["sql"].startswith(_MISSED_UPDATE)
