"""Playwright against Debian's Chromium and a live Django server.

The browser is /usr/bin/chromium (never a downloaded one), launched with the flags an offline
machine needs. Without it the browser tests are skipped, unless EDC_REQUIRE_BROWSER=1 (CI), where
a missing browser fails the run instead.
"""

import os
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.core.management import call_command

from ..factories import PASSWORD

CHROMIUM = Path(os.environ.get("EDC_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Playwright's sync API keeps an event loop in this thread; the live server and the ORM calls in
# the test body are still synchronous, so Django's async-safety guard is lifted for these tests.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
    if CHROMIUM.exists():
        return
    if os.environ.get("EDC_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"EDC_REQUIRE_BROWSER=1 but there is no browser at {CHROMIUM}")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_FLAGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A tablet at the bedside.
    return {**browser_context_args, "viewport": {"width": 1024, "height": 768}}


@pytest.fixture(scope="module")
def shared_demo(request, django_db_setup, django_db_blocker):
    """The demo trial (4 participants, or the module's SHARED_DEMO_PARTICIPANTS), loaded once
    for a module whose tests only sign in and read pages, instead of once per test: loading it
    and then emptying every table was most of such a test's time (issue 24,
    docs/performance.md). Committed, so the live server's threads see it. The module's tests get
    the database without the per-test flush (_live_server_helper below), so a test that writes
    more than a sign-in leaves (a session, the security log) belongs in a module with a demo of
    its own. The module ends with the flush a transactional test ends with (post_migrate
    included), so the next module starts from the same empty tables."""
    participants = getattr(request.module, "SHARED_DEMO_PARTICIPANTS", 4)
    try:
        with django_db_blocker.unblock():
            call_command("load_demo", "--participants", str(participants), "--password", PASSWORD)
        yield
    finally:  # a demo that failed half-way is emptied too
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False, reset_sequences=False)


@pytest.fixture(autouse=True)
def _live_server_helper(request):
    """pytest-django's own helper (pytest_django/fixtures.py, same name: this one overrides it for
    the browser tests), with one change: a test of a module sharing its demo (shared_demo) gets
    the database unblocked rather than through transactional_db, whose flush after each test
    would empty the shared demo. Every other live-server test is transactional, as before."""
    if "live_server" not in request.fixturenames:
        yield
        return
    with ExitStack() as stack:
        if "shared_demo" in request.fixturenames:
            request.getfixturevalue("shared_demo")
            stack.enter_context(request.getfixturevalue("django_db_blocker").unblock())
        else:
            request.getfixturevalue("transactional_db")
        live_server = request.getfixturevalue("live_server")
        live_server._live_server_modified_settings.enable()
        yield
        live_server._live_server_modified_settings.disable()


@pytest.fixture
def sign_in(live_server, page):
    """sign_in(username, password) through the real login form; returns the page."""

    def do(username: str, password: str):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return do


@pytest.fixture(autouse=True)
def no_content_security_policy_violation(request):
    """Every browser test fails if Chromium refused anything under the CSP (decision 0012): a
    script, style or handler left inline would be blocked silently for the user otherwise."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert not refused, "blocked by the content security policy:\n" + "\n".join(refused)
