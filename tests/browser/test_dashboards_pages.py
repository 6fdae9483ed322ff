"""The dashboard and the CONSORT page in a real browser, as the investigator reads them each
morning and as the statistician does; screenshots saved for docs/dashboards.md."""

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from kernel.models import Site, User

from ..dashboards_factories import bulk_trial
from ..factories import PASSWORD
from .menu import follow_menu

# Screenshots go to var/screenshots; EDC_UPDATE_DOCS_IMAGES=1 refreshes the README's docs/img copy
# (a test run must not change tracked files).
IMAGES = (
    Path(__file__).resolve().parents[2] / "docs" / "img"
    if os.environ.get("EDC_UPDATE_DOCS_IMAGES")
    else Path(os.environ.get("EDC_SCREENSHOTS", "var/screenshots"))
)


@pytest.fixture
def demo(transactional_db):
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)
    bulk_trial(
        sites=list(Site.objects.order_by("code")),
        user=User.objects.get(username="coordinator"),
        per_site=30,
    )


def _shot(page, name):
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=True)


def test_the_investigator_reads_the_dashboard_and_opens_a_visit(demo, sign_in, page):
    sign_in("investigator", PASSWORD)
    follow_menu(page, "Dashboard")
    expect(page.get_by_role("heading", name="Trial dashboard")).to_be_visible()
    expect(page.get_by_test_id("completeness-matrix")).to_be_visible()
    expect(page.get_by_role("img", name="Cumulative enrollment against target")).to_be_visible()
    expect(page.get_by_role("img", name="CONSORT flow diagram").first).to_be_visible()
    _shot(page, "dashboard")
    link = page.get_by_test_id("completeness-matrix").get_by_role("link").first
    study_id = link.get_attribute("title").split(" ")[0]
    link.click()
    expect(page).to_have_url(re.compile(rf"/outcomes/participants/{study_id}/visits/D0/$"))


def test_the_consort_page_pooled_for_the_investigator(demo, sign_in, page):
    sign_in("investigator", PASSWORD)
    page.goto(page.url.rstrip("/") + "/dashboards/consort/")
    expect(page.get_by_role("heading", name="CONSORT flow")).to_be_visible()
    expect(page.get_by_test_id("consort-lines")).to_contain_text("Allocated (arms blinded, pooled)")
    expect(page.get_by_role("img", name="CONSORT flow diagram")).to_be_visible()
    _shot(page, "consort")


@pytest.fixture
def small_demo(transactional_db):
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)


def test_the_investigator_prepares_a_casebook_and_downloads_it(small_demo, sign_in, page):
    from participants.models import Participant

    study_id = Participant.objects.filter(site__code="01").order_by("study_id").first().study_id
    sign_in("investigator", PASSWORD)
    page.goto(page.url.rstrip("/") + "/dashboards/reports/")
    page.get_by_label("Study ID").fill("01-9999")
    page.get_by_role("button", name="Prepare casebook").click()
    expect(page.get_by_test_id("prepare-error")).to_contain_text("No participant 01-9999")
    expect(page.get_by_label("Study ID")).to_have_value("01-9999")  # nothing typed is lost
    page.get_by_label("Study ID").fill(study_id)
    page.get_by_test_id("prepare-report").click()
    expect(page).to_have_url(re.compile(r"/dashboards/reports/\d+/$"))
    expect(page.get_by_test_id("report-state")).to_have_text("Ready")
    with page.expect_download() as download:
        page.get_by_test_id("report-download").click()
    assert download.value.suggested_filename == f"casebook-{study_id}.pdf"
    page.goto(page.url.rstrip("/").rsplit("/dashboards/", 1)[0] + "/dashboards/reports/")
    expect(page.get_by_test_id("prepared-reports")).to_contain_text(study_id)
