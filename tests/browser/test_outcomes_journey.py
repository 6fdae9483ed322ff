"""A coordinator at the bedside enters the D3 visit: ABG, Murray and clinical status, with P/F
and Murray computed live, a hard-limit refusal that keeps every value, and a soft warning."""

import os
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from kernel.models import Site, User
from outcomes import selectors
from outcomes.models import BloodGas, ClinicalStatus, Murray, Visit
from participants.models import ParticipantStatus
from randomization.services import slot_assign

from ..factories import PASSWORD, ParticipantFactory

SHOTS = Path(os.environ.get("EDC_SCREENSHOTS", "var/screenshots"))


@pytest.fixture
def participant(transactional_db):
    """A participant of site 01 randomized three days ago (D3 due today) with no CRF yet: the
    demo's own participants already have their visits filled, so one is made here."""
    call_command("load_demo", "--participants", "1", "--password", PASSWORD)
    return randomized_three_days_ago()


def randomized_three_days_ago():
    """A new participant of site 01 of the demo trial, randomized three days ago."""
    site = Site.objects.get(code="01")
    day0 = selectors.site_today(site) - timedelta(days=3)
    noon = datetime.combine(day0, time(12), tzinfo=ZoneInfo(site.time_zone))
    p = ParticipantFactory(site=site, status=ParticipantStatus.ENROLLED)
    slot_assign(
        participant=p,
        user=User.objects.get(username="coordinator"),
        respiratory_support="nasal_cannula",
        randomized_at=noon,
    )
    assert Visit.objects.get(participant=p, code="D0").target_date == day0
    return p


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_coordinator_enters_the_d3_visit(participant, sign_in, live_server):
    page = sign_in("coordinator", PASSWORD)
    page.goto(f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/")
    expect(page.get_by_test_id("timeline")).to_contain_text("D3")
    page.get_by_role("link", name="D3", exact=True).click()
    expect(page.get_by_role("heading", name="Visit D3")).to_be_visible()

    # Arterial blood gas: P/F computed as the coordinator types.
    page.get_by_role("link", name="Enter PaO2/FiO2 (arterial blood gas)").click()
    page.get_by_label("PaO₂", exact=True).fill("80")
    page.get_by_label("FiO₂", exact=True).fill("40")
    page.get_by_label("percent (21–100 %)").check()
    expect(page.get_by_test_id("computed-pf")).to_contain_text("200.0")
    shot(page, "outcomes-abg-live")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("saved (complete)")).to_be_visible()

    # Murray: FiO2 1.5 is refused, naming the field and the limit; nothing typed is lost.
    page.get_by_role("link", name="Murray lung injury score").click()
    # Intubated since randomization: PEEP is scored for the ventilated only (issue 18).
    page.get_by_label("Invasive mechanical ventilation", exact=True).check()
    page.get_by_label("PaO₂", exact=True).fill("88")
    page.get_by_label("FiO₂", exact=True).fill("1.5")
    page.get_by_label("PEEP").fill("12")
    page.get_by_label("Chest X-ray quadrants with consolidation").fill("3")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("FiO2 must be between 0.21 and 1.00 fraction")).to_be_visible()
    shot(page, "outcomes-murray-hard-limit")
    expect(page.get_by_label("PaO₂", exact=True)).to_have_value("88")
    expect(page.get_by_label("PEEP")).to_have_value("12")
    expect(page.get_by_label("Chest X-ray quadrants with consolidation")).to_have_value("3")
    expect(page.get_by_label("FiO₂", exact=True)).to_have_value("1.5")
    page.get_by_label("FiO₂", exact=True).fill("0.55")
    # 88 / 0.55 = 160.0 -> 3; PEEP 12 -> 3; CXR 3 -> 3: (3+3+3)/3 = 3.00 (Murray 1988).
    expect(page.get_by_test_id("computed-pf")).to_contain_text("160.0")
    expect(page.get_by_test_id("computed-murray")).to_contain_text("3 components")
    # The live score follows the save's rule (issue 18): on a nasal cannula the PEEP is not a
    # component (P/F 3 + CXR 3, 2 components), and its refusal is said beside the score.
    page.get_by_label("Nasal cannula", exact=True).check()
    expect(page.get_by_test_id("computed-murray")).to_contain_text("2 components")
    expect(page.get_by_test_id("computed")).to_contain_text("invasive mechanical ventilation only")
    shot(page, "outcomes-murray-live-not-ventilated")
    page.get_by_label("Invasive mechanical ventilation", exact=True).check()
    expect(page.get_by_test_id("computed-murray")).to_contain_text("3 components")
    expect(page.get_by_test_id("computed-murray")).to_contain_text("3.00")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("Murray lung injury score saved (complete)")).to_be_visible()

    # Clinical status on the day before: outside the 0-day window, so a warning to confirm.
    page.get_by_role("link", name="Clinical status (6-point ordinal scale)").click()
    yesterday = selectors.site_today(participant.site) - timedelta(days=1)
    page.get_by_label("Date of assessment").fill(yesterday.isoformat())
    page.get_by_label("4 · Non-invasive ventilation or high-flow oxygen").check()
    page.get_by_role("button", name="Save as complete").click()
    warnings = page.get_by_test_id("soft-warnings")
    expect(warnings).to_contain_text("outside the D3 window")
    expect(page.get_by_label("4 · Non-invasive ventilation or high-flow oxygen")).to_be_checked()
    shot(page, "outcomes-status-soft-warning")
    page.get_by_label("I have checked these values and confirm them").check()
    page.get_by_label("Reason for confirming").fill("Assessed yesterday, entered today")
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("saved (complete)")).to_be_visible()

    page.goto(f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/")
    row = page.locator("tr[data-visit='D3']")
    expect(row).to_contain_text("✓ Murray lung injury score")
    expect(row).to_contain_text("✓ PaO2/FiO2 (arterial blood gas)")
    shot(page, "outcomes-timeline")

    assert BloodGas.objects.get(visit__participant=participant).fio2 == Decimal("0.400")
    assert Murray.objects.get(visit__participant=participant).score == 3
    assert (
        ClinicalStatus.objects.get(visit__participant=participant).warning_reason
        == "Assessed yesterday, entered today"
    )


def test_a_monitor_reads_a_visit_without_entry_buttons(participant, sign_in, live_server):
    from decimal import Decimal

    from .. import outcomes_factories as of

    of.crf(participant, "D0", "blood_gas", pao2_mmhg=Decimal("72"), fio2=Decimal("0.6"))
    of.crf(
        participant,
        "D0",
        "murray",
        pao2_mmhg=Decimal("72"),
        fio2=Decimal("0.6"),
        peep_cmh2o=Decimal("10"),
        cxr_quadrants=3,
    )
    page = sign_in("monitor", PASSWORD)
    page.goto(f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/D0/")
    crfs = page.get_by_test_id("visit-crfs")
    # 72 / 0.6 = 120.0 -> 3; PEEP 10 -> 2; CXR 3 -> 3: (3+2+3)/3 = 2.67, sum 8.
    expect(crfs).to_contain_text("P/F 120.0")
    expect(crfs).to_contain_text("2.67")
    expect(page.get_by_role("link", name="Enter", exact=False)).to_have_count(0)
    shot(page, "outcomes-visit-monitor")
