"""`make bench`: the dashboard at 10,000 participants, against the bare SQL it needs.

The page's own queries are captured, then run again by themselves through a cursor: the ratio
(page time / SQL time) is what Python, templates and plots add on top of the database's work.
The number of queries is counted at 1,000 and at 10,000 participants: it must not grow.
(BENCH_PARTICIPANTS=2000 makes the large trial 2,000 and the small one 200, to try it out.)
"""

import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kernel.models import Site, User
from trialedc.management.commands.load_demo import DEMO_PASSWORD

from .conftest import LARGE, SMALL

pytestmark = [pytest.mark.bench]

ROUNDS = 3
PATHS = ("/dashboards/", "/dashboards/consort/")
_QUERIES: dict[tuple[str, int], int] = {}


def _best(action) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


@pytest.mark.parametrize("participants", [SMALL, LARGE])
def test_the_dashboard_at(participants, bench_trial, bench_db, bench_record):
    bench_trial(participants)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # The data manager of the demo works at site 01; here at both, to see all participants.
    reader = User.objects.get(username="datamanager")
    reader.sites.set(Site.objects.all())
    client = Client()
    login = client.post("/login/", {"username": reader.username, "password": DEMO_PASSWORD})
    assert login.status_code == 302
    for path in PATHS:
        assert client.get(path).status_code == 200  # warm caches
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        statements = [q["sql"] for q in captured.captured_queries]
        _QUERIES[(path, participants)] = len(statements)
        if participants != LARGE:
            continue

        def page(path=path):
            assert client.get(path).status_code == 200

        def bare_sql(statements=statements):
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                    if cursor.description is not None:
                        cursor.fetchall()

        page_time, sql_time = _best(page), _best(bare_sql)
        counts = {n: _QUERIES.get((path, n)) for n in (SMALL, LARGE)}
        print(
            f"\n{path} at {participants:,} participants: page {page_time * 1000:.0f} ms, "
            f"its {len(statements)} queries alone {sql_time * 1000:.0f} ms, "
            f"ratio {page_time / sql_time:.1f}; queries at {SMALL:,} / {LARGE:,}: "
            f"{counts[SMALL]} / {counts[LARGE]}"
        )
        bench_record(
            measure=f"{path} at {participants:,} participants, {len(statements)} queries (ms)",
            ours=page_time * 1000,
            baseline=sql_time * 1000,
            unit="ms",
            ratio=page_time / sql_time,
            goal="<= 3x SQL, same queries",
            met=page_time / sql_time <= 3 and counts[SMALL] == counts[LARGE],
            details={"queries": counts},
        )
