"""TRUNCATE cannot empty the security log or the audit trail (issue 20, finding 9).

Row triggers refuse UPDATE and DELETE (kernel migration 0004, datamanagement.guards); TRUNCATE
skips row triggers, so a statement trigger refuses it (kernel migration 0016). The suite itself
connects as the tables' owner and allows TRUNCATE for its session (tests/conftest.py), so each
test here first takes that back, as the application never sets it.
"""

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from datamanagement.guards import history_tables
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.services import security_event_record

pytestmark = pytest.mark.django_db

# The randomization slots too: immutable once stored (randomization migration 0005).
APPEND_ONLY = ["trialedc_securityevent", "participants_historicalparticipant", "randomization_slot"]


def test_the_audit_tables_are_among_the_guarded():
    assert "participants_historicalparticipant" in history_tables()


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_by_the_application_is_refused(table):
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute("SET LOCAL trialedc.allow_truncate = 'off'")
        with pytest.raises(DatabaseError, match="append-only: TRUNCATE is refused"):
            cursor.execute(f"TRUNCATE {table} CASCADE")
        transaction.set_rollback(True)


def test_a_role_that_does_not_own_the_table_is_refused_even_when_it_allows_itself():
    """The application role, granted TRUNCATE by mistake, and setting the switch itself."""
    role = f"trialedc_test_app_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        with transaction.atomic():
            cursor.execute(f"CREATE ROLE {role} NOLOGIN")
            cursor.execute(f"GRANT TRUNCATE ON trialedc_securityevent TO {role}")
            cursor.execute(f"SET LOCAL ROLE {role}")
            cursor.execute("SET LOCAL trialedc.allow_truncate = 'on'")
            with pytest.raises(DatabaseError, match="TRUNCATE is refused"):
                cursor.execute("TRUNCATE trialedc_securityevent")
            transaction.set_rollback(True)  # the role goes with the transaction


def test_the_owner_that_allows_it_for_its_session_may_truncate():
    """What the test suite's flush does between transactional tests."""
    security_event_record(kind=SecurityEventKind.SIGN_IN, username="someone")
    with connection.cursor() as cursor:
        with transaction.atomic():
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending check of the insert
            cursor.execute("SET LOCAL trialedc.allow_truncate = 'on'")
            cursor.execute("TRUNCATE trialedc_securityevent CASCADE")
            assert not SecurityEvent.objects.exists()
            transaction.set_rollback(True)
