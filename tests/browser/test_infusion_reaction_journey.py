"""Infusion-reaction monitoring in a real browser (issue 19): on Day 0 the coordinator records
the vital signs before the infusion, the infusion's start, then the vital signs 15 minutes
after it with a fall in systolic pressure and a rise in heart rate that the CRF's rule
(outcomes.checks.suggests_infusion_reaction) flags. The page shows the warning and the next
step; the coordinator confirms the values, saves them and reports the adverse event from
there. Nothing of the arm is shown on any page of the way. Screenshots at 1280 px."""

import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from kernel.models import Site, User
from kernel.trial import TRIAL, VITALS_15_MIN, VITALS_PRE_INFUSION
from outcomes import checks
from outcomes.models import CRF_MODELS, Infusion, Visit
from participants.models import ParticipantStatus
from randomization.services import slot_assign
from safety.models import AdverseEvent

from ..blinding import leak_markers
from ..factories import PASSWORD, ParticipantFactory

SHOTS = Path(os.environ.get("EDC_SCREENSHOTS", "var/screenshots"))
WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def participant(transactional_db):
    """A participant of site 01 randomized an hour and a half ago: Day 0 is today (at the
    site), its infusion 45 minutes ago, nothing of Day 0 entered yet."""
    call_command("load_demo", "--participants", "1", "--password", PASSWORD)
    site = Site.objects.get(code="01")
    zone = ZoneInfo(site.time_zone)
    now = datetime.now(zone)
    if now.hour < 2:
        pytest.skip("the journey's Day-0 times would cross the site's midnight")
    p = ParticipantFactory(site=site, status=ParticipantStatus.ENROLLED)
    slot_assign(
        participant=p,
        user=User.objects.get(username="coordinator"),
        respiratory_support="nasal_cannula",
        randomized_at=now - timedelta(minutes=90),
    )
    assert Visit.objects.get(participant=p, code="D0").target_date == now.date()
    return p


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert page.viewport_size["width"] == 1280
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_arm(page):
    body = page.content()
    for marker in leak_markers():
        assert marker not in body, f"the coordinator saw {marker!r} on {page.url}"
    for arm in TRIAL.arms:
        expect(page.get_by_text(arm.label, exact=True)).to_have_count(0)


def fill_vitals(page, *, measured, temperature, heart_rate, systolic, diastolic, rr, spo2):
    page.get_by_label("Date of assessment").fill(measured.strftime("%Y-%m-%d"))
    page.get_by_label("Time measured").fill(measured.strftime("%H:%M"))
    page.get_by_label("Temperature", exact=True).fill(temperature)
    page.get_by_label("Heart rate", exact=True).fill(heart_rate)
    page.get_by_label("Systolic blood pressure", exact=True).fill(systolic)
    page.get_by_label("Diastolic blood pressure", exact=True).fill(diastolic)
    page.get_by_label("Respiratory rate", exact=True).fill(rr)
    page.get_by_label("SpO₂", exact=True).fill(spo2)
    page.get_by_label("FiO₂ at the SpO₂", exact=True).fill("0.40")
    page.get_by_label("Respiratory support at the SpO₂").select_option("nasal_cannula")


