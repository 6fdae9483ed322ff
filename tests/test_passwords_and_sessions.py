"""Passwords and sessions (issue 12): forced change of initial passwords, expiry after
PASSWORD_MAX_AGE_DAYS (21 CFR 11.300(b): "periodically checked, recalled, or revised"), the
absolute session limit beside the idle one, and signing out everywhere."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from kernel.models import SecurityEvent, SecurityEventKind, User
from kernel.roles import Role
from kernel.services import user_set_up

from .factories import PASSWORD
from .test_settings import PRODUCTION_KEY, run_manage

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "ward-seven-night-shift-42"


def change(client, old=PASSWORD, new=NEW_PASSWORD, again=None):
    return client.post(
        "/password/",
        {"old_password": old, "new_password1": new, "new_password2": again or new},
    )


@pytest.fixture
def enforced(settings):
    settings.PASSWORD_CHANGE_ENFORCED = True


@pytest.fixture
def demo_user(roles, site01):
    return user_set_up(
        username="coordinator", password=PASSWORD, role=Role.COORDINATOR, site_codes=["01"]
    )


def test_the_forced_change_is_on_outside_debug_and_off_in_debug():
    probe = "from django.conf import settings; print(settings.PASSWORD_CHANGE_ENFORCED)"
    production = run_manage("shell", "-c", probe, DJANGO_SECRET_KEY=PRODUCTION_KEY)
    assert production.stdout.strip().splitlines()[-1] == "True", production.stderr
    debug = run_manage("shell", "-c", probe, DJANGO_DEBUG="true")
    assert debug.stdout.strip().splitlines()[-1] == "False", debug.stderr


def test_a_demo_password_must_be_changed_before_anything_else(client, enforced, demo_user):
    assert demo_user.must_change_password
    client.post("/login/", {"username": "coordinator", "password": PASSWORD})
    for path in ("/", "/participants/", "/preferences/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/password/"
    page = client.get("/password/").content.decode()
    assert "This is an initial password: choose your own before you go on." in page
    assert change(client).status_code == 302
    assert client.get("/").status_code == 200
    demo_user.refresh_from_db()
    assert not demo_user.must_change_password
    assert demo_user.check_password(NEW_PASSWORD)
    assert SecurityEvent.objects.filter(
        user=demo_user, kind=SecurityEventKind.PASSWORD_CHANGED
    ).exists()


def test_the_new_password_must_differ_be_long_and_uncommon(client, enforced, demo_user):
    client.force_login(demo_user)
    same = change(client, new=PASSWORD).content.decode()
    assert "The new password must differ from the current one." in same
    short = change(client, new="short-pw").content.decode()
    assert "at least 12 characters" in short
    common = change(client, new="password1234").content.decode()
    assert "This password is too common." in common
    mismatch = change(client, again="something-else-entirely").content.decode()
    assert "The two password fields didn" in mismatch
    demo_user.refresh_from_db()
    assert demo_user.must_change_password  # nothing was changed


def test_without_enforcement_the_demo_password_is_usable(client, demo_user, settings):
    settings.PASSWORD_CHANGE_ENFORCED = False
    client.force_login(demo_user)
    assert client.get("/").status_code == 200


def test_a_password_older_than_the_limit_must_be_changed(client, make_user, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    user = make_user(Role.MONITOR)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client.force_login(user)
    response = client.get("/")
    assert response["Location"] == "/password/"
    assert "more than 90 days old" in client.get("/password/").content.decode()
    change(client)
    assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert timezone.now() - user.password_changed_at < timedelta(minutes=1)


def test_a_password_younger_than_the_limit_is_fine(client, make_user, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    user = make_user(Role.MONITOR)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=89))
    client.force_login(user)
    assert client.get("/").status_code == 200


def test_a_session_ends_after_the_absolute_limit_however_active(client, make_user, settings):
    settings.SESSION_ABSOLUTE_HOURS = 12
    user = make_user(Role.INVESTIGATOR)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.post("/login/", {"username": user.username, "password": PASSWORD})
        for _ in range(24):  # a request every 29 minutes: never idle for 30
            clock.shift(timedelta(minutes=29))
            assert client.get("/").status_code == 200
        clock.shift(timedelta(minutes=25))  # 12 h 1 min after sign-in
        response = client.get("/participants/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/participants/"
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(user=user, kind=SecurityEventKind.SESSION_EXPIRED).exists()


def test_signing_out_everywhere_ends_the_other_devices_sessions(client, make_user):
    from django.test import Client

    user = make_user(Role.COORDINATOR)
    ward, home = Client(), client
    ward.post("/login/", {"username": user.username, "password": PASSWORD})
    home.post("/login/", {"username": user.username, "password": PASSWORD})
    assert ward.get("/").status_code == 200
    assert (
        "Ends every session of your account" in home.get("/sign-out-everywhere/").content.decode()
    )
    response = home.post("/sign-out-everywhere/")
    assert response["Location"] == "/login/"
    assert ward.get("/").status_code == 302
    assert home.get("/").status_code == 302
    # Signing in again afterwards works.
    ward.post("/login/", {"username": user.username, "password": PASSWORD})
    assert ward.get("/").status_code == 200
    assert SecurityEvent.objects.filter(
        user=user, kind=SecurityEventKind.SIGNED_OUT_EVERYWHERE
    ).exists()


def test_changing_the_password_signs_out_the_other_devices(client, make_user):
    from django.test import Client

    user = make_user(Role.COORDINATOR)
    ward = Client()
    ward.post("/login/", {"username": user.username, "password": PASSWORD})
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    change(client)
    assert client.get("/").status_code == 200
    assert ward.get("/").status_code == 302


def test_a_user_removed_from_a_role_loses_access_at_the_next_request(client, make_user):
    user = make_user(Role.COORDINATOR)
    client.force_login(user)
    assert client.get("/participants/").status_code == 200
    user.groups.clear()
    assert client.get("/participants/").status_code == 403


def test_while_a_change_is_owed_only_the_pages_that_stay_open_are_not_sent_to_it(
    client, make_user, settings
):
    """The reason is asked first and the pages that stay open only then (issue 24): the same
    answer for every page, owed or not."""
    settings.PASSWORD_MAX_AGE_DAYS = 90
    user = make_user(Role.MONITOR)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client.force_login(user)
    for path in ("/", "/participants/", "/preferences/", "/password-not-a-page/"):
        assert client.get(path)["Location"] == "/password/", path
    for path in ("/password/", "/account/two-factor/", "/health/", "/i18n/setlang/", "/login/"):
        assert client.get(path).get("Location") != "/password/", path
    assert client.post("/logout/").get("Location") != "/password/"
