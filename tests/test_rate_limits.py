"""Rate limits on sign-in, randomization, unblinding and exports answer HTTP 429 (issue 12)."""

import pytest
import time_machine

from accounts.ratelimit import parse_rate, retry_after
from kernel.roles import Role

from .factories import PASSWORD

pytestmark = pytest.mark.django_db

NO_REQUEST_ALLOWED = "0/60"


def test_a_rate_reads_as_requests_per_seconds():
    assert parse_rate("30/300") == (30, 300)


def test_the_request_over_the_limit_waits_for_the_next_window():
    with time_machine.travel("2026-11-26 10:00:00+00:00", tick=False) as clock:
        from django.conf import settings

        settings.RATE_LIMITS["probe"] = "2/60"
        try:
            assert retry_after(scope="probe", key="user:1") is None
            assert retry_after(scope="probe", key="user:1") is None
            assert retry_after(scope="probe", key="user:1") == 60
            assert retry_after(scope="probe", key="user:2") is None  # another user, another count
            clock.shift(61)
            assert retry_after(scope="probe", key="user:1") is None
        finally:
            del settings.RATE_LIMITS["probe"]


def _assert_refused(response):
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert wait > 0
    body = response.content.decode()
    assert "Too many requests: please wait" in body
    minutes = -(-wait // 60)
    assert f"Try again in {minutes} minute{'s' if minutes > 1 else ''}." in body


def test_sign_in_attempts_for_one_username_from_one_address_are_limited(
    client, settings, make_user
):
    # Issue 17: counted per username typed at an address (was: per address), so colleagues
    # behind the same NAT address are not refused because of one person's attempts.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/300"}
    user = make_user(Role.COORDINATOR)
    colleague = make_user(Role.INVESTIGATOR)
    for _ in range(3):
        response = client.post("/login/", {"username": user.username, "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    # Even the right password is not tried: the limit comes before the password check.
    _assert_refused(client.post("/login/", {"username": user.username, "password": PASSWORD}))
    # Reading the sign-in page is never limited.
    assert client.get("/login/").status_code == 200
    # A colleague at the same address signs in.
    response = client.post("/login/", {"username": colleague.username, "password": PASSWORD})
    assert response.status_code == 302


def test_sign_in_attempts_from_one_address_have_a_much_larger_ceiling(client, settings, make_user):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_address": "3/300"}
    user = make_user(Role.COORDINATOR)
    for name in ("someone", "someone-else", "a-third"):
        response = client.post("/login/", {"username": name, "password": "wrong"})
        assert response.status_code == 200
    _assert_refused(client.post("/login/", {"username": user.username, "password": PASSWORD}))


def test_a_refused_sign_in_does_not_count_against_the_account_in_axes(client, settings, make_user):
    from axes.models import AccessAttempt

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": NO_REQUEST_ALLOWED}
    user = make_user(Role.COORDINATOR)
    _assert_refused(client.post("/login/", {"username": user.username, "password": "wrong"}))
    assert not AccessAttempt.objects.filter(username=user.username).exists()


@pytest.mark.parametrize(
    ("scope", "role", "method", "path"),
    [
        ("randomization", Role.COORDINATOR, "post", "/randomization/participant/01-1/randomize/"),
        ("unblinding", Role.INVESTIGATOR, "post", "/randomization/participant/01-0001/unblind/"),
        ("unblinding", Role.STATISTICIAN, "post", "/randomization/trial-unblinding/"),
        ("export", Role.STATISTICIAN, "get", "/randomization/lists/1/csv/"),
        ("export", Role.SPONSOR, "post", "/exports/new/"),
        ("export", Role.SPONSOR, "get", "/exports/1/download/"),
    ],
)
def test_sensitive_endpoints_answer_429_over_their_limit(
    client, settings, make_user, scope, role, method, path
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: NO_REQUEST_ALLOWED}
    client.force_login(make_user(role))
    _assert_refused(getattr(client, method)(path))


def test_pages_that_only_show_a_form_are_not_limited(client, settings, make_user):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "export": NO_REQUEST_ALLOWED}
    client.force_login(make_user(Role.SPONSOR))
    assert client.get("/exports/new/").status_code == 200


def test_an_unauthorised_user_gets_403_not_a_counted_request(client, settings, make_user):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "unblinding": NO_REQUEST_ALLOWED}
    client.force_login(make_user(Role.MONITOR))
    assert client.post("/randomization/trial-unblinding/").status_code == 403


def test_the_limits_have_safe_defaults(settings):
    limits = {scope: parse_rate(rate) for scope, rate in settings.RATE_LIMITS.items()}
    assert limits["login"] == (30, 300)  # per username typed at one address
    assert limits["login_address"] == (300, 300)  # per address: a ward at shift change
    assert limits["unblinding"] == (5, 3600)
