"""`make bench`: the dashboard at 10,000 synthetic participants, against the bare SQL it needs.

The page's own queries are captured, then run again by themselves through a cursor: the ratio
(page time / SQL time) is what Python, templates and plots add on top of the database's work.
Set BENCH_PARTICIPANTS to change the size.
"""

import os
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trialedc.roles import Role

from ..dashboards_factories import bulk_trial

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

PARTICIPANTS = int(os.environ.get("BENCH_PARTICIPANTS", "10000"))
ROUNDS = 3


def _best(action) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("path", ["/dashboards/", "/dashboards/consort/"])
def test_the_dashboard_at_ten_thousand_participants(client, make_user, login, site01, site02, path):
    owner = make_user(Role.COORDINATOR, username="bench-owner", sites=[site01, site02])
    # Seven in ten screened patients are enrolled (tests/dashboards_factories.py).
    bulk_trial(sites=[site01, site02], user=owner, per_site=-(-PARTICIPANTS * 10 // 7) // 2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    login(make_user(Role.DATA_MANAGER, sites=[site01, site02]))
    assert client.get(path).status_code == 200  # warm caches
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    statements = [q["sql"] for q in captured.captured_queries]

    def page():
        assert client.get(path).status_code == 200

    def bare_sql():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()

    page_time = _best(page)
    sql_time = _best(bare_sql)
    from participants.models import Participant

    print(
        f"\n{path} at {Participant.objects.count()} participants: page {page_time * 1000:.0f} ms, "
        f"its {len(statements)} queries alone {sql_time * 1000:.0f} ms, "
        f"ratio {page_time / sql_time:.1f}"
    )
    assert page_time < 10