def test_a_possible_infusion_reaction_leads_the_coordinator_to_report_the_ae(
    participant, sign_in, live_server
):
    zone = ZoneInfo(participant.site.time_zone)
    now = datetime.now(zone).replace(second=0, microsecond=0)
    started = now - timedelta(minutes=45)
    sid = participant.study_id

    page = sign_in("coordinator", PASSWORD)
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/outcomes/participants/{sid}/visits/")
    page.get_by_role("link", name="D0", exact=True).click()
    expect(page.get_by_role("heading", name="Visit D0")).to_be_visible()
    no_arm(page)

    # 1. The vital signs before the infusion.
    page.get_by_role("link", name=f"Enter {TRIAL.crfs[VITALS_PRE_INFUSION]}").click()
    fill_vitals(
        page,
        measured=started - timedelta(minutes=10),
        temperature="37.0",
        heart_rate="88",
        systolic="124",
        diastolic="76",
        rr="24",
        spo2="93",
    )
    page.get_by_role("button", name="Save as complete").click()
    expect(page.get_by_text("saved (complete)")).to_be_visible()
    pre = CRF_MODELS[VITALS_PRE_INFUSION].objects.get(visit__participant=participant)
    assert (pre.systolic_mmhg, pre.heart_rate_bpm) == (124, 88)

    # 2. The infusion's start.
    page.goto(f"{live_server.url}/outcomes/participants/{sid}/visits/D0/")
    page.get_by_role("link", name="Enter Infusion administration").click()
    page.get_by_label("Infusion started").fill(started.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Infusion administration saved (draft)")).to_be_visible()
    assert Infusion.objects.get(visit__participant=participant).started_at == started

    # 3. The vital signs 15 minutes after the start: systolic 124 -> 96, heart rate 88 -> 118.
    page.goto(f"{live_server.url}/outcomes/participants/{sid}/visits/D0/")
    page.get_by_role("link", name=f"Enter {TRIAL.crfs[VITALS_15_MIN]}").click()
    fill_vitals(
        page,
        measured=started + timedelta(minutes=15),
        temperature="37.4",
        heart_rate="118",
        systolic="96",
        diastolic="60",
        rr="28",
        spo2="92",
    )
    # The CRF's own rule flags both changes (the DSMB table counts with the same rule).
    assert checks.suggests_infusion_reaction("systolic_mmhg", now=96, before=124)
    assert checks.suggests_infusion_reaction("heart_rate_bpm", now=118, before=88)
    page.get_by_role("button", name="Save as complete").click()
    warnings = page.get_by_test_id("soft-warnings")
    expect(warnings).to_contain_text("Systolic pressure changed from 124 to 96 mmHg")
    expect(warnings).to_contain_text("Heart rate changed from 88 to 118 /min")
    expect(warnings).to_contain_text("a possible infusion reaction")
    next_step = page.get_by_test_id("next-step-ae")
    expect(next_step).to_contain_text("report the adverse event")
    # Nothing was saved, and nothing typed is lost.
    assert not CRF_MODELS[VITALS_15_MIN].objects.filter(visit__participant=participant).exists()
    expect(page.get_by_label("Systolic blood pressure", exact=True)).to_have_value("96")
    no_arm(page)
    shot(page, "infusion-reaction-warning")

    # 4. Confirmed with a reason, saved, and on to the AE report.
    page.get_by_label("I have checked these values and confirm them").check()
    page.get_by_label("Reason for confirming").fill("Measured twice; patient flushed")
    next_step.get_by_role("button", name="Save and report an adverse event").click()
    expect(page.get_by_role("heading", name=re.compile("Report an adverse event"))).to_be_visible()
    expect(page.get_by_text("Next: report the possible infusion reaction")).to_be_visible()
    at15 = CRF_MODELS[VITALS_15_MIN].objects.get(visit__participant=participant)
    assert at15.systolic_mmhg == 96
    assert at15.is_complete
    assert "possible infusion reaction" in at15.warnings_confirmed
    no_arm(page)

    # 5. The AE, reported from there.
    page.get_by_label("Verbatim term").fill("Hypotension and tachycardia 15 min into infusion")
    page.get_by_label("Coded term").fill("Infusion related reaction")
    page.get_by_label("Onset date").fill(now.strftime("%Y-%m-%d"))
    page.get_by_role("radio", name=re.compile(r"^2 ·")).check()
    page.get_by_role("radio", name="Possible").check()
    page.get_by_label("Action taken").select_option("infusion_stopped")
    page.get_by_label("Outcome", exact=False).first.select_option("recovering")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile(r"Adverse event saved as AE \d+"))).to_be_visible()
    ae = AdverseEvent.objects.get(participant=participant)
    assert ae.verbatim_term.startswith("Hypotension")
    assert not ae.serious
    no_arm(page)
    shot(page, "infusion-reaction-ae-reported")
