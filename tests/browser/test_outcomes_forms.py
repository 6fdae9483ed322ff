"""Every CRF form renders on a tablet with its units beside the fields; the timeline and the
printable calendar show the schedule (screenshots in var/screenshots for review)."""

import pytest
from playwright.sync_api import expect

from kernel.trial import TRIAL

from ..factories import PASSWORD
from .test_outcomes_journey import participant, shot  # noqa: F401 — the shared fixture

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
def test_each_crf_form_shows_its_units(participant, sign_in, live_server, visit, crf):  # noqa: F811
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


def test_the_printable_calendar_lists_every_visit(participant, sign_in, live_server):  # noqa: F811
    page = sign_in("monitor", PASSWORD)
    page.goto(f"{live_server.url}/outcomes/participants/{participant.study_id}/calendar/")
    calendar = page.get_by_test_id("calendar")
    for visit in TRIAL.visits:
        expect(calendar).to_contain_text(visit.code)
    shot(page, "outcomes-calendar")


def test_a_monitor_reads_a_visit_without_entry_buttons(participant, sign_in, live_server):  # noqa: F811
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
