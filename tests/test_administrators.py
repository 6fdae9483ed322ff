"""Administrators get no back door to the trial's data or to anyone's account (issue 20).

Finding 1: trial permissions come only from trial role groups, never from being a superuser
(kernel.backends); a superuser must give a second factor too. Finding 2: the admin never shows
or accepts an authenticator's key, sets a password only with a reason (security log, e-mail to
the user), and cannot change what a role may do. Finding 8: the admin signs in through /login/.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import transaction

from kernel.models import SecurityEvent, SecurityEventKind, User
from kernel.role_guard import RoleGroupChangeRefused
from kernel.roles import Role, role_permissions
from kernel.services import roles_sync

from .factories import PASSWORD, UserFactory, coordinator_with_extra_groups, permission
from .randomization_factories import EXOSOME, PLACEBO, store_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def it_admin(roles):
    return UserFactory(username="it-admin", is_staff=True, is_superuser=True)


# -- finding 1: a superuser is no trial role ------------------------------------------------------


def test_a_superuser_without_a_trial_role_holds_no_trial_permission(it_admin):
    for perm in (
        "randomization.view_allocation",
        "participants.view_identifyingdata",
        "outcomes.view_visit",
        "trialedc.view_securityevent",
        "trialedc.view_audit_trail",
    ):
        assert not it_admin.has_perm(perm), perm
    assert not it_admin.has_module_perms("randomization")
    # What IT administration needs stays: accounts and the admin.
    assert it_admin.has_perm("trialedc.change_user")
    assert it_admin.has_perm("auth.view_group")


def test_a_trial_permission_counts_only_through_a_trial_role(make_user):
    coordinator = make_user(Role.COORDINATOR)
    coordinator.user_permissions.add(permission("randomization.view_allocation"))
    helpers = Group.objects.create(name="helpers")
    helpers.permissions.add(permission("randomization.view_allocation"))
    coordinator.groups.add(helpers)
    coordinator = User.objects.get(pk=coordinator.pk)
    assert coordinator.has_perm("outcomes.view_visit")  # the coordinator role's own
    assert not coordinator.has_perm("randomization.view_allocation")
    pharmacist = User.objects.get(pk=make_user(Role.PHARMACIST, username="ph").pk)
    assert pharmacist.has_perm("randomization.view_allocation")


def test_a_users_permissions_and_roles_are_read_in_one_query_with_the_same_answers(make_user):
    """kernel.backends reads the user's own permissions, each group's permissions and the
    groups' names (roles_of) in one query: the same answers as reading them apart, a group
    without permissions included, a trial permission given outside a role still ignored."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kernel.roles import is_trial_permission, roles_of

    coordinator = coordinator_with_extra_groups(make_user)

    # What the three reads apart give (the rule of kernel.backends, written out again).
    role_names = {r.value for r in Role}
    expected_names = set(Group.objects.filter(user=coordinator).values_list("name", flat=True))
    expected_perms = {
        f"{app}.{code}"
        for app, code, group in Permission.objects.filter(group__user=coordinator).values_list(
            "content_type__app_label", "codename", "group__name"
        )
        if not is_trial_permission(f"{app}.{code}") or group in role_names
    } | {
        f"{app}.{code}"
        for app, code in Permission.objects.filter(user=coordinator).values_list(
            "content_type__app_label", "codename"
        )
        if not is_trial_permission(f"{app}.{code}")
    }

    together = User.objects.get(pk=coordinator.pk)
    with CaptureQueriesContext(connection) as read:
        perms = together.get_all_permissions()
        roles = roles_of(together)
    assert len(read) == 1
    assert roles == {Role.COORDINATOR, Role.MONITOR}
    assert together._trial_role_names == expected_names
    assert "no permissions at all" in together._trial_role_names
    assert "auth.view_group" in perms  # an own permission outside the trial's
    assert "randomization.view_allocation" not in perms  # never outside a role
    assert perms == expected_perms
    assert together.has_perm("outcomes.view_visit")
    assert together.has_perm("datamanagement.verify_source_data")  # through the monitor role


def test_a_superuser_opens_no_list_and_no_pharmacy_page(client, it_admin):
    rlist = store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    client.force_login(it_admin)
    for path in (
        f"/randomization/lists/{rlist.pk}/",
        f"/randomization/lists/{rlist.pk}/csv/",
        "/randomization/lists/",
        "/randomization/pharmacy/",
        "/randomization/pharmacy/list.pdf",
        "/security-log/",
    ):
        assert client.get(path).status_code == 403, path


def test_a_superuser_gives_a_second_factor_before_the_admin(client, settings, it_admin):
    settings.TWO_FACTOR_ENFORCED = True
    client.post("/login/", {"username": "it-admin", "password": PASSWORD})
    response = client.get("/admin/trialedc/user/")
    assert response.status_code == 302
    assert response["Location"] == "/account/two-factor/"


# -- finding 2: no takeover through the admin ----------------------------------------------------


