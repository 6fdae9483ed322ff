"""Identifying data (PHI) reach only the participant's own site (SPEC §1, issue 4).

The demo trial is crawled as each role; every response is searched for the demo patients'
names and national IDs. Sponsor, statistician, data manager and pharmacist never see them; a
monitor of site 02 never sees site 01's. A coordinator of site 01 does (the search works).
"""

import pytest
from django.core.management import call_command
from django.db import transaction

from kernel.models import Site, User
from kernel.roles import Role
from kernel.services import user_set_up
from participants.models import IdentifyingData, Screening

from .crawl import crawl
from .factories import PASSWORD
from .pages import PAGES, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_trial(django_db_setup, django_db_blocker):
    """The demo trial and a monitor of site 02, made once for the module's six crawls (as
    tests/test_blinded_crawl.py does) inside a transaction rolled back at the end; each test
    runs in a savepoint within it, so what one crawl writes is gone before the next. (It was
    made again for each crawl: load_demo was most of a test's set-up; then the page worlds.)
    Yields the crawls' seeds."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", "--participants", "6", "--password", PASSWORD)
        user_set_up(username="monitor2", password=PASSWORD, role=Role.MONITOR, site_codes=["02"])
        # The page worlds too, and the crawls' seeds: they were built again in each crawl.
        yield seeds()
        transaction.set_rollback(True)


def seeds() -> list[str]:
    from participants.models import Participant

    paths = ["/", "/participants/", "/participants/screening/"]
    for participant in Participant.objects.select_related("identity"):
        world = build_world(participant)
        paths += [build(world) for _, build, _ in PAGES.values()]
    paths += [f"/participants/{s.screening_number}/" for s in Screening.objects.all()]
    return sorted(set(paths))


def phi_of(site_code=None) -> list[str]:
    identities = IdentifyingData.objects.all()
    if site_code:
        identities = identities.filter(screening__site__code=site_code)
    values = []
    for identity in identities:
        values += [identity.full_name, identity.national_id, identity.hospital_record_number]
    return [v for v in values if v]


def seen_phi(client, start, username, site_code=None, check_links=False) -> list[tuple[str, str]]:
    phi = phi_of(site_code)  # the page worlds' screenings included (built with the seeds)
    client.force_login(User.objects.get(username=username))
    result = crawl(client, start=start, check_links=check_links)
    assert not result.errors, result.errors
    return [(value, path) for path, body in result.bodies.items() for value in phi if value in body]


@pytest.mark.parametrize("username", ["sponsor", "statistician", "datamanager", "pharmacist"])
def test_roles_without_phi_permission_see_no_identifying_data(client, demo_trial, username):
    assert seen_phi(client, demo_trial, username) == []


def test_a_monitor_of_site_02_sees_no_identifying_data_of_site_01(client, demo_trial):
    assert Site.objects.get(code="01").screenings.exists()
    assert seen_phi(client, demo_trial, "monitor2", "01") == []


def test_a_coordinator_of_site_01_sees_its_own_patients_and_no_others(client, demo_trial):
    # Every page's links read by HTMLParser too (tests/crawl.py links_of is proved here on
    # about a thousand pages: lists, CRF forms, identifying data, audit histories).
    seen = {value for value, _ in seen_phi(client, demo_trial, "coordinator", check_links=True)}
    assert set(phi_of("01")) <= seen
    assert not seen & set(phi_of("02"))


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_crawl_starts_from_the_page_worlds_untouched(client, demo_trial, turn):
    """The page worlds are shared by the module; each crawl runs in a savepoint of its own.
    Both turns start from the worlds alone, then write (a session, a screening's name): had the
    first turn's writes outlived it, the second would start from them."""
    from django.contrib.sessions.models import Session

    assert not Session.objects.exists()
    assert not IdentifyingData.objects.filter(full_name="Written by a crawl").exists()
    client.force_login(User.objects.get(username="coordinator"))
    IdentifyingData.objects.filter(pk=IdentifyingData.objects.first().pk).update(
        full_name="Written by a crawl"
    )
    assert Session.objects.exists()
