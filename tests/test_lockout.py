"""Lock-out that cannot be used against staff (issue 17, decision 0006).

Axes locks a username at one address; a per-username delay slows guessing one account from many
addresses without keeping its owner out for an hour; the sign-in rate limit counts per username
at an address, so a ward behind one NAT address signs in at shift change. The addresses are
documentation ranges (RFC 5737) set as REMOTE_ADDR: nothing is sent anywhere.
"""

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from accounts.ratelimit import sign_in_wait
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from .factories import PASSWORD

pytestmark = pytest.mark.django_db

WARD = "192.0.2.10"  # the ward's NAT address
HOME = "198.51.100.20"
ELSEWHERE = "198.51.100.99"
ATTACKER = "203.0.113.5"


def _sign_in(username, password, address, client=None):
    client = client or Client()
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _wrong(username, address, times=1):
    for _ in range(times):
        response = _sign_in(username, "not-the-password", address)
        assert response.status_code in (200, 429), response.status_code
    return response


@pytest.fixture
def investigator(make_user):
    return make_user(Role.INVESTIGATOR, username="investigator")


@pytest.fixture
def clock():
    with time_machine.travel("2026-12-06 03:00:00+00:00", tick=False) as traveller:
        yield traveller


def test_five_wrong_passwords_from_one_address_do_not_lock_the_user_at_another(investigator, clock):
    assert _sign_in("investigator", PASSWORD, WARD).status_code == 302  # her usual address
    clock.shift(3600)
    _wrong("investigator", ATTACKER, times=settings.AXES_FAILURE_LIMIT)

    response = _sign_in("investigator", PASSWORD, WARD)

    assert response.status_code == 302


def test_the_user_at_the_guessing_address_is_locked_for_the_cool_off(investigator, clock):
    _wrong("investigator", WARD, times=settings.AXES_FAILURE_LIMIT)

    locked = _sign_in("investigator", PASSWORD, WARD)
    assert locked.status_code == 429
    assert "This account is locked" in locked.content.decode()
    # Tries during the lock are refused unchecked and do not extend it.
    clock.shift(50 * 60)
    assert _sign_in("investigator", PASSWORD, WARD).status_code == 429
    clock.shift(11 * 60)
    assert _sign_in("investigator", PASSWORD, WARD).status_code == 302


def test_at_an_address_it_never_used_the_owner_waits_seconds_not_an_hour(investigator, clock):
    _wrong("investigator", ATTACKER, times=settings.AXES_FAILURE_LIMIT)

    waiting = _sign_in("investigator", PASSWORD, HOME)
    assert waiting.status_code == 429
    assert waiting["Retry-After"] == "1"
    body = waiting.content.decode()
    assert "Wait before signing in again" in body
    assert "Try again in 1 second." in body
    clock.shift(1)
    assert _sign_in("investigator", PASSWORD, HOME).status_code == 302


def test_the_delay_for_one_username_doubles_with_each_wrong_password_from_anywhere(
    investigator, clock, settings
):
    settings.SIGN_IN_DELAY_MAX_SECONDS = 60
    # The first AXES_FAILURE_LIMIT are free (one address: it is locked there).
    _wrong("investigator", ATTACKER, times=settings.AXES_FAILURE_LIMIT)
    waits = []
    for n in range(8):
        address = f"203.0.113.{10 + n}"
        refused = _sign_in("investigator", "guess", address)
        assert refused.status_code == 429
        wait = int(refused["Retry-After"])
        waits.append(wait)
        clock.shift(wait)
        assert _sign_in("investigator", "guess", address).status_code == 200  # checked: wrong

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_delayed_try_checks_no_password_and_is_in_the_security_log(investigator, clock):
    _wrong("investigator", ATTACKER, times=settings.AXES_FAILURE_LIMIT)
    failures = SecurityEvent.objects.filter(kind=SecurityEventKind.SIGN_IN_FAILED).count()

    assert _sign_in("investigator", PASSWORD, ELSEWHERE).status_code == 429

    assert SecurityEvent.objects.filter(kind=SecurityEventKind.SIGN_IN_FAILED).count() == failures
    delayed = SecurityEvent.objects.get(kind=SecurityEventKind.SIGN_IN_DELAYED)
    assert delayed.username == "investigator"
    assert delayed.ip_address == ELSEWHERE
    assert delayed.detail == {"failures": settings.AXES_FAILURE_LIMIT, "wait_seconds": 1}


def test_every_failure_and_the_lock_are_in_the_security_log(investigator, clock):
    _wrong("investigator", ATTACKER, times=settings.AXES_FAILURE_LIMIT)
    _sign_in("investigator", PASSWORD, ATTACKER)  # refused: locked

    events = SecurityEvent.objects.filter(username="investigator", ip_address=ATTACKER)
    kinds = list(events.order_by("pk").values_list("kind", flat=True))
    limit = settings.AXES_FAILURE_LIMIT
    assert kinds.count(SecurityEventKind.SIGN_IN_FAILED) == limit + 1
    assert kinds.count(SecurityEventKind.LOCKED_OUT) == 2  # at the fifth, and the refused try


def test_an_unknown_username_is_delayed_like_a_real_one(clock):
    """The delay says nothing about whether an account exists."""
    _wrong("nobody-here", ATTACKER, times=settings.AXES_FAILURE_LIMIT)
    assert sign_in_wait(username="nobody-here", address=HOME) == (settings.AXES_FAILURE_LIMIT, 1)


def test_many_staff_behind_one_address_all_sign_in_at_shift_change(make_user, clock):
    staff = [make_user(Role.COORDINATOR, username=f"nurse{i:02}") for i in range(60)]
    for i, user in enumerate(staff):
        if i % 3 == 0:  # a third mistype their password first
            assert _sign_in(user.username, "typo", WARD).status_code == 200
        response = _sign_in(user.username, PASSWORD, WARD)
        assert response.status_code == 302, (user.username, response.status_code)
        clock.shift(2)  # 60 people in two minutes
