"""The investigator dashboard lists the open queries of the data-management app."""

import pytest

from kernel.roles import Role

from .test_datamanagement_queries import raise_query, users  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_dashboard_counts_and_lists_open_queries(client, login, participant, murray, users):  # noqa: F811
    raise_query(participant, murray, users)
    login(users[Role.INVESTIGATOR])
    body = client.get("/dashboards/").content.decode()
    assert "The data-management module is not installed" not in body
    assert "1 open query." in body
    assert participant.study_id in body
