"""Every blinded role crawls every page it can reach: no server error, no allocation leak."""

import re

import pytest
from django.core.management import call_command
from django.db import transaction

from kernel.models import User
from kernel.roles import BLINDED_ROLES, UNBLINDED_ROLES, Role
from participants.models import Participant

from .blinding import leak_markers
from .crawl import crawl, links_of, parsed_links
from .factories import PASSWORD
from .pages import PAGES, build_world
from .security_headers import csp_problems
from .untranslated import untranslated

pytestmark = pytest.mark.django_db

DEMO_USER_FOR_ROLE = {
    Role.COORDINATOR: "coordinator",
    Role.INVESTIGATOR: "investigator",
    Role.PHARMACIST: "pharmacist",
    Role.MONITOR: "monitor",
    Role.DATA_MANAGER: "datamanager",
    Role.STATISTICIAN: "statistician",
    Role.SPONSOR: "sponsor",
    Role.SAFETY_PHYSICIAN: "safetyphysician",
}


@pytest.fixture(scope="module")
def demo_trial(django_db_setup, django_db_blocker):
    """The demo trial, loaded once for the module's crawls (loading it is a third of a crawl's
    cost) inside a transaction rolled back at the end; each test runs in a savepoint within it,
    so what one crawl might write is gone before the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", "--participants", "6", "--password", PASSWORD)
        yield
        transaction.set_rollback(True)


def listed_paths() -> list[str]:
    """Every page of the role matrix, built for each demo participant: the crawl's seeds."""
    paths = ["/"]
    for participant in Participant.objects.select_related("identity"):
        world = build_world(participant)
        paths += [build(world) for _, build, _ in PAGES.values()]
    return sorted(set(paths))


