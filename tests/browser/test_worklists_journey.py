"""Worklists and the next step (issue 21), in Chromium at a 1,280 px screen and a 768 px
tablet: the coordinator randomizes and is sent on to Day 0; the pharmacist is told and finds
the dose in the queue; the investigator, the monitor and the data manager open their lists from
the menu or the home card (already filtered) and act on them. No page is wider than the
viewport; screenshots go to the test output directory (pytest-playwright's --output)."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from datamanagement import services as data_services
from datamanagement.models import Query, QueryState
from kernel import concurrency
from kernel.models import Site, User
from participants.models import ParticipantStatus

from ..factories import PASSWORD, ParticipantFactory
from .menu import follow_menu

WIDTHS = (1280, 768)


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)
    coordinator = User.objects.get(username="coordinator")
    # Two queries the site has answered, for the data manager to close together.
    for query in Query.objects.filter(state=QueryState.OPEN, participant__site__code="01")[:2]:
        data_services.query_answer(
            query=query,
            user=coordinator,
            text="Checked against the chart.",
            opened_version=concurrency.version_of(query),
        )
    return ParticipantFactory(
        site=Site.objects.get(code="01"),
        study_id="01-0050",
        status=ParticipantStatus.ENROLLED,
        registered_by=coordinator,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_each_role_goes_from_its_worklist_to_its_next_task(
    demo, sign_in, live_server, page, output_path, width
):
    out = Path(output_path)
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})

    def shot(name: str) -> None:
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name}: {scroll_width} px wide at {width} px"
        page.screenshot(path=str(out / f"worklists-{width}-{name}.png"), full_page=True)

    def card(href: str) -> None:
        page.goto(f"{live_server.url}/")
        page.locator(f'[data-testid="home-cards"] a[href="{href}"]').click()
        page.wait_for_load_state()

    # The coordinator randomizes; the next step is the Day 0 visit.
    sign_in("coordinator", PASSWORD)
    page.goto(f"{live_server.url}/randomization/participant/{demo.study_id}/randomize/")
    page.get_by_label("Respiratory support now").select_option("nasal_cannula")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(re.compile("I confirm this participant")).check()
    page.get_by_role("button", name="Randomize now").click()
    shot("coordinator-randomized")
    page.get_by_test_id("next-step").click()
    expect(page.get_by_role("heading", name=re.compile("Visit D0"))).to_be_visible()
    expect(page.get_by_test_id("next-visit")).to_contain_text("Next: visit D1")
    shot("coordinator-day0")
    page.context.clear_cookies()

    # The pharmacist: told in the product, the new participant in the queue (no arm there).
    sign_in("pharmacist", PASSWORD)
    card("/randomization/pharmacy/to-prepare/")
    row = page.get_by_test_id(f"to-prepare-{demo.study_id}")
    expect(row).to_be_visible()
    assert "data-arm" not in page.content()
    shot("pharmacist-queue")
    page.goto(f"{live_server.url}/data/notifications/")
    expect(page.get_by_text(f"Participant {demo.study_id} was randomized")).to_be_visible()
    shot("pharmacist-notifications")
    page.goto(f"{live_server.url}/randomization/pharmacy/to-prepare/")
    row.get_by_role("link", name="Prepare").click()
    expect(page).to_have_url(re.compile(f"/randomization/pharmacy/{demo.study_id}/$"))
    page.context.clear_cookies()

    # The investigator: visits awaiting a signature, from the menu.
    sign_in("investigator", PASSWORD)
    follow_menu(page, "Awaiting my signature")
    rows = page.get_by_test_id("worklist-signatures").locator("tbody tr[data-testid]")
    assert rows.count() >= 1
    shot("investigator-signatures")
    rows.first.get_by_role("link", name="Review and sign").click()
    expect(page.get_by_label("Password")).to_be_visible()
    page.context.clear_cookies()

    # The monitor: the SDV queue, from the menu, to the participant's SDV page.
    sign_in("monitor", PASSWORD)
    follow_menu(page, "SDV queue")
    tasks = page.get_by_test_id("worklist-sdv").locator("tbody tr[data-testid]")
    assert tasks.count() >= 1
    shot("monitor-sdv-queue")
    tasks.first.get_by_role("link", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Source-data verification"))).to_be_visible()
    page.context.clear_cookies()

    # The data manager: the home card opens the answered queries; two closed together.
    sign_in("datamanager", PASSWORD)
    card("/data/worklists/queries/?state=answered")
    boxes = page.get_by_test_id("worklist-queries").locator('input[name="query"]')
    assert boxes.count() >= 2
    shot("datamanager-queries")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Your text").fill("Resolved: matches the source.")
    page.get_by_role("button", name="Close the ticked").click()
    expect(page.get_by_text("2 queries updated.")).to_be_visible()
    shot("datamanager-queries-closed")
