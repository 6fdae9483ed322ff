"""Who may open what: every page × every role (SPEC §1). 200 where allowed, 403 otherwise.

A new page must be added to its app's tests/pages_<app>.py, or test_every_page_is_in_the_matrix
fails.
"""

from types import SimpleNamespace

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from kernel.roles import Role
from kernel.services import roles_sync

from .factories import ParticipantFactory, SiteFactory, UserFactory
from .pages import PAGES, build_world
from .pages_api import API_PREFIXES
from .pages_exports import _run
from .security_headers import csp_problems

pytestmark = pytest.mark.django_db

# The pages, per app, are in tests/pages_<app>.py.
# Pages outside the matrix, with the reason.
NOT_ROLE_PAGES = {
    "login",
    "logout",  # before/after signing in
    # Probes, open to anyone and the same for everyone: statuses, ages and counts only
    # (tests/test_health.py proves it shows no participant, alert or arm).
    "health",
    "health_live",
    "set_language",  # i18n switch, no data
    # The code step of signing in: only a session awaiting its code sees it (others are sent
    # on); it shows no data. tests/test_two_factor.py.
    "two_factor_verify",
}


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker):
    """The world the pages are opened for, a user of each role and an IT superuser without a
    trial role, made once for the module's pages inside a transaction rolled back at its end;
    each page's test runs in a savepoint within it, so what one page's requests write (sessions,
    sign-in records, the security log) is gone before the next page. They were made again for
    each of the ~150 pages: building the world (every app's objects, the randomization lists)
    was most of a test's cost. test_each_page_test_starts_from_the_world_untouched proves
    what a test writes does not reach the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        roles_sync()
        site01 = SiteFactory(code="01", name="Imam Khomeini Hospital Complex, Tehran")
        world = build_world(ParticipantFactory(site=site01))
        _run(world)  # the finished export the export pages open, built once too (see _run)
        users = {role: UserFactory(username=role.value, role=role, sites=[site01]) for role in Role}
        superuser = UserFactory(username="it-admin", is_staff=True, is_superuser=True)
        yield SimpleNamespace(world=world, users=users, superuser=superuser)
        transaction.set_rollback(True)


@pytest.mark.parametrize("page", PAGES)
def test_each_role_may_open_only_its_pages(client, login, matrix, page):
    """Every role and a visitor on one page of the world (made once for the module)."""
    _, build, allowed = PAGES[page]
    path = build(matrix.world)

    response = client.get(path)
    if path.startswith(API_PREFIXES):  # a script, not a browser: 401, asking for a token
        assert response.status_code == 401, f"a visitor on {page} got {response.status_code}"
        assert response["WWW-Authenticate"] == "Bearer"
    else:
        assert response.status_code == 302, f"a visitor on {page} got {response.status_code}"
        assert response["Location"].startswith("/login/")

    wrong = []
    for role in Role:
        login(matrix.users[role])
        response = client.get(path)
        expected = 200 if role in allowed else 403
        if response.status_code != expected:
            wrong.append(f"{role.label} got {response.status_code}, expected {expected}")
        # Allowed or refused, every page carries the strict content security policy (issue 12).
        if problems := csp_problems(response.get("Content-Security-Policy")):
            wrong.append(f"{role.label}: {problems}")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert "camera=()" in response["Permissions-Policy"]
        # No browser or proxy keeps what a signed-in user received (issue 20, finding 6).
        if "no-store" not in response.get("Cache-Control", ""):
            wrong.append(f"{role.label}: Cache-Control is {response.get('Cache-Control')!r}")
        client.logout()
    # An IT superuser without a trial role (issue 20, finding 1): only the pages every role has
    # (the home page, one's own account); no trial data.
    login(matrix.superuser)
    # The API's data endpoints ask for a trial role, even where every role may call them.
    expected = 200 if allowed == set(Role) and not path.startswith("/api/v1/") else 403
    if (status := client.get(path).status_code) != expected:
        wrong.append(f"a superuser without a trial role got {status}, expected {expected}")
    client.logout()
    assert not wrong, f"{page} ({path}): " + "; ".join(wrong)


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_page_test_starts_from_the_world_untouched(client, login, matrix, turn):
    """Both turns start with no session and the world's participant as built, then each signs
    in and changes the participant: had the first turn's writes outlived it (the world shared
    by the module, not each test in a savepoint of its own), the second would start from them."""
    from django.contrib.sessions.models import Session

    from participants.models import Participant

    participant = Participant.objects.get(pk=matrix.world.participant.pk)
    assert not Session.objects.exists()
    assert participant.status == matrix.world.participant.status
    login(matrix.users[Role.COORDINATOR])
    Participant.objects.filter(pk=participant.pk).update(status="withdrawn")
    assert Session.objects.exists()


def _url_names(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_names(entry.url_patterns, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def test_every_page_is_in_the_matrix():
    covered = {name for name, _, _ in PAGES.values()} | NOT_ROLE_PAGES
    missing = set(_url_names(get_resolver().url_patterns)) - covered
    assert not missing, f"add these pages to tests/pages_<app>.py: {sorted(missing)}"


def test_users_without_a_role_see_nothing_waiting(client, roles, site01, login):
    from .factories import UserFactory

    login(UserFactory(username="nobody", sites=[site01]))
    body = client.get("/").content.decode()
    assert "You hold no trial role yet" in body
    assert client.get("/participants/").status_code == 403