@pytest.fixture(scope="class")
def worlds(demo_trial, django_db_blocker):
    """The page worlds of every demo participant and the crawl's seeds, built once for the
    crawls of a class (they were built again in each crawl: a crawl's costliest set-up step)
    inside a savepoint of the demo's transaction, undone when the class ends: the crawls outside
    the class (the Persian sample) start from the demo alone, as before. Each crawl runs in a
    savepoint within it (TestFromEverySeed.test_each_crawl_starts_from_the_worlds_untouched)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield listed_paths()
        transaction.set_rollback(True)


EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)


def html_pages(result) -> dict[str, str]:
    """The crawled pages that are HTML documents (not CSV, JSON or fragments)."""
    return {p: b for p, b in result.bodies.items() if b.lstrip().lower().startswith("<!doctype")}


def assert_offline(result) -> None:
    """Hospital intranets are offline: every script, style, image and link is the app's own,
    and every page carries the strict content security policy that would block any other."""
    for path, body in result.bodies.items():
        match = EXTERNAL_ASSET.search(body)
        assert match is None, f"{path} refers to another origin: {body[match.start() :][:80]}"
    for path, policy in result.policies.items():
        assert not csp_problems(policy), f"{path}: {csp_problems(policy)}"


@pytest.mark.parametrize("role", sorted(BLINDED_ROLES, key=lambda r: r.value))
def test_the_dsmb_report_a_blinded_role_opens_is_pooled_with_the_safety_tables(
    client, demo_trial, role
):
    """The crawl does not read PDFs: the open DSMB report, with the demo's safety labs and
    infusion vitals in its shift and infusion tables (issue 19), is read here as text, as each
    blinded role that may open it gets it. The closed report stays refused to them."""
    from io import BytesIO

    from pypdf import PdfReader

    from kernel.trial import TRIAL

    client.force_login(User.objects.get(username=DEMO_USER_FOR_ROLE[role]))
    assert client.get("/dashboards/reports/dsmb-closed.pdf").status_code in (403, 404)
    response = client.get("/dashboards/reports/dsmb-open.pdf")
    if response.status_code != 200:
        assert response.status_code == 403
        assert role != Role.SPONSOR  # the open report is the sponsor's to read
        return
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(BytesIO(response.content)).pages).split()
    )
    assert "Laboratory shifts" in text
    assert "Infusion-reaction vital signs" in text
    assert re.search(r"15 min Heart rate \(/min\) [1-9]", text), "no infusion vitals counted"
    for arm in TRIAL.arms:
        assert arm.label not in text, f"{role.label} saw {arm.label} in the open DSMB report"
    for marker in leak_markers():
        assert marker not in text, f"{role.label} saw {marker!r} in the open DSMB report"


# The pages of one's own account: all a user without a trial role may open.
OWN_ACCOUNT_PAGES = (
    "/preferences/",
    "/calendar/",
    "/password/",
    "/sign-out-everywhere/",
    "/account/",
    # The API's schema and docs page describe the data, show none (issue 22).
    "/api/schema/",
    "/api/docs/",
)


# One crawl per role checks everything a crawl can show (it is the suite's costliest step).


class TestFromEverySeed:
    """The crawls that start from every page of the matrix built for each demo participant."""

    @pytest.mark.parametrize("turn", ["first", "second"])
    def test_each_crawl_starts_from_the_worlds_untouched(self, client, worlds, turn):
        """The worlds are shared by the class; each crawl runs in a savepoint of its own. Both
        turns start from the worlds alone, then write as the crawls do (a user, a language, a
        session): had the first turn's writes outlived it, the second would start from them."""
        from django.contrib.sessions.models import Session

        assert len(worlds) > len(PAGES)
        assert not User.objects.filter(username="it-admin").exists()
        assert not User.objects.filter(language="fa").exists()
        assert not Session.objects.exists()
        User.objects.create_user("it-admin", password=PASSWORD)
        User.objects.filter(username="investigator").update(language="fa")
        client.force_login(User.objects.get(username="investigator"))
        assert Session.objects.exists()

    @pytest.mark.parametrize("role", sorted(BLINDED_ROLES, key=lambda r: r.value))
    def test_a_blinded_role_reaches_no_error_no_leak_and_nothing_offsite(
        self, client, worlds, role
    ):
        client.force_login(User.objects.get(username=DEMO_USER_FOR_ROLE[role]))
        result = crawl(client, start=worlds)
        assert not result.errors, result.errors
        assert result.pages["/"] == 200
        assert len(result.pages) > 1
        markers = leak_markers()  # read once: the crawl is over, nothing writes after it
        for path, body in result.bodies.items():
            for marker in markers:
                assert marker not in body, f"{role.label} saw {marker!r} on {path}"
        assert_offline(result)

    def test_a_superuser_without_a_trial_role_reaches_no_arm_and_no_trial_data(
        self, client, worlds
    ):
        """IT administration needs no trial data (issue 20, finding 1): a superuser who holds no
        trial role opens the home page and their own account, and nothing of the trial."""
        admin = User.objects.create_user("it-admin", password=PASSWORD, is_staff=True)
        admin.is_superuser = True
        admin.save()
        client.force_login(admin)
        result = crawl(client, start=worlds)
        assert not result.errors, result.errors
        opened = [path for path, status in result.pages.items() if status == 200]
        trial_pages = [p for p in opened if p != "/" and not p.startswith(OWN_ACCOUNT_PAGES)]
        assert not trial_pages, f"a superuser without a role opened {trial_pages[:10]}"
        markers = leak_markers()
        for path, body in result.bodies.items():
            for marker in markers:
                assert marker not in body, f"a superuser saw {marker!r} on {path}"

    @pytest.mark.parametrize("role", sorted(UNBLINDED_ROLES, key=lambda r: r.value))
    def test_an_unblinded_role_is_warned_on_every_page_and_loads_nothing_offsite(
        self, client, worlds, role
    ):
        client.force_login(User.objects.get(username=DEMO_USER_FOR_ROLE[role]))
        result = crawl(client, start=worlds)
        assert not result.errors, result.errors
        html = html_pages(result)
        assert html
        unwarned = [p for p, b in html.items() if "Unblinded view" not in b]
        assert not unwarned, f"{role.label} not warned on {unwarned[:5]}"
        assert_offline(result)

    @pytest.mark.parametrize("has_device", [True, False], ids=["code step", "set-up"])
    def test_before_the_second_factor_every_page_leads_to_it_and_shows_nothing(
        self, client, worlds, settings, has_device
    ):
        """A password alone (two-factor sign-in enforced) reaches only the code step, or the set-up
        page for a user without a device: every other page sends there, and neither shows an arm."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        settings.TWO_FACTOR_ENFORCED = True
        user = User.objects.get(username="investigator")
        if has_device:
            TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        client.force_login(user)
        result = crawl(client, start=[*worlds, "/account/two-factor/verify/"])
        assert not result.errors, result.errors
        opened = sorted(path for path, status in result.pages.items() if status == 200)
        expected = "/account/two-factor/verify/" if has_device else "/account/two-factor/"
        assert opened == [expected]
        assert set(result.pages.values()) == {200, 302}
        markers = leak_markers()
        for path, body in result.bodies.items():
            for marker in markers:
                assert marker not in body, f"{marker!r} on {path}"
        assert "/participants/" not in html_pages(result)[expected]  # no menu before the code


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


# Pages where a regular expression could go wrong: links in comments and scripts (not
# followed), ">" and entities in attribute values, upper case, self-closing and repeated
# attributes, forms of both methods, hx-get on any element.
TRICKY_PAGES = [
    '<a href="/a/">a</a> <a href="https://example.org/x">out</a>',
    '<!-- <a href="/hidden/"> --><A HREF="/Up/?a=1&amp;b=2">x</A>'
    "<script>var s = '<a href=\"/js/\">';</script><style>a::after{content:'<a href=x>'}</style>",
    '<form method="post" action="/p/" hx-get="/hx/"></form><form action="/g/"><form method=GET>'
    '<div hx-get=\'/d/?x=">"\' title="a > b"><button HX-GET=/b/ hx-target=#x>',
    '<a title="x > y" href="/t/"/><a href><a href=""><a href="/1/" href="/2/"><a\nhref=/n/>',
    '<script type="module" hx-get="/s/">x</script><img src=x><a data-href="/no/">',
]


@pytest.mark.parametrize("page", TRICKY_PAGES)
def test_the_links_found_by_expression_are_those_htmlparser_finds(page):
    """`links_of` is also checked against HTMLParser on every page of the coordinator's PHI
    crawl (tests/test_participants_phi.py); these are the cases that crawl may not hold."""
    assert links_of(page) == parsed_links(page)
    assert links_of(page)  # each case has a link to find


class _Recording:
    def __init__(self, client):
        self.client, self.responses = client, []

    def get(self, path):
        self.responses.append(self.client.get(path))
        return self.responses[-1]


def test_a_crawl_keeps_no_template_context_and_gives_the_client_back_as_it_was(admin_client):
    """The crawl does without the test client's copies of every rendered template's context
    (no crawl reads them); outside a crawl the client keeps them as before."""
    recording = _Recording(admin_client)
    result = crawl(recording, start=["/"], max_pages=3, sample=True)
    assert not result.errors, result.errors
    assert result.pages["/"] == 200
    assert [r.context for r in recording.responses] == [None] * len(recording.responses)
    assert admin_client.get("/").context is not None


@pytest.mark.parametrize("role", sorted(Role, key=lambda r: r.value))
def test_every_page_in_persian_is_translated_and_right_to_left(client, demo_trial, role):
    """Each role reads the product in Persian (issue 11): a sample of its pages, starting with
    every page of the matrix for one participant, shows no interface string in English."""
    user = User.objects.get(username=DEMO_USER_FOR_ROLE[role])
    user.language = "fa"
    user.save(update_fields=["language"])
    client.force_login(user)
    participant = Participant.objects.filter(site__code="01").order_by("study_id").first()
    world = build_world(participant)
    seeds = ["/", *sorted({build(world) for _, build, _ in PAGES.values()})]
    result = crawl(client, start=seeds, max_pages=len(seeds) + 60, sample=True)
    assert not result.errors, result.errors
    pages = html_pages(result)
    assert len(pages) > 5
    english = {}
    for path, body in pages.items():
        assert '<html lang="fa" dir="rtl">' in body, f"{path} is not a right-to-left Persian page"
        if found := untranslated(body):
            english[path] = found
    assert not english, "English left on Persian pages: " + "; ".join(
        f"{path}: {sorted(set(found))[:6]}" for path, found in sorted(english.items())[:15]
    )


def test_the_policy_check_finds_a_missing_or_inline_friendly_policy():
    assert csp_problems(None) == ["no Content-Security-Policy header"]
    weak = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'"
    assert "the policy allows 'unsafe-inline'" in csp_problems(weak)
