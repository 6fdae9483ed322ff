"""Who may open what: every page × every role (SPEC §1). 200 where allowed, 403 otherwise.

A new page must be added to its app's tests/pages_<app>.py, or test_every_page_is_in_the_matrix
fails.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from kernel.roles import Role

from .factories import ParticipantFactory, UserFactory
from .pages import PAGES, build_world
from .pages_api import API_PREFIXES
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


@pytest.fixture
def world(site01, roles):
    return build_world(ParticipantFactory(site=site01))


@pytest.mark.parametrize("page", PAGES)
def test_each_role_may_open_only_its_pages(client, make_user, login, world, page):
    """One world per page (building it is the costly part), then every role and a visitor."""
    _, build, allowed = PAGES[page]
    path = build(world)

    response = client.get(path)
    if path.startswith(API_PREFIXES):  # a script, not a browser: 401, asking for a token
        assert response.status_code == 401, f"a visitor on {page} got {response.status_code}"
        assert response["WWW-Authenticate"] == "Bearer"
    else:
        assert response.status_code == 302, f"a visitor on {page} got {response.status_code}"
        assert response["Location"].startswith("/login/")

    wrong = []
    for role in Role:
        login(make_user(role))
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
    login(UserFactory(username="it-admin", is_staff=True, is_superuser=True))
    # The API's data endpoints ask for a trial role, even where every role may call them.
    expected = 200 if allowed == set(Role) and not path.startswith("/api/v1/") else 403
    if (status := client.get(path).status_code) != expected:
        wrong.append(f"a superuser without a trial role got {status}, expected {expected}")
    client.logout()
    assert not wrong, f"{page} ({path}): " + "; ".join(wrong)


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
