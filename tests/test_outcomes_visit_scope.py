"""The CRF page's visit read within the user's sites, its statement compiled once per scope
(outcomes.selectors.visit_in_scope_or_404, issue 24): the same answers as
kernel.access.get_in_scope_or_404, a visit of another site a 404 as one that does not exist."""

import pytest
from django.http import Http404

from kernel.access import get_in_scope_or_404
from kernel.models import User
from kernel.roles import Role
from outcomes import selectors
from outcomes.models import Visit

from . import outcomes_factories as of
from .factories import ParticipantFactory, SiteFactory

pytestmark = pytest.mark.django_db


def the_old_way(user, study_id, code):
    try:
        return get_in_scope_or_404(
            Visit.objects.select_related("participant__site"),
            user,
            site_path="participant__site",
            participant__study_id=study_id,
            code=code,
        )
    except Http404:
        return None


def the_prepared_way(user, study_id, code):
    try:
        return selectors.visit_in_scope_or_404(user, study_id=study_id, code=code)
    except Http404:
        return None


def test_the_same_visit_or_404_as_get_in_scope_or_404_for_every_scope(make_user, roles, site01):
    site02 = SiteFactory(code="02")
    here, there = ParticipantFactory(site=site01), ParticipantFactory(site=site02)
    of.schedule(here)
    of.schedule(there)
    users = [
        make_user(Role.COORDINATOR),  # own sites: 01
        make_user(Role.COORDINATOR, sites=[site02], username="c2"),
        make_user(Role.COORDINATOR, sites=[site01, site02], username="both"),
        make_user(Role.DATA_MANAGER),  # every site
        User.objects.create_user("nobody", password="x"),  # noqa: S106 — no role: nothing
    ]
    seen = set()
    for user in users:
        user = User.objects.get(pk=user.pk)
        for participant in (here, there):
            for code in ("D0", "D3", "D99"):
                expected = the_old_way(user, participant.study_id, code)
                found = the_prepared_way(user, participant.study_id, code)
                assert (found and found.pk) == (expected and expected.pk), (user, code)
                if found is not None:
                    # With its participant and site, read in the same statement.
                    assert found.participant.site.code == participant.site.code
                    seen.add((user.username, participant.site.code))
    assert ("site_coordinator", "01") in seen
    assert ("site_coordinator", "02") not in seen
    assert ("c2", "02") in seen
    assert ("c2", "01") not in seen
    assert {("both", "01"), ("both", "02")} <= seen
    assert ("data_manager", "02") in seen
    assert not any(name == "nobody" for name, _ in seen)
