"""Two people, two browsers, one CRF (issue 26): the investigator corrects PaO₂ and saves; the
coordinator, whose form was opened before, corrects FiO₂ and saves. The coordinator gets the
conflict screen — what they typed kept; PaO₂ as they opened it, as the investigator saved it
(who, when, why) and theirs; FiO₂ asked too, because P/F reads both — chooses per field and
saves again. In English, and in Persian with the page right to left."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kernel.models import User

from .. import outcomes_factories as of
from ..factories import PASSWORD
from .test_outcomes_journey import participant, shot  # noqa: F401 — the shared fixture


def signed_in(browser, live_server, username: str):
    """A second person: their own browser context (cookies), signed in through the form."""
    page = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form [type=submit]").click()
    page.wait_for_load_state()
    return page


@pytest.mark.parametrize("language", ["en", "fa"])
def test_two_people_correct_one_blood_gas_and_nothing_is_lost(
    participant,  # noqa: F811
    sign_in,
    live_server,
    browser,
    language,
):
    coordinator = User.objects.get(username="coordinator")
    coordinator.language = language
    coordinator.save(update_fields=["language"])
    abg = of.crf(
        participant,
        "D0",
        "blood_gas",
        pao2_mmhg=Decimal("82"),
        fio2=Decimal("0.60"),
        user=User.objects.get(username="investigator"),
    )
    url = f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/D0/blood_gas/"

    mine = sign_in("coordinator", PASSWORD)
    mine.goto(url)  # the coordinator's form is open...
    if language == "fa":
        expect(mine.locator("html")).to_have_attribute("dir", "rtl")
    theirs = signed_in(browser, live_server, "investigator")
    theirs.goto(url)  # ...when the investigator corrects PaO₂
    theirs.locator("input[name=pao2_mmhg]").fill("77")
    theirs.locator("textarea[name=reason_for_change]").fill("Re-read the ABG printout")
    theirs.locator("button[name=action][value=complete]").click()
    expect(theirs.locator(".alert-success").first).to_be_visible()

    mine.locator("input[name=fio2]").fill("0.55")
    mine.locator("textarea[name=reason_for_change]").fill("corrects FiO₂")
    mine.locator("button[name=action][value=complete]").click()

    panel = mine.get_by_test_id("edit-conflict")
    expect(panel).to_be_visible()
    expect(mine.get_by_test_id("conflict-pao2_mmhg-current")).to_contain_text("77")
    expect(mine.get_by_test_id("conflict-pao2_mmhg-by")).to_contain_text("Re-read the ABG printout")
    expect(mine.get_by_test_id("conflict-fio2")).to_be_visible()  # P/F reads it with PaO₂
    expect(mine.locator("input[name=fio2]")).to_have_value("0.55")  # nothing typed is lost
    expect(mine.locator("textarea[name=reason_for_change]")).to_have_value("corrects FiO₂")
    if language == "fa":
        expect(panel).to_contain_text("انتخاب کنید")
        expect(mine.locator("html")).to_have_attribute("dir", "rtl")
    else:
        expect(panel).to_contain_text("choose what to keep")
    shot(mine, f"concurrency-conflict-{language}")
    abg.refresh_from_db()
    assert abg.pao2_mmhg == Decimal("77")  # the investigator's correction stands

    # Saving again without choosing is refused, and asks; then PaO₂ as saved, FiO₂ mine.
    mine.locator("button[name=action][value=complete]").click()
    expect(mine.get_by_test_id("edit-conflict")).to_be_visible()
    mine.locator("input[name=keep__pao2_mmhg][value=theirs]").check()
    mine.locator("input[name=keep__fio2][value=mine]").check()
    mine.locator("button[name=action][value=complete]").click()
    expect(mine.locator(".alert-success").first).to_be_visible()
    shot(mine, f"concurrency-resolved-{language}")

    abg.refresh_from_db()
    assert (abg.pao2_mmhg, abg.fio2, abg.pf_ratio) == (
        Decimal("77"),
        Decimal("0.550"),
        Decimal("140.0"),
    )
    last = abg.history.order_by("-history_id").first()
    assert (last.history_user.username, last.history_change_reason) == (
        "coordinator",
        "corrects FiO₂",
    )
