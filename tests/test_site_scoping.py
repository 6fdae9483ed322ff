"""A user bound to site 01 never reaches site 02's participants (SPEC §1, issue 3)."""

import pytest

from kernel.roles import Role
from participants.models import Participant, Screening

from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_02(site02, roles):
    return ParticipantFactory(site=site02)


@pytest.fixture
def at_01(site01, roles):
    return ParticipantFactory(site=site01)


@pytest.fixture
def coordinator01(make_user, login, site01):
    user = make_user(Role.COORDINATOR, sites=[site01])
    login(user)
    return user


def test_the_list_shows_only_own_site(client, coordinator01, at_01, at_02):
    body = client.get("/participants/").content.decode()
    assert at_01.study_id in body
    assert at_02.study_id not in body
    assert at_02.identity.full_name not in body


@pytest.mark.parametrize(
    "path",
    [
        "/participants/{p.study_id}/",
        "/participants/{p.study_id}/identity/edit/",
        "/audit/participants.participant/{p.pk}/",
        "/audit/participants.identifyingdata/{p.identity.pk}/",
    ],
)
def test_a_site_01_coordinator_cannot_open_anything_of_site_02(client, coordinator01, at_02, path):
    # 404, as for a record that does not exist: site staff cannot count another site's (issue 20)
    response = client.get(path.format(p=at_02))
    assert response.status_code == 404
    assert at_02.identity.full_name not in response.content.decode()


def test_a_site_01_coordinator_cannot_change_site_02_identifying_data(client, coordinator01, at_02):
    response = client.post(
        f"/participants/{at_02.study_id}/identity/edit/",
        {"full_name": "Changed", "reason_for_change": "typo"},
    )
    assert response.status_code == 404
    at_02.identity.refresh_from_db()
    assert at_02.identity.full_name != "Changed"


def test_a_site_01_coordinator_cannot_screen_at_site_02(client, coordinator01, site02):
    response = client.post("/participants/screen/", {"site": site02.pk, "full_name": "X Y"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Screening.objects.filter(site=site02).exists()
    assert not Participant.objects.filter(site=site02).exists()


def test_a_user_of_both_sites_sees_both(client, make_user, login, site01, site02, at_01, at_02):
    login(make_user(Role.MONITOR, sites=[site01, site02]))
    body = client.get("/participants/").content.decode()
    assert at_01.study_id in body
    assert at_02.study_id in body


def test_trial_wide_roles_see_every_site_but_no_identifying_data(
    client, make_user, login, at_01, at_02
):
    login(make_user(Role.DATA_MANAGER))
    body = client.get("/participants/").content.decode()
    assert at_01.study_id in body
    assert at_02.study_id in body
    assert at_01.identity.full_name not in body
    detail = client.get(f"/participants/{at_02.study_id}/").content.decode()
    assert at_02.identity.national_id not in detail


def test_a_site_bound_user_with_no_site_sees_nobody(client, make_user, login, at_01):
    login(make_user(Role.COORDINATOR, sites=[], username="unassigned"))
    assert at_01.study_id not in client.get("/participants/").content.decode()
