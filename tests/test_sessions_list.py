"""The list of one's signed-in sessions (ASVS 3.3.4): each device where the account is signed in,
since when and from where, and any other one ended at once."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import UserSession
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from .factories import PASSWORD

pytestmark = pytest.mark.django_db

WARD_BROWSER = "Mozilla/5.0 (Windows NT 10.0) ward-7-workstation"


def signed_in(user, **headers) -> Client:
    device = Client(**headers)
    response = device.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return device


def test_the_user_sees_each_device_and_which_one_is_this(make_user):
    user = make_user(Role.COORDINATOR)
    ward = signed_in(user, HTTP_USER_AGENT=WARD_BROWSER, REMOTE_ADDR="10.7.0.12")
    office = signed_in(user)
    page = office.get("/account/sessions/").content.decode()
    assert page.count("<tr>") == 3  # the header and two sessions
    assert "ward-7-workstation" in page
    assert "10.7.0.12" in page
    assert page.count('data-testid="this-session"') == 1
    assert ward.session.session_key not in page  # the key itself is never shown


def test_ending_another_session_signs_that_device_out_at_once_and_is_logged(make_user):
    user = make_user(Role.INVESTIGATOR)
    ward = signed_in(user, HTTP_USER_AGENT=WARD_BROWSER)
    office = signed_in(user)
    row = UserSession.objects.get(session_key=ward.session.session_key)
    response = office.post("/account/sessions/", {"end": row.pk}, follow=True)
    assert "That session has ended" in response.content.decode()
    assert ward.get("/").status_code == 302  # signed out
    assert office.get("/").status_code == 200
    event = SecurityEvent.objects.get(kind=SecurityEventKind.SESSION_ENDED)
    assert event.user == user
    assert event.detail["browser"] == WARD_BROWSER


def test_nobody_ends_another_users_session_or_their_own_by_this_form(make_user):
    victim = make_user(Role.COORDINATOR, username="victim")
    attacker = make_user(Role.COORDINATOR, username="attacker")
    victims_device = signed_in(victim)
    attackers_device = signed_in(attacker)
    victims_row = UserSession.objects.get(user=victim)
    refused = attackers_device.post("/account/sessions/", {"end": victims_row.pk}, follow=True)
    assert "not one of yours on another device" in refused.content.decode()
    assert victims_device.get("/").status_code == 200
    own = UserSession.objects.get(user=attacker)
    attackers_device.post("/account/sessions/", {"end": own.pk})
    assert attackers_device.get("/").status_code == 200
    for junk in ("", "x", "-1", "9" * 30):
        assert attackers_device.post("/account/sessions/", {"end": junk}).status_code == 302
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.SESSION_ENDED).exists()


def test_signed_out_and_expired_sessions_leave_the_list(make_user):
    user = make_user(Role.MONITOR)
    gone = signed_in(user)
    gone.post("/logout/")
    signed_in(user)  # at the office, then left idle
    assert UserSession.objects.filter(user=user).count() == 1
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        other = signed_in(user)
        page = other.get("/account/sessions/").content.decode()
    assert page.count('data-testid="this-session"') == 1
    assert page.count("<tr>") == 2  # the office session expired after 30 idle minutes


def test_the_session_stays_listed_as_this_device_after_a_password_change(make_user):
    user = make_user(Role.COORDINATOR)
    device = signed_in(user)
    new = "ward-seven-night-shift-42"
    device.post(
        "/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    page = device.get("/account/sessions/").content.decode()
    assert page.count('data-testid="this-session"') == 1
    assert page.count("<tr>") == 2


def test_the_nightly_sweep_deletes_expired_sessions_and_their_lines(make_user):
    from importlib import import_module

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    from accounts.services import sessions_sweep

    # (A transactional test elsewhere may have flushed the rows the migration made.)
    import_module("kernel.migrations.0008_sessions_sweep_schedule").schedule(apps, None)

    user = make_user(Role.SPONSOR)
    signed_in(user)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        alive = signed_in(user)
        assert sessions_sweep() == {"sessions": 1, "listed": 1}
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [
        alive.session.session_key
    ]
    assert PeriodicTask.objects.get(task="trialedc.sessions_sweep").enabled
