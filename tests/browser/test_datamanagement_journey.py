"""The data-resolution journey (issue 10): a monitor raises a query on FiO₂, the coordinator
answers it in the CRF itself, the data manager closes it, and the investigator signs the
casebook with the password and the meaning."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from datamanagement.models import Query, Signature
from outcomes.models import Murray
from participants.models import Participant

from .. import outcomes_factories as of
from ..factories import PASSWORD

SHOTS = Path(os.environ.get("EDC_SCREENSHOTS", "var/screenshots"))


@pytest.fixture
def participant(transactional_db):
    call_command("load_demo", "--participants", "2", "--password", PASSWORD)
    p = Participant.objects.get(study_id="01-0001")
    of.schedule(p)
    if not Murray.objects.filter(visit__participant=p, visit__code="D0").exists():
        of.crf(
            p,
            "D0",
            "murray",
            pao2_mmhg=Decimal("70"),
            fio2=Decimal("0.6"),
            peep_cmh2o=Decimal("10"),
            cxr_quadrants=3,
        )
    return p


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def test_a_query_is_raised_answered_closed_and_the_casebook_signed(
    participant, sign_in, live_server
):
    study_id = participant.study_id
    base = live_server.url

    # The monitor raises a query on FiO₂ from the CRF review page.
    page = sign_in("monitor", PASSWORD)
    page.goto(f"{base}/data/participants/{study_id}/visits/D0/murray/")
    page.get_by_role("button", name="Raise a query on FiO₂").click()
    page.get_by_label("Question to the site").fill("The ventilator chart shows FiO2 0.5 at 08:00.")
    page.get_by_role("button", name="Raise the query").click()
    expect(page.get_by_text("raised; the site sees it on the field")).to_be_visible()
    query = Query.objects.filter(participant=participant, field_name="fio2").latest("pk")
    expect(page.get_by_test_id(f"query-{query.pk}")).to_contain_text("Open")
    shot(page, "datamanagement-query-raised")
    sign_out(page)

    # The coordinator answers it on the field, in the CRF.
    page = sign_in("coordinator", PASSWORD)
    page.goto(f"{base}/outcomes/participants/{study_id}/visits/D0/murray/")
    widget = page.get_by_test_id(f"query-{query.pk}")
    expect(widget).to_contain_text("The ventilator chart shows FiO2 0.5 at 08:00.")
    page.get_by_test_id(f"query-{query.pk}-text").fill("Checked: 0.6 was set at 09:00, correct.")
    widget.get_by_role("button", name="Answer").click()
    expect(page.get_by_test_id(f"query-{query.pk}").get_by_test_id("query-state")).to_have_text(
        "Answered"
    )
    shot(page, "datamanagement-query-answered-in-crf")
    sign_out(page)

    # The data manager closes it from the query list.
    page = sign_in("datamanager", PASSWORD)
    page.goto(f"{base}/data/queries/?state=answered")
    page.get_by_role("link", name=f"#{query.pk}", exact=True).click()
    expect(page.get_by_test_id("query-thread")).to_contain_text("Checked: 0.6 was set at 09:00")
    page.get_by_label("Your text").fill("Answer accepted.")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("query-state")).to_have_text("Closed")
    sign_out(page)
    query.refresh_from_db()
    assert query.state == "closed"

    # The investigator signs the casebook, re-entering the password.
    page = sign_in("investigator", PASSWORD)
    page.goto(f"{base}/data/participants/{study_id}/")
    page.get_by_role("link", name="Sign the casebook").click()
    page.get_by_label("I confirm the data are accurate and complete").check()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("Signed. Your signature is shown with the record.")).to_be_visible()
    signature = page.get_by_test_id("signature")
    expect(signature).to_contain_text("Reza Investigator")
    expect(signature).to_contain_text("I confirm the data are accurate and complete")
    shot(page, "datamanagement-casebook-signed")
    assert Signature.objects.get(participant=participant).level == "casebook"
