"""Every CRF form renders on a tablet with its units beside the fields; the timeline and the
printable calendar show the schedule (screenshots in var/screenshots for review)."""

import pytest
from playwright.sync_api import expect

from kernel.trial import TRIAL

from ..factories import PASSWORD
from .test_outcomes_journey import randomized_three_days_ago, shot

# The tests only open pages, so the module shares one demo trial (shared_demo,
# tests/browser/conftest.py) and one participant; the monitor's visit, which needs CRFs entered
# first, is in test_outcomes_journey.py.
SHARED_DEMO_PARTICIPANTS = 1


@pytest.fixture(scope="module")
def participant(shared_demo, django_db_blocker):
    with django_db_blocker.unblock():
        return randomized_three_days_ago()


UNITS = {
    "baseline": ["kg", "cm", "years"],
    "infusion": ["ml"],
    "murray": ["mmHg", "cmH₂O", "ml/cmH₂O"],
    "blood_gas": ["mmHg"],
    "crp": ["mg/L", "mg/dL"],
}


@pytest.mark.parametrize(
    ("visit", "crf"), [*(("D0", c) for c in TRIAL.visit("D0").crfs), ("D60", "day60_follow_up")]
)
def test_each_crf_form_shows_its_units(participant, sign_in, live_server, visit, crf):
    page = sign_in("coordinator", PASSWORD)
    page.goto(
        f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/{visit}/{crf}/"
    )
    form = page.get_by_test_id("crf-form")
    expect(form).to_be_visible()
    for unit in UNITS.get(crf, []):
        expect(form).to_contain_text(unit)
    expect(page.get_by_role("button", name="Save as complete")).to_be_visible()
    shot(page, f"outcomes-crf-{crf}")


def test_the_printable_calendar_lists_every_visit(participant, sign_in, live_server):
    page = sign_in("monitor", PASSWORD)
    page.goto(f"{live_server.url}/outcomes/participants/{participant.study_id}/calendar/")
    calendar = page.get_by_test_id("calendar")
    for visit in TRIAL.visits:
        expect(calendar).to_contain_text(visit.code)
    shot(page, "outcomes-calendar")
