"""The session's user read with what every signed-in request asks of it, in one statement
(kernel.backends.sign_in_annotation, issue 24 fourth pass): their permissions and role names,
whether they have a second factor, their first site's time zone and calendar. The same answers
as the reads each of these made on its own before."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import twofactor
from kernel.backends import TrialRoleBackend, first_site_preferences, sign_in_annotation
from kernel.models import User
from kernel.roles import Role, roles_of

from .factories import SiteFactory, coordinator_with_extra_groups

pytestmark = pytest.mark.django_db


def session_user(user) -> User:
    found = TrialRoleBackend().get_user(user.pk)
    assert found is not None
    return found


def test_permissions_and_roles_come_with_the_session_user_the_same_as_read_apart(make_user, roles):
    coordinator = coordinator_with_extra_groups(make_user)

    apart = User.objects.get(pk=coordinator.pk)  # no annotations: its own query, as before
    expected = (apart.get_all_permissions(), roles_of(apart), apart._trial_role_names)

    together = session_user(coordinator)
    with CaptureQueriesContext(connection) as read:
        found = (together.get_all_permissions(), roles_of(together), together._trial_role_names)
    assert read.captured_queries == []
    assert found == expected
    assert "auth.view_group" in found[0]  # an own permission outside the trial's
    assert "randomization.view_allocation" not in found[0]  # never outside a role
    assert "no permissions at all" in found[2]
    assert found[1] == {Role.COORDINATOR, Role.MONITOR}
    assert together.has_perm("outcomes.add_bloodgas") == apart.has_perm("outcomes.add_bloodgas")


def test_a_user_without_permissions_or_groups_has_none(site01):
    plain = User.objects.create_user("plain", password="x")  # noqa: S106
    user = session_user(plain)
    assert user.get_all_permissions() == set()
    assert roles_of(user) == set()


def test_the_second_factor_is_that_of_a_confirmed_authenticator(make_user, roles):
    user = make_user(Role.COORDINATOR)
    assert session_user(user).sign_in_second_factor is False
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=False)
    assert session_user(user).sign_in_second_factor is False
    assert twofactor.is_set_up(user) is False
    device.confirmed = True
    device.save()
    assert session_user(user).sign_in_second_factor is True
    assert twofactor.was_set_up_at_sign_in_read(session_user(user)) is True
    assert twofactor.is_set_up(user) is True


def test_the_first_site_is_the_first_by_code(make_user, roles, site01):
    later = SiteFactory(code="09", time_zone="Europe/London", default_calendar="gregorian")
    first = SiteFactory(code="00", time_zone="Asia/Tehran", default_calendar="jalali")
    user = make_user(Role.COORDINATOR, sites=[later, first])
    expected = user.sites.order_by("code").first()
    assert first_site_preferences(session_user(user)) == (
        expected.time_zone,
        expected.default_calendar,
    )
    assert first_site_preferences(session_user(user)) == ("Asia/Tehran", "jalali")
    # Without a site: none, read with the user or not.
    alone = make_user(Role.COORDINATOR, sites=[], username="alone")
    assert first_site_preferences(session_user(alone)) is None
    assert first_site_preferences(User.objects.get(pk=alone.pk)) is None
    assert first_site_preferences(User.objects.get(pk=user.pk)) == ("Asia/Tehran", "jalali")


def test_one_statement_reads_the_session_user_with_all_of_it(make_user, roles):
    user = make_user(Role.COORDINATOR)
    with CaptureQueriesContext(connection) as read:
        found = session_user(user)
        found.get_all_permissions()
        first_site_preferences(found)
        twofactor.was_set_up_at_sign_in_read(found)
    assert len(read.captured_queries) == 1


def test_no_annotation_can_be_added_once_the_read_is_built(make_user, roles):
    session_user(make_user(Role.COORDINATOR))
    with pytest.raises(RuntimeError):
        sign_in_annotation("late", lambda: None)
