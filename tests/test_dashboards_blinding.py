"""Nothing a blinded user sees on the dashboards differs by arm (SPEC §1, §9).

The differential test builds one trial, renders every dashboard page and PDF as each blinded
role, gives every participant the other arm, renders again and compares: byte for byte for the
pages, text for the PDFs. Unblinded viewers (the statistician) see the arms, and only they.
"""

import re
from datetime import time, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes.models import EventKind
from outcomes.selectors import site_today

from . import outcomes_factories
from .blinding import leak_markers
from .dashboards_randomization import SUPPORTS, randomize, swap_arms
from .factories import ParticipantFactory
from .safety_factories import report_ae, report_sae, report_susar

pytestmark = pytest.mark.django_db

EXOSOME, PLACEBO = (a.code for a in TRIAL.arms)
BLINDED_VIEWERS = [
    Role.COORDINATOR,
    Role.INVESTIGATOR,
    Role.MONITOR,
    Role.DATA_MANAGER,
    Role.SPONSOR,
]
PAGES = ["/dashboards/", "/dashboards/?site=01", "/dashboards/consort/", "/dashboards/reports/"]
PDFS = ["/dashboards/reports/dsmb-open.pdf", "/dashboards/reports/blank-crfs.pdf"]
CSRF = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')


@pytest.fixture
def trial(site01, make_user):
    """Three randomized participants (slots: A exosome, B exosome, A placebo) with outcome
    data, adverse events of every kind, a death and one participant enrolled but waiting."""
    coordinator = make_user(Role.COORDINATOR, username="diff-coordinator")
    day0 = site_today(site01) - timedelta(days=1)
    participants = [ParticipantFactory(site=site01) for _ in range(3)]
    for participant, support in zip(
        participants, (SUPPORTS[0], SUPPORTS[1], SUPPORTS[0]), strict=True
    ):
        randomize(participant, user=coordinator, day0=day0, support=support)
    ParticipantFactory(site=site01)
    for participant, crp in zip(participants, ("30", "120", "250"), strict=True):
        outcomes_factories.crf(participant, "D0", "crp", crp_mg_l=crp, entered_value=crp)
    outcomes_factories.crf(participants[0], "D1", "clinical_status", status_score=3)
    # The laboratory shift and infusion-vitals tables (issue 19) with something to count in
    # both arms: platelets 210 -> 40 (grade 0 -> 3) and 100 -> 120 (1 -> 1); a systolic fall.
    for participant, before, after in zip(
        participants[:2], ("210", "100"), ("40", "120"), strict=True
    ):
        outcomes_factories.crf(participant, "D0", "safety_lab", platelets_entered=Decimal(before))
        outcomes_factories.crf(
            participant,
            "D3",
            "safety_lab",
            assessed_on=day0 + timedelta(days=1),  # early: D3 is not due yet
            platelets_entered=Decimal(after),
        )
    for participant, systolic in zip(participants[1:], (95, 118), strict=True):
        for crf_code, values, at in (
            ("vitals_pre", outcomes_factories.VITAL_SIGNS, time(0, 5)),
            (
                "vitals_15m",
                {**outcomes_factories.VITAL_SIGNS, "systolic_mmhg": systolic},
                time(0, 20),
            ),
        ):
            outcomes_factories.crf(participant, "D0", crf_code, measured_at=at, **values)
    report_ae(participants[0], coordinator)
    report_sae(participants[1], coordinator)
    report_susar(participants[2], coordinator)
    outcomes_factories.event(participants[1], EventKind.DEATH, day0 + timedelta(days=1))
    return participants


def _pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages)


def _render(client, user, casebook: str) -> dict[str, str]:
    client.force_login(user)
    seen = {}
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        seen[path] = CSRF.sub(r"\1…", response.content.decode())
    paths = [*PDFS, casebook]
    for path in paths:
        response = client.get(path)
        if response.status_code == 200:
            seen[path] = _pdf_text(response.content)
    return seen


@pytest.mark.parametrize("role", BLINDED_VIEWERS)
def test_the_blinded_dashboards_are_identical_whichever_arm(client, make_user, trial, role):
    user = make_user(role)
    casebook = f"/dashboards/reports/casebook/{trial[0].study_id}.pdf"
    with time_machine.travel(timezone.now(), tick=False):
        before = _render(client, user, casebook)
        swap_arms()
        after = _render(client, user, casebook)
    assert before.keys() == after.keys()
    for path in before:
        assert before[path] == after[path], f"{role.label}: {path} changes with the allocation"
    for path, body in before.items():
        for marker in leak_markers():
            assert marker not in body, f"{role.label} saw {marker!r} on {path}"
        assert "Allocated to" not in body, f"{role.label} saw a by-arm column on {path}"
    # The open report's laboratory shifts and infusion vitals were read, pooled, with data, by
    # the roles that may read it (the sponsor, the monitor...).
    if "/dashboards/reports/dsmb-open.pdf" in before:
        report = " ".join(before["/dashboards/reports/dsmb-open.pdf"].split())
        assert "Platelets (Platelet count decreased) 0 0 0 0 1 0 1 1" in report
        assert "15 min Systolic pressure (mmHg) 2" in report
    else:
        assert role != Role.SPONSOR


def test_the_statistician_sees_the_flow_by_arm(client, make_user, trial):
    client.force_login(make_user(Role.STATISTICIAN))
    body = client.get("/dashboards/consort/").content.decode()
    assert "Allocated to Exosome · n = 2" in body
    assert "Allocated to Placebo · n = 1" in body
    swap_arms()
    body = client.get("/dashboards/consort/").content.decode()
    assert "Allocated to Exosome · n = 1" in body
    assert "Allocated to Placebo · n = 2" in body


def test_the_closed_dsmb_report_counts_by_arm(client, make_user, trial):
    client.force_login(make_user(Role.STATISTICIAN))
    text = _pdf_text(client.get("/dashboards/reports/dsmb-closed.pdf").content)
    assert "Allocated to Exosome" in text
    assert "Allocated to Placebo" in text
    assert "UNBLINDED" in text
    # The SAE's participant took stratum B's first slot (exosome), the SUSAR's A's second.
    assert re.search(rf"{trial[1].study_id}\s+Exosome", text)
    assert re.search(rf"{trial[2].study_id}\s+Placebo", text)


def test_the_pharmacist_has_no_dashboard(client, make_user):
    client.force_login(make_user(Role.PHARMACIST))
    assert client.get("/dashboards/").status_code == 403
