"""Reads from a replica (issue 25, kernel/replica.py): with a `replica` alias and routing on, the
heavy read-only pages and the IPD export read from it; writes, transactions, and whatever a
browser or a request has just written stay on the primary.

The replica here is a test mirror of the test database (tests/settings.py: another connection to
the same rows, read-only sessions); each alias's queries are captured on its own connection.
Transactional tests: the rows a page writes are committed, as they would be for a real replica.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, OperationalError, connections, transaction
from django.test.utils import CaptureQueriesContext

from exports import services as export_services
from kernel import replica
from kernel.models import Site
from kernel.replica import reading_from_replica
from kernel.roles import Role
from participants.models import Participant, Screening

from .factories import ParticipantFactory
from .test_participants_workflow import screen_data

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])

PARTICIPANT = Participant._meta.db_table
SCREENING = Screening._meta.db_table
WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture
def routing(settings):
    settings.DATABASE_REPLICA_ROUTING = True


@pytest.fixture(autouse=True)
def _fresh_state():
    replica.forget_writes()
    yield
    replica.forget_writes()


@contextmanager
def queries_by_alias():
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as secondary,
    ):
        yield SimpleNamespace(primary=primary, replica=secondary)


def touching(captured, table: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if f'"{table}"' in q["sql"]]


def writes(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].lstrip().startswith(WRITES)]


def test_without_a_replica_url_every_query_goes_to_the_primary(
    client, make_user, login, site01, settings
):
    settings.DATABASE_REPLICA_ROUTING = False  # as trialedc/settings.py makes it without the URL
    ParticipantFactory(site=site01)
    login(make_user(Role.DATA_MANAGER))
    with queries_by_alias() as queries:
        assert client.get("/dashboards/").status_code == 200
    assert touching(queries.primary, PARTICIPANT)
    assert queries.replica.captured_queries == []


def test_the_dashboard_reads_from_the_replica_and_writes_nothing_there(
    routing, client, make_user, login, site01
):
    ParticipantFactory(site=site01)
    login(make_user(Role.DATA_MANAGER))
    # Signing in wrote (the last sign-in): this browser reads from the primary for a while.
    assert client.cookies[replica.PIN_COOKIE].value
    with queries_by_alias() as queries:
        assert client.get("/dashboards/").status_code == 200
    assert touching(queries.replica, PARTICIPANT) == []
    # Once that while has passed (the cookie expired), the dashboard reads from the replica.
    del client.cookies[replica.PIN_COOKIE]
    with queries_by_alias() as queries:
        assert client.get("/dashboards/").status_code == 200
    assert touching(queries.replica, PARTICIPANT)
    assert touching(queries.primary, PARTICIPANT) == []
    assert writes(queries.replica) == []


def test_a_page_reads_its_own_write_from_the_primary(
    routing, client, make_user, login, site01, django_user_model
):
    coordinator = make_user(Role.COORDINATOR)
    login(coordinator)
    with queries_by_alias() as queries:
        response = client.post("/participants/screen/", screen_data(site01))
    assert response.status_code == 302
    assert any(sql.lstrip().startswith("INSERT") for sql in touching(queries.primary, SCREENING))
    assert writes(queries.replica) == []
    assert response.cookies[replica.PIN_COOKIE]["max-age"] == 5

    # The page after the redirect shows the row just written, read from the primary.
    number = Screening.objects.get().screening_number
    with queries_by_alias() as queries:
        page = client.get("/participants/screening/").content.decode()
    assert number in page
    assert touching(queries.primary, SCREENING)
    assert touching(queries.replica, SCREENING) == []

    # Another browser that wrote nothing reads the list from the replica.
    other = client.__class__()
    other.force_login(make_user(Role.MONITOR))
    with queries_by_alias() as queries:
        assert other.get("/participants/screening/").status_code == 200
    assert touching(queries.replica, SCREENING)
    assert touching(queries.primary, SCREENING) == []


def test_after_a_write_in_the_same_request_or_inside_a_transaction_reads_stay_on_the_primary(
    routing, site01
):
    replica.forget_writes()  # a new request: the site was written before it
    with queries_by_alias() as queries, reading_from_replica():
        Site.objects.get(pk=site01.pk)
    assert touching(queries.replica, Site._meta.db_table)

    # A write, then a block that reads: the mirror is not a standby whose replay position
    # proves it has the write, so the primary answers (at once, or after waiting).
    Site.objects.filter(pk=site01.pk).update(name="Renamed")
    with queries_by_alias() as queries, reading_from_replica(wait_seconds=0.2):
        assert Site.objects.get(pk=site01.pk).name == "Renamed"
    assert touching(queries.primary, Site._meta.db_table)
    assert touching(queries.replica, Site._meta.db_table) == []

    # A write inside a block sends the block's later reads to the primary.
    replica.forget_writes()
    with queries_by_alias() as queries, reading_from_replica():
        Site.objects.get(pk=site01.pk)
        Site.objects.filter(pk=site01.pk).update(name="Again")
        assert Site.objects.get(pk=site01.pk).name == "Again"
    assert len(touching(queries.replica, Site._meta.db_table)) == 1
    assert writes(queries.replica) == []

    replica.forget_writes()
    with queries_by_alias() as queries, transaction.atomic(), reading_from_replica():
        Site.objects.get(pk=site01.pk)
    assert touching(queries.replica, Site._meta.db_table) == []


def test_the_replica_refuses_writes(routing):
    with pytest.raises(DatabaseError, match="read-only transaction"):
        Site.objects.using("replica").create(code="99", name="Nowhere")


def test_an_unreachable_replica_leaves_the_reads_on_the_primary(routing, site01, monkeypatch):
    def refuse():
        raise OperationalError("connection refused")

    replica.forget_writes()  # a new request: the site was written before it
    monkeypatch.setattr(connections["replica"], "ensure_connection", refuse)
    monkeypatch.setattr(replica, "_unreachable_until", 0.0)
    with reading_from_replica():
        assert replica.current_alias() == "default"
        assert Site.objects.get(pk=site01.pk) == site01
    # Not tried again at once (a host that drops packets would cost each page its timeout)...
    retry_at = replica._unreachable_until
    monkeypatch.undo()  # the replica answers again
    monkeypatch.setattr(replica, "_unreachable_until", retry_at)
    with reading_from_replica():
        assert replica.current_alias() == "default"
    # ... but after RETRY_AFTER_SECONDS.
    monkeypatch.setattr(replica, "_unreachable_until", 0.0)
    with reading_from_replica():
        assert replica.current_alias() == "replica"


def test_the_ipd_export_reads_from_a_replica_that_has_replayed_its_writes(
    routing, site01, roles, monkeypatch, settings, tmp_path
):
    from .exports_data import build_trial

    settings.MEDIA_ROOT = tmp_path / "media"
    build_trial(site01)
    # A streaming standby past the primary's WAL position (the mirror cannot say so itself).
    monkeypatch.setattr(replica, "_replica_caught_up", lambda: True)
    run = export_services.export_run_start(user=None)
    with queries_by_alias() as queries:
        run = export_services.export_run_build(run_id=run.pk)
    assert run.status == "done", run.error
    assert touching(queries.replica, PARTICIPANT)
    assert writes(queries.replica) == []
    # The run's claim, the export IDs and the heartbeats are written to the primary.
    assert writes(queries.primary)


def test_a_mirror_is_not_taken_for_a_standby_that_has_replayed(routing):
    assert replica._replica_caught_up() is False
