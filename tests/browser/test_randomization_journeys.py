"""Browser journeys: the coordinator randomizes, the pharmacist prepares, the investigator
unblinds in an emergency; the coordinator's pages never show an arm."""

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from kernel.models import Site, User
from outcomes.models import Baseline
from participants.models import ParticipantStatus
from randomization import selectors, services
from randomization.models import Randomization

from .. import outcomes_factories
from ..factories import PASSWORD, ParticipantFactory
from ..randomization_factories import authenticator, code_now, phase_one_filled
from .menu import follow_menu

SHOTS = "var/screenshots"
ARM_WORDS = re.compile(r"\b(exosome|placebo)\b", re.IGNORECASE)


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)
    return ParticipantFactory(
        site=Site.objects.get(code="01"),
        study_id="01-0050",
        status=ParticipantStatus.ENROLLED,
        registered_by=User.objects.get(username="coordinator"),
    )


def an_exosome_participant_at_site_01():
    """One in the exosome arm whose dose is not prepared yet (the demo prepares the doses of
    the participants whose visits it fills)."""
    coordinator = User.objects.get(username="coordinator")
    site = Site.objects.get(code="01")
    found = Randomization.objects.filter(
        participant__site=site, slot__arm="exosome", preparation__isnull=True
    ).first()
    number = 60
    while found is None:
        participant = ParticipantFactory(
            site=site,
            study_id=f"01-{number:04d}",
            status=ParticipantStatus.ENROLLED,
            registered_by=coordinator,
        )
        taken = services.slot_assign(
            participant=participant,
            user=coordinator,
            respiratory_support="none" if number % 2 else "invasive_ventilation",
        )
        found = taken if taken.slot.arm == "exosome" else None
        number += 1
    return Randomization.objects.select_related("participant", "slot").get(pk=found.pk)


def visible_text_without_the_title(page) -> str:
    text = page.locator("main").inner_text()
    return text.replace("Exosome therapy in ARDS patients", "")


def test_a_coordinator_randomizes_and_sees_number_envelope_and_day0_but_no_arm(
    demo, sign_in, live_server
):
    page = sign_in("coordinator", PASSWORD)
    page.goto(f"{live_server.url}/randomization/participant/{demo.study_id}/randomize/")
    page.get_by_label("Respiratory support now").select_option("nasal_cannula")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm randomization")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/randomization-confirm.png", full_page=True)
    page.get_by_role("button", name="Randomize now").click()
    expect(page.get_by_text("Tick the box to confirm")).to_be_visible()
    page.get_by_label(re.compile("I confirm this participant")).check()
    page.get_by_role("button", name="Randomize now").click()
    status = page.get_by_test_id("randomization-status")
    randomization = Randomization.objects.select_related("slot").get(participant=demo)
    expect(status).to_contain_text(f"Randomized {randomization.slot.number} · envelope")
    expect(status).to_contain_text(randomization.slot.envelope_code)
    expect(status).to_contain_text(f"Day 0 = {randomization.day0:%Y-%m-%d}")
    page.screenshot(path=f"{SHOTS}/randomization-coordinator-status.png", full_page=True)
    assert not ARM_WORDS.search(visible_text_without_the_title(page))
    # Every page of the coordinator's menu and the randomized list: no arm word.
    follow_menu(page, "Randomization")
    page.screenshot(path=f"{SHOTS}/randomization-overview.png", full_page=True)
    assert not ARM_WORDS.search(visible_text_without_the_title(page))
    for link in page.get_by_test_id("randomized-list").get_by_role("link").all():
        href = link.get_attribute("href")
        page.goto(f"{live_server.url}{href}")
        assert not ARM_WORDS.search(visible_text_without_the_title(page)), href
        page.go_back()


def test_the_pharmacist_sees_arm_and_dose_and_records_the_preparation(demo, sign_in, live_server):
    randomization = an_exosome_participant_at_site_01()
    # The dose's weight is the Baseline CRF's, entered by the site (issue 18), not typed here.
    participant = randomization.participant
    if not Baseline.objects.filter(visit__participant=participant).update(
        weight_kg=Decimal("72.5")
    ):
        outcomes_factories.crf(
            participant, "D0", "baseline", complete=False, weight_kg=Decimal("72.5")
        )
    page = sign_in("pharmacist", PASSWORD)
    follow_menu(page, "Pharmacy")
    expect(page.get_by_text("Unblinded view")).to_be_visible()
    page.get_by_role("link", name=randomization.participant.study_id).click()
    expect(page.get_by_test_id("pharmacy-arm")).to_contain_text("Exosome")
    expect(page.get_by_test_id("dosing-weight")).to_contain_text("72.5 kg")
    page.get_by_label("Lot number").fill("EXO-2021-03")
    page.get_by_label("Lot concentration (million exosomes per ml)").fill("10000")
    page.get_by_label("Lot expiry date").fill("2030-12-31")
    page.get_by_label("Checked by (second person)").fill("Dr Second")
    page.get_by_role("button", name="Calculate").click()
    # 72.5 kg × 100 × 10⁶ = 7.25 × 10⁹ exosomes; at 10⁴ million/ml that is 0.725 → 0.73 ml.
    expect(page.get_by_test_id("dose")).to_contain_text(
        "7250.0 million exosomes: 0.73 ml of the lot + 1.27 ml normal saline = 2 ml"
    )
    expect(page.get_by_label("Lot number")).to_have_value("EXO-2021-03")  # nothing typed is lost
    page.screenshot(path=f"{SHOTS}/randomization-pharmacy-dose.png", full_page=True)
    page.get_by_role("button", name="Record preparation").click()
    expect(page.get_by_text("Preparation recorded.")).to_be_visible()
    page.get_by_label("Handed over to (blinded nurse)").fill("Nurse Ava")
    page.get_by_role("button", name="Record hand-over").click()
    expect(page.get_by_test_id("preparation")).to_contain_text("Nurse Ava")
    page.get_by_role("link", name="Syringe label").click()
    label = page.get_by_test_id("label").inner_text()
    assert not ARM_WORDS.search(label)
    page.screenshot(path=f"{SHOTS}/randomization-label.png", full_page=True)