def test_the_admin_neither_shows_nor_accepts_an_authenticator_key(client, it_admin, make_user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    pharmacist = make_user(Role.PHARMACIST)
    device = TOTPDevice.objects.create(user=pharmacist, name="Authenticator app", confirmed=True)
    client.force_login(it_admin)
    assert "otp_totp" not in client.get("/admin/").content.decode()
    for path in (
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_totp/totpdevice/add/",
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        f"/admin/otp_totp/totpdevice/{device.pk}/config/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert device.key not in response.content.decode()


def test_an_administrator_sets_a_password_only_with_a_reason_logged_and_told(
    client, it_admin, make_user, django_capture_on_commit_callbacks
):
    pharmacist = make_user(Role.PHARMACIST)
    pharmacist.email = "pharmacist@example.org"
    pharmacist.save()
    client.force_login(it_admin)
    url = f"/admin/trialedc/user/{pharmacist.pk}/password/"
    new = {"password1": "a-New-passw0rd-for-you", "password2": "a-New-passw0rd-for-you"}
    page = client.get(url).content.decode()
    assert 'name="reason"' in page
    refused = client.post(url, {**new, "set-password": "1"})
    assert refused.status_code == 200
    assert "This field is required" in refused.content.decode()
    pharmacist.refresh_from_db()
    assert pharmacist.check_password(PASSWORD)  # unchanged without a reason

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url, {**new, "reason": "Forgotten; identity checked in person", "set-password": "1"}
        )
    assert done.status_code == 302
    pharmacist.refresh_from_db()
    assert pharmacist.check_password(new["password1"])
    assert pharmacist.must_change_password  # an initial password: theirs to replace
    event = SecurityEvent.objects.get(kind=SecurityEventKind.PASSWORD_SET_BY_ADMIN)
    assert (event.user, event.actor) == (pharmacist, it_admin)
    assert event.detail == {"reason": "Forgotten; identity checked in person"}
    (notice,) = mail.outbox
    assert notice.to == ["pharmacist@example.org"]
    assert "Your password was set by an administrator" in notice.subject


def test_giving_the_coordinator_group_the_allocation_through_the_admin_is_refused(client, it_admin):
    coordinators = Group.objects.get(name=Role.COORDINATOR.value)
    before = set(coordinators.permissions.values_list("pk", flat=True))
    allocation = permission("randomization.view_allocation")
    client.force_login(it_admin)
    response = client.post(
        f"/admin/auth/group/{coordinators.pk}/change/",
        {"name": coordinators.name, "permissions": [*before, allocation.pk], "_save": "Save"},
    )
    assert response.status_code == 403
    assert set(coordinators.permissions.values_list("pk", flat=True)) == before
    deleted = client.post(f"/admin/auth/group/{coordinators.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert Group.objects.filter(name=Role.COORDINATOR.value).exists()


def test_a_role_group_changes_only_through_roles_sync(roles):
    coordinators = Group.objects.get(name=Role.COORDINATOR.value)
    allocation = permission("randomization.view_allocation")
    renamed = Group.objects.get(pk=coordinators.pk)
    renamed.name = "coordinators"
    for change in (
        lambda: coordinators.permissions.add(allocation),
        lambda: allocation.group_set.add(coordinators),
        lambda: coordinators.permissions.clear(),
        renamed.save,
        lambda: Group.objects.get(name=Role.COORDINATOR.value).delete(),
    ):
        with pytest.raises(RoleGroupChangeRefused), transaction.atomic():
            change()
    assert (
        not Group.objects.get(name=Role.COORDINATOR.value)
        .permissions.filter(pk=allocation.pk)
        .exists()
    )
    roles_sync()  # the one writer: permissions.py, then migrate or `manage.py roles_sync`
    other = Group.objects.create(name="IT helpers")
    other.permissions.add(permission("trialedc.view_user"))  # not a role: Django's own rules


def _held_by_each_role() -> dict[Role, set[str]]:
    return {
        role: {
            f"{app_label}.{codename}"
            for app_label, codename in Group.objects.get(name=role.value).permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        for role in Role
    }


def test_roles_sync_gives_each_role_exactly_its_listed_permissions(roles):
    roles_sync()
    assert _held_by_each_role() == {role: set(perms) for role, perms in role_permissions().items()}


@pytest.mark.django_db(transaction=True)
def test_the_role_groups_are_whole_again_after_a_flush_and_its_post_migrate_signal():
    """A transactional test's tear-down empties every table (groups and permissions too) and sends
    post_migrate once per app; the roles are synced once, on the last app's signal, when every
    app's permissions exist again (a sync on an earlier app's signal would miss the later ones)."""
    call_command("flush", verbosity=0, interactive=False, inhibit_post_migrate=True)
    assert not Group.objects.exists()
    emit_post_migrate_signal(0, False, "default")
    assert _held_by_each_role() == {role: set(perms) for role, perms in role_permissions().items()}


# -- finding 8: one sign-in, with its limits -------------------------------------------------------


def test_the_admin_has_no_sign_in_of_its_own(client, it_admin):
    response = client.get("/admin/login/?next=/admin/trialedc/user/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/trialedc/user/"
    # A password posted to the admin's old sign-in signs no one in.
    client.post("/admin/login/", {"username": "it-admin", "password": PASSWORD})
    assert client.get("/admin/").status_code == 302
    visitor = client.get("/admin/")
    assert visitor["Location"].startswith("/admin/login/")
    assert client.get(visitor["Location"])["Location"].startswith("/login/")


def test_a_signed_in_user_who_is_not_staff_is_refused_the_admin(client, make_user):
    client.force_login(make_user(Role.DATA_MANAGER))
    assert client.get("/admin/login/").status_code == 403
