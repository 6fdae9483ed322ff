"""Waiting, in a concurrency test, until another thread's statement waits on a row lock."""

from __future__ import annotations

import time

import pytest
from django.db import connection


def until_a_session_waits_on_a_lock(what: str, seconds: float = 30) -> None:
    """Returns once a session of this test database waits on a lock (pg_stat_activity); the
    test fails, naming `what`, if none does within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    pytest.fail(f"{what} never waited on a lock")