def test_an_investigator_unblinds_one_participant_in_an_emergency(demo, sign_in, live_server):
    randomization = (
        Randomization.objects.select_related("participant", "slot")
        .filter(participant__site__code="01")
        .first()
    )
    study_id = randomization.participant.study_id
    page = sign_in("investigator", PASSWORD)
    page.goto(f"{live_server.url}/randomization/participant/{study_id}/")
    assert not ARM_WORDS.search(visible_text_without_the_title(page))
    page.get_by_role("link", name="Emergency unblinding").click()
    # SPEC §10: the triggering event is chosen, or "no event recorded yet" with a justification.
    page.get_by_label("Triggering adverse event").select_option("none")
    page.get_by_label(re.compile("If no event is recorded yet")).fill(
        "Anaphylaxis minutes ago; the SAE is being entered"
    )
    page.get_by_label(re.compile("Reason")).fill("Anaphylactic shock during infusion")
    page.get_by_label("Your password").fill("wrong-password")
    page.get_by_role("button", name="Unblind this participant").click()
    expect(page.get_by_text("The password is not correct")).to_be_visible()
    expect(page.get_by_label(re.compile("Reason"))).to_have_value(
        "Anaphylactic shock during infusion"
    )
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Unblind this participant").click()
    expect(page.get_by_test_id("revealed-arm")).to_contain_text(
        "Exosome" if randomization.slot.arm == "exosome" else "Placebo"
    )
    page.screenshot(path=f"{SHOTS}/randomization-emergency.png", full_page=True)
    page.get_by_role("link", name="Back to the participant").click()
    expect(page.get_by_test_id("unblinded-flag")).to_contain_text("emergency unblinding by")
    assert not ARM_WORDS.search(visible_text_without_the_title(page))


def test_the_statistician_imports_a_list_sees_line_errors_then_opens_the_gate(
    demo, sign_in, live_server, tmp_path
):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sequence,block,block_size,arm,envelope_code\n1,1,2,exosome,ACDEFH\n2,1,2,exosome,ACDEFJ\n"
    )
    # The DSMB's decision is signed with a second factor: the statistician has an app.
    device = authenticator(User.objects.get(username="statistician"))
    page = sign_in("statistician", PASSWORD)
    page.get_by_label("Code").fill(code_now(device))
    page.get_by_role("button", name="Continue").click()
    follow_menu(page, "Lists")
    expect(page.get_by_test_id("lists")).to_contain_text("verified")
    page.screenshot(path=f"{SHOTS}/randomization-lists.png", full_page=True)
    page.get_by_role("link", name="Import a CSV list").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Validate and import").click()
    expect(page.get_by_text("line 2: block 1 is not 1:1 (2 exosome, 0 placebo)")).to_be_visible()
    page.screenshot(path=f"{SHOTS}/randomization-import-errors.png", full_page=True)

    # The checklist: phase I is not complete, so the gate cannot open yet.
    page.goto(f"{live_server.url}/randomization/phase-gate/")
    expect(page.get_by_test_id("gate")).to_have_text("closed")
    expect(page.get_by_test_id("gate-ready")).to_have_text("not ready")
    used = selectors.gate_readiness().strata
    expect(page.get_by_test_id("gate-stratum-A")).to_contain_text(f"slots used {used[0].used}/6")

    # Every phase I slot used and every safety window complete (the ward's work, done here).
    phase_one_filled(site=Site.objects.get(code="01"))
    page.reload()
    expect(page.get_by_test_id("gate-ready")).to_have_text("ready for the DSMB's decision")
    expect(page.get_by_test_id("gate-stratum-A")).to_contain_text("slots used 6/6")
    expect(page.get_by_test_id("gate-stratum-B")).to_contain_text("slots used 6/6")
    expect(page.get_by_test_id("gate-participant")).to_have_count(12)
    page.screenshot(path=f"{SHOTS}/randomization-phase-gate-ready.png", full_page=True)
    page.get_by_label("Review date").fill("2021-04-08")
    page.get_by_role("combobox", name="Decision").select_option("approved")
    page.get_by_label("DSMB minutes reference").fill("DSMB minutes 2021/04")
    page.get_by_label("Your password").fill(PASSWORD)
    # The sign-in used this step's code; the app shows the next one 30 s on.
    page.get_by_label("Code from your authenticator app").fill(code_now(device, later_steps=1))
    page.get_by_role("button", name="Record the review").click()
    expect(page.get_by_test_id("gate")).to_have_text("open")
    expect(page.get_by_test_id("gate-review").first).to_contain_text("DSMB minutes 2021/04")
