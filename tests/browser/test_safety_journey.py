"""The SAE journey in a real browser: a coordinator reports an SAE (and is stopped, with nothing
lost, by an inconsistent grade); the investigator assesses causality and signs with the password;
the CIOMS I PDF opens and reads correctly."""

import re
import zoneinfo
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect
from pypdf import PdfReader

from kernel.models import Alert
from safety.models import AdverseEvent

from ..factories import PASSWORD

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def demo(transactional_db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_coordinator_reports_an_sae_investigator_signs_and_the_cioms_form_reads_right(
    demo, sign_in, live_server
):
    now = datetime.now(TEHRAN)
    page = sign_in("coordinator", PASSWORD)
    page.get_by_role("navigation").get_by_role("link", name="Safety").click()
    expect(page.get_by_role("heading", name="Open clocks")).to_be_visible()
    _shot(page, "safety-overview")
    page.get_by_label("Participant").select_option("01-0001")
    page.get_by_role("button", name="Report an AE").click()
    expect(page.get_by_role("heading", name="Report an adverse event · 01-0001")).to_be_visible()

    page.get_by_label("Verbatim term").fill("Stridor and rash 15 minutes into the infusion")
    page.get_by_label("Coded term").fill("Anaphylactic reaction")
    page.get_by_label("Onset date").fill((now - timedelta(days=1)).strftime("%Y-%m-%d"))
    page.get_by_role("radio", name=re.compile(r"^5 ·")).check()
    page.get_by_label("Serious (meets").check()
    page.get_by_label("Site aware at").fill((now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("checkbox", name="Life-threatening").check()
    page.get_by_role("radio", name="Possible").check()
    page.get_by_label("Action taken").select_option("infusion_stopped")
    page.get_by_label("Outcome", exact=False).first.select_option("not_recovered")
    page.get_by_role("button", name="Save").click()

    # Grade 5 without a death: refused with clear messages; nothing typed is lost.
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    expect(page.get_by_text("CTCAE grade 5 means death").first).to_be_visible()
    expect(page.get_by_label("Verbatim term")).to_have_value(
        "Stridor and rash 15 minutes into the infusion"
    )
    expect(page.get_by_label("Coded term")).to_have_value("Anaphylactic reaction")
    _shot(page, "safety-ae-form-errors")
    assert not AdverseEvent.objects.filter(verbatim_term__startswith="Stridor").exists()

    page.get_by_role("radio", name=re.compile(r"^4 ·")).check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Serious adverse event saved as AE")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("01-0001 · AE"))).to_contain_text("SUSAR")
    expect(page.get_by_test_id("ae-clocks")).to_contain_text("7-day expedited-report clock")
    ae = AdverseEvent.objects.get(verbatim_term__startswith="Stridor")
    assert Alert.objects.filter(adverse_event=ae, kind="sae_initial").count() == 1
    _shot(page, "safety-ae-detail")

    page.get_by_role("button", name="Sign out").click()
    page = sign_in("investigator", PASSWORD)
    page.goto(f"{live_server.url}/safety/")
    page.get_by_role("row").filter(has_text="SUSAR expedited report").filter(
        has_text=f"01-0001 · AE {ae.number} ·"
    ).get_by_role("link", name="Open").click()
    page.get_by_role("link", name="Assess and sign causality").click()
    expect(page.get_by_test_id("signature-meaning")).to_contain_text("investigator")
    page.get_by_role("radio", name="Probable").check()
    page.get_by_label("Reason").fill("Onset during the infusion; resolved on stopping it")
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("The password is not correct; nothing was signed.")).to_be_visible()
    expect(page.get_by_label("Reason")).to_have_value(
        "Onset during the infusion; resolved on stopping it"
    )
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("Causality assessed and signed.")).to_be_visible()
    expect(page.get_by_test_id("relationship")).to_contain_text("Probable")
    expect(page.get_by_test_id("signature")).to_contain_text("signed by Reza Investigator")
    _shot(page, "safety-ae-signed")

    link = page.get_by_role("link", name="CIOMS form (PDF)").first
    response = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(BytesIO(response.body())).pages)
    assert "CIOMS FORM" in text
    assert "01-0001" in text
    assert "Anaphylactic reaction" in text
    assert "Blinded investigational product" in text
    assert "[X] Life-threatening" in text
    assert "Demo Participant" not in text
