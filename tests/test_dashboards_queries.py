"""The dashboard's pages cost a fixed number of queries whatever the trial's size (SPEC §9)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kernel.roles import Role

from .dashboards_factories import bulk_trial

pytestmark = pytest.mark.django_db

PAGES = [
    "/dashboards/",
    "/dashboards/consort/",
    "/dashboards/reports/dsmb-open.pdf",
    "/dashboards/reports/dsmb-closed.pdf",
]
# Whatever the size: the session, the user, the roles and the menu, then the aggregates.
MAX_QUERIES = 40


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(context.captured_queries)


@pytest.fixture
def grow(site01, site02, make_user):
    owner = make_user(Role.COORDINATOR, username="bulk-owner", sites=[site01, site02])

    def add(per_site: int) -> None:
        bulk_trial(sites=[site01, site02], user=owner, per_site=per_site)

    return add


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (Role.INVESTIGATOR, "/dashboards/"),
        (Role.DATA_MANAGER, "/dashboards/"),
        (Role.SPONSOR, "/dashboards/"),
        (Role.STATISTICIAN, "/dashboards/"),
        (Role.MONITOR, "/dashboards/consort/"),
        (Role.STATISTICIAN, "/dashboards/consort/"),
        (Role.SPONSOR, "/dashboards/reports/dsmb-open.pdf"),
        (Role.STATISTICIAN, "/dashboards/reports/dsmb-closed.pdf"),
    ],
)
def test_the_number_of_queries_does_not_grow_with_the_trial(
    client, make_user, login, site01, site02, grow, role, path
):
    login(make_user(role, sites=[site01, site02]))
    grow(10)
    client.get(path)  # warm the per-process caches (content types, permissions)
    small = _queries(client, path)
    grow(90)
    large = _queries(client, path)
    assert small == large, f"{path}: {small} queries at 20 participants, {large} at 200"
    assert large <= MAX_QUERIES


def test_the_dashboard_stays_within_its_query_budget(
    client, make_user, login, site01, site02, grow, django_assert_max_num_queries
):
    login(make_user(Role.INVESTIGATOR, sites=[site01, site02]))
    grow(100)
    client.get("/dashboards/")
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/dashboards/")
    assert response.status_code == 200
    assert "completeness-matrix" in response.content.decode()
