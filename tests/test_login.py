from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from kernel.roles import Role

from .factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/participants/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/participants/")


def test_a_user_signs_in_and_lands_on_their_home_page(client, make_user):
    make_user(Role.COORDINATOR)
    response = client.post(
        "/login/", {"username": "site_coordinator", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/"
    assert "What to do today" in response.content.decode()


def test_a_wrong_password_gets_a_clear_message_and_keeps_the_username(client, make_user):
    make_user(Role.COORDINATOR)
    response = client.post("/login/", {"username": "site_coordinator", "password": "nope"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Please enter a correct username and password" in body
    assert 'value="site_coordinator"' in body


def test_six_wrong_passwords_lock_the_account_even_for_the_right_password(client, make_user):
    make_user(Role.COORDINATOR)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "site_coordinator", "password": "wrong"})
    response = client.post("/login/", {"username": "site_coordinator", "password": PASSWORD})
    assert response.status_code == 429
    assert "This account is locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_account_not_for_the_whole_ward(client, make_user, site01):
    make_user(Role.COORDINATOR)
    make_user(Role.INVESTIGATOR)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "site_coordinator", "password": "wrong"})
    # A colleague at the same workstation signs in normally, which resets the workstation count.
    response = client.post("/login/", {"username": "investigator", "password": PASSWORD})
    assert response.status_code == 302


def test_a_colleagues_sign_in_resets_the_workstation_count(client, make_user):
    make_user(Role.COORDINATOR)
    make_user(Role.INVESTIGATOR)
    make_user(Role.MONITOR)
    almost = settings.AXES_FAILURE_LIMIT - 1
    for _ in range(almost):
        client.post("/login/", {"username": "site_coordinator", "password": "wrong"})
    first = client.post("/login/", {"username": "investigator", "password": PASSWORD})
    assert first.status_code == 302
    client.post("/logout/")
    for _ in range(almost):
        client.post("/login/", {"username": "monitor", "password": "wrong"})
    # 2 × (limit − 1) failures from this workstation, but a success in between: not locked.
    response = client.post("/login/", {"username": "investigator", "password": PASSWORD})
    assert response.status_code == 302


def test_one_client_spraying_passwords_over_accounts_is_stopped(client, settings, make_user):
    # Issue 17: no longer an axes lock of the address + browser (a ward's identical workstations
    # behind one NAT address would all be locked at once): the address's sign-in ceiling stops it.
    for role in (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR):
        make_user(role)
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_address": "5/300"}
    usernames = ["site_coordinator", "investigator", "monitor"] * 2
    for username in usernames[: settings.AXES_FAILURE_LIMIT]:
        client.post("/login/", {"username": username, "password": "Winter2026!"})
    response = client.post("/login/", {"username": "monitor", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_session_expires_after_the_idle_time(client, make_user, login):
    login(make_user(Role.COORDINATOR))
    client.get("/")
    assert client.session.get_expiry_age() == settings.SESSION_IDLE_MINUTES * 60
    assert client.session.get_expire_at_browser_close() is True


def test_each_request_pushes_the_idle_expiry_saving_the_session_at_most_once_a_minute(
    client, make_user, login
):
    """The idle timeout holds: 29 min 59 s after the last push the session is alive, 30 idle
    minutes end it; requests within a minute of the last push do not save the session again."""
    login(make_user(Role.COORDINATOR))
    key = client.session.session_key

    def expiry():
        return Session.objects.get(session_key=key).expire_date

    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get("/").status_code == 200
        first = expiry()
        clock.shift(timedelta(seconds=30))
        assert client.get("/").status_code == 200
        assert expiry() == first  # within the minute: not saved again
        clock.shift(timedelta(seconds=31))
        assert client.get("/").status_code == 200
        assert expiry() == first + timedelta(seconds=61)  # pushed forward
        clock.shift(timedelta(minutes=29, seconds=59))
        assert client.get("/").status_code == 200  # idle for less than 30 minutes
        clock.shift(timedelta(minutes=30))
        response = client.get("/participants/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_out_is_a_post_and_ends_the_session(client, make_user, login):
    login(make_user(Role.COORDINATOR))
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_the_session_store_reads_as_djangos_database_store(make_user, login, client):
    """accounts.sessions reads the session row by a statement compiled once (issue 24): the
    same data for a live session, none for an expired or unknown key, as Django's own store."""
    from importlib import import_module

    from django.contrib.sessions.backends import db
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    engine = import_module(settings.SESSION_ENGINE)
    assert engine.__name__ == "accounts.sessions"
    login(make_user(Role.COORDINATOR))
    live = client.session.session_key
    expired = engine.SessionStore()
    expired["note"] = "kept"
    expired.set_expiry(timedelta(seconds=-1))
    expired.save()
    for key in (live, expired.session_key, "no-such-session-key", live):
        ours, djangos = engine.SessionStore(key), db.SessionStore(key)
        with CaptureQueriesContext(connection) as read:
            data = ours.load()
        assert len(read) == 1
        assert data == djangos.load()
        assert ours.session_key == djangos.session_key
        assert (ours.session_key is not None) is (key == live)
        assert ("_auth_user_id" in data) is (key == live)
