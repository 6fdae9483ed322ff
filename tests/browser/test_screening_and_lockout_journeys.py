"""Browser journeys that write to the demo trial (each loads its own): a coordinator screens a
patient and corrects a name with a reason; a user locked out after failed sign-ins is told why."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from ..factories import PASSWORD


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)


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
