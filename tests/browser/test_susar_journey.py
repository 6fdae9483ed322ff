"""A SUSAR under blinding in a real browser (issue 19, ICH E2A III.C): the coordinator reports a
serious, unexpected, possibly related event; the sponsor's safety physician signs in with the
password and a code from the authenticator app, opens the case and unblinds that case alone
(password and a fresh code again); the outcome follows the arm; the coordinator and the
investigator still see no arm anywhere they look. Two-factor sign-in is enforced, as in
production; codes are computed from each user's authenticator key (RFC 6238), as the
two-factor journey does. Screenshots at 1280 px."""

import re
import time
import zoneinfo
from binascii import unhexlify
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from kernel.models import User
from kernel.trial import TRIAL
from safety.models import AdverseEvent, SusarCase

from ..blinding import leak_markers
from ..factories import PASSWORD

TEHRAN = zoneinfo.ZoneInfo("Asia/Tehran")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def demo(transactional_db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TWO_FACTOR_ENFORCED = True
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)
    # Each person of the journey has set up an authenticator app (the set-up itself is the
    # two-factor journey's).
    for username in ("coordinator", "investigator", "safetyphysician"):
        TOTPDevice.objects.get_or_create(
            user=User.objects.get(username=username),
            defaults={"name": "Authenticator app", "confirmed": True},
        )


def code_of(username: str, *, later_steps: int = 0) -> str:
    """The code the user's app shows now (or `later_steps` × 30 s on: a code is used once)."""
    device = TOTPDevice.objects.get(user__username=username)
    totp = TOTP(unhexlify(device.key))
    totp.time = time.time() + 30 * later_steps
    return f"{totp.token():06d}"


@pytest.fixture
def sign_in_2fa(sign_in, page):
    def do(username: str, *, later_steps: int = 0):
        page.set_viewport_size(WIDE)
        sign_in(username, PASSWORD)
        second = page.get_by_role("heading", name="Second step of signing in")
        if second.is_visible():
            page.get_by_label("Code").fill(code_of(username, later_steps=later_steps))
            page.get_by_role("button", name="Continue").click()
        expect(page.get_by_role("heading", name="What to do today")).to_be_visible()
        return page

    return do


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert page.viewport_size["width"] == 1280
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _no_arm(page, who: str):
    body = page.content()
    for marker in leak_markers():
        assert marker not in body, f"{who} saw {marker!r} on {page.url}"
    for arm in TRIAL.arms:
        expect(page.get_by_text(arm.label, exact=True)).to_have_count(0)


def test_a_susar_is_unblinded_for_that_case_alone_and_the_site_sees_no_arm(
    demo, sign_in_2fa, live_server
):
    now = datetime.now(TEHRAN)
    # 1. The coordinator reports a serious, unexpected, possibly related event.
    page = sign_in_2fa("coordinator")
    page.get_by_role("navigation").get_by_role("link", name="Safety").click()
    page.get_by_label("Participant").select_option("01-0002")
    page.get_by_role("button", name="Report an AE").click()
    page.get_by_label("Verbatim term").fill("Wheeze and urticaria 10 minutes into the infusion")
    page.get_by_label("Coded term").fill("Anaphylactic reaction")  # not in the RSI: unexpected
    page.get_by_label("Onset date").fill((now - timedelta(days=1)).strftime("%Y-%m-%d"))
    page.get_by_role("radio", name=re.compile(r"^4 ·")).check()
    page.get_by_label("Serious (meets").check()
    page.get_by_label("Site aware at").fill((now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("checkbox", name="Life-threatening").check()
    page.get_by_role("radio", name="Possible").check()
    page.get_by_label("Action taken").select_option("infusion_stopped")
    page.get_by_label("Outcome", exact=False).first.select_option("not_recovered")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Serious adverse event saved as AE")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("01-0002 · AE"))).to_contain_text("SUSAR")
    ae = AdverseEvent.objects.get(verbatim_term__startswith="Wheeze")
    _no_arm(page, "the coordinator")
    _shot(page, "susar-reported-by-coordinator")
    page.get_by_role("button", name="Sign out").click()

    # 2. The safety physician: password, then a code from the app; the case list; the case.
    page = sign_in_2fa("safetyphysician")
    page.goto(f"{live_server.url}/safety/susar/")
    cases = page.get_by_test_id("susar-cases")
    # The demo has a SUSAR of its own on this participant: the row of this event.
    row = cases.get_by_role("row").filter(has_text="01-0002").filter(has_text=f"AE {ae.number} ")
    expect(row).to_contain_text("to unblind")
    _shot(page, "susar-cases-to-unblind")
    row.get_by_role("link", name=f"AE {ae.number}").click()
    heading = page.get_by_role("heading", name=re.compile("Suspected SUSAR · 01-0002"))
    expect(heading).to_be_visible()
    assert "data-arm=" not in page.content()  # nothing before the unblinding itself
    _shot(page, "susar-case-before-unblinding")
    # A wrong password unblinds nothing.
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_label("Code from your authenticator app").fill(code_of("safetyphysician"))
    page.get_by_role("button", name="Unblind this case").click()
    expect(page.get_by_text("The password is not correct; nothing was unblinded.")).to_be_visible()
    assert not SusarCase.objects.exists()
    # The password and the app's next code (the sign-in's code is used once).
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(
        code_of("safetyphysician", later_steps=1)
    )
    page.get_by_role("button", name="Unblind this case").click()
    outcome = page.get_by_test_id("susar-outcome")
    expect(outcome).to_be_visible()
    arm = ae.participant.randomization.slot.arm
    expect(outcome.locator(f'[data-arm="{arm}"]')).to_have_text(TRIAL.arm(arm).label)
    case = SusarCase.objects.get()
    assert case.adverse_event_id == ae.pk
    assert case.reportable == (arm == TRIAL.arms[0].code)  # the study product, not placebo
    if case.reportable:
        expect(page.get_by_test_id("susar-clocks")).to_contain_text("Expedited report")
    else:
        expect(outcome).to_contain_text("not a SUSAR")
    _shot(page, "susar-case-unblinded")
    # That case alone: the demo's other suspected SUSAR stays to unblind, no arm on the list.
    page.goto(f"{live_server.url}/safety/susar/")
    assert page.content().count("data-arm=") == 0
    expect(page.get_by_test_id("susar-cases")).to_contain_text("to unblind")
    assert SusarCase.objects.count() == 1
    page.get_by_role("button", name="Sign out").click()

    # 3. The blinded roles see no arm: the AE, the participant's events, the safety overview.
    for username, later in (("coordinator", 1), ("investigator", 0)):
        page = sign_in_2fa(username, later_steps=later)
        for path in (
            f"/safety/ae/{ae.pk}/",
            f"/safety/participants/{ae.participant.study_id}/ae/",
            "/safety/",
        ):
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 200, path
            _no_arm(page, username)
        # The case page is the safety physician's alone.
        assert page.goto(f"{live_server.url}/safety/susar/{ae.pk}/").status == 403
        page.goto(f"{live_server.url}/safety/ae/{ae.pk}/")
        _shot(page, f"susar-after-unblinding-{username}")
        page.get_by_role("button", name="Sign out").click()
