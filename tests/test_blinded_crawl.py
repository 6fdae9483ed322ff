"""Every blinded role crawls every page it can reach: no server error, no allocation leak."""

import re

import pytest
from django.core.management import call_command

from participants.models import Participant
from trialedc.models import User
from trialedc.roles import BLINDED_ROLES, UNBLINDED_ROLES, Role

from .blinding import leak_markers
from .crawl import crawl
from .factories import PASSWORD
from .pages import PAGES, build_world
from .security_headers import csp_problems

pytestmark = pytest.mark.django_db

DEMO_USER_FOR_ROLE = {
    Role.COORDINATOR: "coordinator",
    Role.INVESTIGATOR: "investigator",
    Role.PHARMACIST: "pharmacist",
    Role.MONITOR: "monitor",
    Role.DATA_MANAGER: "datamanager",
    Role.STATISTICIAN: "statistician",
    Role.SPONSOR: "sponsor",
}


@pytest.fixture
def demo_trial():
    call_command("load_demo", "--participants", "6", "--password", PASSWORD)


def listed_paths() -> list[str]:
    """Every page of the role matrix, built for each demo participant: the crawl's seeds."""
    paths = ["/"]
    for participant in Participant.objects.select_related("identity"):
        world = build_world(participant)
        paths += [build(world) for _, build, _ in PAGES.values()]
    return sorted(set(paths))


@pytest.mark.parametrize("role", sorted(BLINDED_ROLES, key=lambda r: r.value))
def test_a_blinded_role_reaches_no_error_and_no_leak(client, demo_trial, role):
    client.force_login(User.objects.get(username=DEMO_USER_FOR_ROLE[role]))
    result = crawl(client, start=listed_paths())
    assert not result.errors, result.errors
    assert result.pages["/"] == 200
    assert len(result.pages) > 1
    for path, body in result.bodies.items():
        for marker in leak_markers():
            assert marker not in body, f"{role.label} saw {marker!r} on {path}"


EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("role", list(Role))
def test_no_page_loads_anything_from_another_origin(client, demo_trial, role):
    """Hospital intranets are offline: every script, style, image and link is the app's own."""
    client.force_login(User.objects.get(username=DEMO_USER_FOR_ROLE[role]))
    result = crawl(client, start=listed_paths())
    for path, body in result.bodies.items():
        match = EXTERNAL_ASSET.search(body)
        assert match is None, f"{path} refers to another origin: {body[match.start() :][:80]}"
    # The same pages carry the strict content security policy, which would block such an asset.
    for path, policy in result.policies.items():
        assert not csp_problems(policy), f"{role.label} on {path}: {csp_problems(policy)}"


@pytest.mark.parametrize("role", sorted(UNBLINDED_ROLES, key=lambda r: r.value))
def test_unblinded_roles_are_warned_on_every_page(client, demo_trial, role):
    client.force_login(User.objects.get(username=DEMO_USER_FOR_ROLE[role]))
    result = crawl(client, start=["/"])
    assert not result.errors
    assert all("Unblinded view" in body for body in result.bodies.values())


class _StubResponse(dict):
    def __init__(self, status, body):
        super().__init__({"Content-Type": "text/html; charset=utf-8"})
        self.status_code, self.content, self.streaming = status, body.encode(), False


class _StubClient:
    """A site of three pages, one of them broken, to prove the crawler can fail."""

    site = {
        "/": (200, '<a href="/a/">a</a> <a href="https://example.org/x">out</a>'),
        "/a/": (200, '<a href="/b/?q=1#top">b</a> <a href="/logout/">out</a>'),
        "/b/?q=1": (500, "boom"),
    }

    def __init__(self):
        self.visited = []

    def get(self, path):
        self.visited.append(path)
        return _StubResponse(*self.site[path])


def test_the_crawler_follows_links_and_reports_server_errors():
    client = _StubClient()
    result = crawl(client, start=["/"])
    assert client.visited == ["/", "/a/", "/b/?q=1"]  # no external site, no logout
    assert result.errors == ["/b/?q=1 answered 500"]


def test_the_policy_check_finds_a_missing_or_inline_friendly_policy():
    assert csp_problems(None) == ["no Content-Security-Policy header"]
    weak = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'"
    assert "the policy allows 'unsafe-inline'" in csp_problems(weak)
