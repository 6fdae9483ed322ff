"""One browser journey per role: sign in with the demo login and see the role's home page."""

import pytest
from django.core.management import call_command
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


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)


@pytest.mark.parametrize("username", DEMO_LOGINS)
def test_each_role_signs_in_and_sees_its_home_page(demo, sign_in, username):
    page = sign_in(username, PASSWORD)
    expect(page.get_by_role("heading", name="What to do today")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(str(DEMO_LOGINS[username].label))
    # Bootstrap is served from our own static files: the navbar is styled, offline.
    background = page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(11, 79, 108)"


def test_a_coordinator_screens_a_patient_and_corrects_a_name_with_a_reason(
    demo, sign_in, live_server
):
    page = sign_in("coordinator", PASSWORD)
    page.get_by_role("link", name="Screen", exact=True).click()
    page.get_by_label("Full name").fill("Ali Rezaei")
    page.get_by_label("National ID").fill("0499370899")
    page.get_by_label("Date of birth").fill("1980-05-01")
    page.get_by_label("Male", exact=True).check()
    page.get_by_role("button", name="Screen").click()
    expect(page.get_by_role("heading", name="Eligibility · S01-")).to_be_visible()
    page.get_by_role("heading", name="Eligibility").get_by_role("link").click()

    page.get_by_role("link", name="Edit identifying data").click()
    page.get_by_label("Full name").fill("Ali Rezaie")
    page.get_by_role("button", name="Save").click()
    # Refused without a reason; what was typed is still there.
    expect(page.get_by_text("Give a reason for this change")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Ali Rezaie")

    page.get_by_label("Reason for change").fill("Spelling checked against the ID card")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("the change is in the audit trail")).to_be_visible()

    page.get_by_role("link", name="Audit trail", exact=True).click()
    table = page.get_by_test_id("audit-table")
    expect(table).to_contain_text("Ali Rezaei")
    expect(table).to_contain_text("Ali Rezaie")
    expect(table).to_contain_text("Spelling checked against the ID card")
    expect(table).to_contain_text("Sara Coordinator")


def test_a_locked_out_user_sees_why(demo, sign_in):
    for _ in range(5):
        page = sign_in("monitor", "wrong-password")
    page = sign_in("monitor", PASSWORD)
    expect(page.get_by_role("heading", name="This account is locked")).to_be_visible()
