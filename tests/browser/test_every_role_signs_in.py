"""One browser journey per role: sign in with the demo login and see the role's home page.

The tests only sign in and read, so the module shares one demo trial (shared_demo,
tests/browser/conftest.py); the journeys that write are in
test_screening_and_lockout_journeys.py."""

import pytest
from playwright.sync_api import expect

from kernel.roles import Role

from ..factories import PASSWORD

DEMO_LOGINS = {
    "coordinator": Role.COORDINATOR,
    "investigator": Role.INVESTIGATOR,
    "pharmacist": Role.PHARMACIST,
    "monitor": Role.MONITOR,
    "datamanager": Role.DATA_MANAGER,
    "statistician": Role.STATISTICIAN,
    "sponsor": Role.SPONSOR,
}


@pytest.mark.parametrize("username", DEMO_LOGINS)
def test_each_role_signs_in_and_sees_its_home_page(shared_demo, sign_in, username):
    page = sign_in(username, PASSWORD)
    expect(page.get_by_role("heading", name="What to do today")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(str(DEMO_LOGINS[username].label))
    # Bootstrap is served from our own static files: the navbar is styled, offline.
    background = page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(11, 79, 108)"
