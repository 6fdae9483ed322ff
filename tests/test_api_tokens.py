"""API tokens (issue 22): stored hashed, shown once, expiring, revocable by their user and the
data manager; every call in the security log."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api import services
from api.models import ApiToken
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from .api_client import api_get, token_for
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_the_secret_is_stored(make_user):
    user = make_user(Role.MONITOR)
    token, whole = services.token_create(user=user, name="R", days=7)
    prefix, secret = whole.removeprefix("edc_").split("_", 1)
    stored = ApiToken.objects.get()
    assert stored.prefix == prefix == token.prefix
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    for value in ApiToken.objects.values().get().values():
        assert secret not in str(value)
    assert len(secret) >= 40  # 256 random bits


def test_a_token_opens_the_api_as_its_user_and_notes_when_it_was_used(client, make_user):
    user = make_user(Role.MONITOR)
    whole = token_for(user)
    response = api_get(client, "/api/v1/sites/", whole)
    assert response.status_code == 200
    assert [s["code"] for s in response.json()["results"]] == ["01"]
    assert ApiToken.objects.get().last_used_at is not None
    assert "sessionid" not in response.cookies  # a token call opens no session


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "edc_00000000_" + t.split("_", 2)[2],  # unknown prefix
        lambda t: t.removeprefix("edc_"),
        lambda t: "",
    ],
)
def test_a_wrong_token_is_refused_with_401(client, make_user, mangle):
    whole = token_for(make_user(Role.MONITOR))
    response = client.get("/api/v1/sites/", HTTP_AUTHORIZATION=f"Bearer {mangle(whole)}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_stops_working_when_it_expires(client, make_user):
    whole = token_for(make_user(Role.MONITOR), days=2)
    with time_machine.travel(timezone.now() + timedelta(days=1, hours=23)):
        assert api_get(client, "/api/v1/sites/", whole).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=2, minutes=1)):
        assert api_get(client, "/api/v1/sites/", whole).status_code == 401


def test_a_revoked_token_or_an_inactive_user_opens_nothing(client, make_user):
    user = make_user(Role.MONITOR)
    whole = token_for(user)
    other = token_for(user, name="second")
    services.token_revoke(token_id=ApiToken.objects.get(name="test script").pk, user=user)
    assert api_get(client, "/api/v1/sites/", whole).status_code == 401
    assert api_get(client, "/api/v1/sites/", other).status_code == 200
    user.is_active = False
    user.save()
    assert api_get(client, "/api/v1/sites/", other).status_code == 401


def test_a_lifetime_beyond_the_limit_or_no_role_is_refused(make_user, settings):
    settings.API_TOKEN_MAX_DAYS = 90
    with pytest.raises(services.TokenRefused, match="1 to 90 days"):
        services.token_create(user=make_user(Role.MONITOR), name="R", days=91)
    with pytest.raises(services.TokenRefused, match="no trial role"):
        services.token_create(user=UserFactory(username="nobody"), name="R", days=9)
    assert not ApiToken.objects.exists()


def test_the_page_shows_a_new_token_once(client, make_user, login):
    login(make_user(Role.SPONSOR))
    response = client.post(
        "/account/api-tokens/", {"action": "create", "name": "Stata at HQ", "days": "30"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    token = ApiToken.objects.get(name="Stata at HQ")
    start = body.index(f"edc_{token.prefix}_")
    whole = body[start:].split("<", 1)[0]
    assert services.token_find(whole) == token
    again = client.get("/account/api-tokens/").content.decode()
    assert "Stata at HQ" in again
    assert whole not in again
    assert f"edc_{token.prefix}_…" in again
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.API_TOKEN_CREATED).count() == 1


def test_the_page_refuses_a_bad_lifetime_and_keeps_the_name(client, make_user, login, settings):
    settings.API_TOKEN_MAX_DAYS = 30
    login(make_user(Role.SPONSOR))
    response = client.post("/account/api-tokens/", {"action": "create", "name": "R", "days": "31"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "less than or equal to 30" in body
    assert 'value="R"' in body
    assert not ApiToken.objects.exists()


def test_a_user_revokes_their_own_token_but_not_anothers(client, make_user, login):
    mine = make_user(Role.MONITOR)
    theirs = make_user(Role.SPONSOR)
    token_for(mine, name="mine")
    token_for(theirs, name="theirs")
    login(mine)
    other = ApiToken.objects.get(name="theirs")
    response = client.post(
        "/account/api-tokens/", {"action": "revoke", "token": other.pk}, follow=True
    )
    assert "not one you may revoke" in response.content.decode()
    other.refresh_from_db()
    assert other.revoked_at is None
    assert "theirs" not in client.get("/account/api-tokens/").content.decode()
    own = ApiToken.objects.get(name="mine")
    client.post("/account/api-tokens/", {"action": "revoke", "token": own.pk})
    own.refresh_from_db()
    assert own.revoked_at is not None
    assert own.revoked_by == mine


def test_the_data_manager_sees_and_revokes_anyones_token(client, make_user, login):
    sponsor = make_user(Role.SPONSOR)
    whole = token_for(sponsor, name="sponsor's R")
    manager = make_user(Role.DATA_MANAGER)
    login(manager)
    page = client.get("/account/api-tokens/").content.decode()
    assert "sponsor&#x27;s R" in page
    token = ApiToken.objects.get()
    client.post("/account/api-tokens/", {"action": "revoke", "token": token.pk})
    token.refresh_from_db()
    assert token.revoked_by == manager
    assert api_get(client, "/api/v1/sites/", whole).status_code == 401
    event = SecurityEvent.objects.get(kind=SecurityEventKind.API_TOKEN_REVOKED)
    assert (event.user, event.actor) == (sponsor, manager)


def test_every_call_is_in_the_security_log(client, make_user):
    user = make_user(Role.MONITOR)
    whole = token_for(user)
    api_get(client, "/api/v1/sites/", whole)
    api_get(client, "/api/v1/exports/", whole)  # refused: a monitor does not export
    client.get("/api/v1/sites/")  # no token at all
    calls = SecurityEvent.objects.filter(kind=SecurityEventKind.API_CALL).order_by("pk")
    assert [(e.user, e.detail["path"], e.detail["status"]) for e in calls] == [
        (user, "/api/v1/sites/", 200),
        (user, "/api/v1/exports/", 403),
        (None, "/api/v1/sites/", 401),
    ]
    assert calls[0].detail["token"] == whole.split("_")[1]


def test_calls_over_the_rate_limit_get_429(client, make_user, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "3/60"}
    whole = token_for(make_user(Role.MONITOR))
    # The four calls inside one fixed 60-second window: the clock stopped at its start (run
    # at a minute's turn, the fourth call fell in a new window and was allowed).
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        statuses = [api_get(client, "/api/v1/sites/", whole).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert SecurityEvent.objects.filter(kind=SecurityEventKind.RATE_LIMITED).exists()


def test_where_two_factor_is_required_only_a_verified_session_makes_a_token(make_user, settings):
    from django.test import RequestFactory

    settings.TWO_FACTOR_ENFORCED = True
    manager = make_user(Role.DATA_MANAGER)
    request = RequestFactory().post("/account/api-tokens/")
    request.user = manager
    manager.is_verified = lambda: False
    with pytest.raises(services.TokenRefused, match="second factor"):
        services.token_create(user=manager, name="R", days=9, request=request)
    with pytest.raises(services.TokenRefused, match="second factor"):
        services.token_create(user=manager, name="R", days=9)
    manager.is_verified = lambda: True
    services.token_create(user=manager, name="R", days=9, request=request)
    # The sponsor need not give one (offered, not required): a token without a session is fine.
    services.token_create(user=make_user(Role.SPONSOR), name="R", days=9)
