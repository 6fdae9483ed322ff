"""The unblinded pharmacist sets up an authenticator app and signs in with it (issue 12).

Two-factor sign-in is enforced here as in production. The test reads the key off the set-up page,
as a person types it into an app, and computes the codes from it (RFC 6238)."""

import os
import time
from base64 import b32decode
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from playwright.sync_api import expect

from kernel.roles import Role
from kernel.services import roles_sync

from ..factories import PASSWORD, SiteFactory, UserFactory

SHOTS = Path(os.environ.get("EDC_SCREENSHOTS", "var/screenshots"))


@pytest.fixture
def pharmacist(transactional_db, settings):
    settings.TWO_FACTOR_ENFORCED = True
    roles_sync()
    site = SiteFactory(code="01", name="Imam Khomeini Hospital Complex, Tehran")
    return UserFactory(username="pharmacist", role=Role.PHARMACIST, sites=[site])


def code_from(secret_shown: str, *, later_steps: int = 0) -> str:
    key = b32decode("".join(secret_shown.split()) + "=" * (-len(secret_shown.replace(" ", "")) % 8))
    totp = TOTP(key)
    totp.time = time.time() + 30 * later_steps
    return f"{totp.token():06d}"


def test_the_pharmacist_sets_up_an_authenticator_and_signs_in_with_it(pharmacist, sign_in):
    page = sign_in("pharmacist", PASSWORD)
    # Nothing opens before the second factor is set up.
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_test_id("two-factor-required")).to_be_visible()
    expect(page.get_by_test_id("two-factor-qr")).to_be_visible()
    page.goto(page.url.replace("/account/two-factor/", "/randomization/pharmacy/"))
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "two-factor-set-up.png"), full_page=True)

    secret = page.get_by_test_id("two-factor-secret").inner_text()
    # A mistyped code is refused and explained.
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    expect(page.get_by_text("This code is not right")).to_be_visible()
    page.get_by_label("Code").fill(code_from(secret))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    expect(page.get_by_test_id("backup-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", name="What to do today")).to_be_visible()

    # Next sign-in: the password, then a code from the app.
    page.get_by_role("button", name="Sign out").click()
    sign_in("pharmacist", PASSWORD)
    expect(page.get_by_role("heading", name="Second step of signing in")).to_be_visible()
    expect(page.get_by_role("link", name="Pharmacy")).to_have_count(0)  # no menu yet
    # The code of the set-up step was used; the app shows the next one 30 s on.
    page.get_by_label("Code").fill(code_from(secret, later_steps=1))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="What to do today")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Unblinded pharmacist")
    page.screenshot(path=str(SHOTS / "two-factor-signed-in.png"), full_page=True)
