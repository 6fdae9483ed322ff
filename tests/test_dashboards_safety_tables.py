"""The DSMB's laboratory shift and infusion-reaction vital-sign tables (issue 19), against values
worked out by hand: pooled on the open report, per arm on the closed one (as the AEs by system
organ class), and never by arm for a blinded reader."""

import re
from datetime import time, timedelta
from decimal import Decimal as D
from io import BytesIO

import pytest
from pypdf import PdfReader

from dashboards import selectors
from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes.selectors import site_today

from . import outcomes_factories as of
from .dashboards_randomization import EXOSOME, PLACEBO, SUPPORTS, randomize
from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db

SIGNS = (
    "temperature_c",
    "heart_rate_bpm",
    "systolic_mmhg",
    "diastolic_mmhg",
    "respiratory_rate",
    "spo2_percent",
)
# Per participant: the pre-infusion values, then those at 15 minutes (in SIGNS' order).
PRE = [
    ("37.0", 90, 120, 70, 20, 94),
    ("36.8", 80, 130, 80, 18, 96),
    ("37.2", 100, 110, 65, 24, 92),
]
AT_15 = [
    ("37.1", 95, 95, 60, 22, 93),  # systolic -25: warns (a fall of 20)
    ("38.0", 110, 125, 75, 24, 95),  # temperature +1.2 and heart rate +30: two warnings
    ("37.2", 104, 112, 66, 24, 88),  # SpO2 -4: warns (a fall of 4, at the edge)
]


def _vitals(participant, crf_code, values, *, at, complete=True):
    of.crf(
        participant,
        "D0",
        crf_code,
        complete=complete,
        measured_at=at,
        respiratory_support="face_mask",
        **dict(zip(SIGNS, values, strict=True)),
    )


@pytest.fixture
def trial(site01, make_user):
    """Three randomized participants (slots: A exosome, B exosome, A placebo) with safety labs
    and infusion-reaction vital signs; drafts that the tables must not count."""
    coordinator = make_user(Role.COORDINATOR, username="tables-coordinator")
    day0 = site_today(site01) - timedelta(days=8)
    participants = [ParticipantFactory(site=site01) for _ in range(3)]
    for participant, support in zip(
        participants, (SUPPORTS[0], SUPPORTS[1], SUPPORTS[0]), strict=True
    ):
        randomize(participant, user=coordinator, day0=day0, support=support)
    p1, p2, p3 = participants
    # Platelets (LLN 150; CTCAE v5.0: 1 <LLN-75, 2 <75-50, 3 <50-25, 4 <25):
    # p1 210 (0) -> D3 40 (3), D7 100 (1): worst 3; p2 100 (1) -> D3 120 (1); p3 60 (2) with
    # only a draft after it (not counted).
    for participant, visit, count, complete in (
        (p1, "D0", "210", True),
        (p1, "D3", "40", True),
        (p1, "D7", "100", True),
        (p2, "D0", "100", True),
        (p2, "D3", "120", True),
        (p3, "D0", "60", True),
        (p3, "D3", "20", False),
    ):
        of.crf(participant, visit, "safety_lab", complete=complete, platelets_entered=D(count))
    # ALT (ULN 40 at site 01, baseline normal: 1 >ULN-3xULN, 2 >3-5xULN): p1 30 (0) -> 130 (2).
    of.crf(p1, "D0", "safety_lab", platelets_entered=D("210"), alt_entered=D("30"))
    of.crf(p1, "D3", "safety_lab", platelets_entered=D("40"), alt_entered=D("130"))
    for participant, pre, after in zip(participants, PRE, AT_15, strict=True):
        _vitals(participant, "vitals_pre", pre, at=time(0, 5))
        _vitals(participant, "vitals_15m", after, at=time(0, 20))
    # 60 minutes: heart rate p1 +11, p2 +4 (median of two: 7.5); p3's is a draft.
    _vitals(p1, "vitals_60m", ("37.0", 101, 120, 70, 20, 94), at=time(1, 5))
    _vitals(p2, "vitals_60m", ("36.8", 84, 130, 80, 18, 96), at=time(1, 5))
    _vitals(p3, "vitals_60m", ("39.9", 150, 70, 40, 30, 80), at=time(1, 5), complete=False)
    arms = [p.randomization.slot.arm for p in participants]
    assert arms == [EXOSOME, EXOSOME, PLACEBO]
    return participants


def _platelets(tables):
    return next(t for t in tables if t["analyte"].code == "platelets")


def _alt(tables):
    return next(t for t in tables if t["analyte"].code == "alt")


def _row(changes, crf, sign):
    return next(r for r in changes["rows"] if r["crf"] == crf and r["sign"] == sign)


def _summary(row):
    return (row["n"], row["median"], row["minimum"], row["maximum"], row["warnings"])


def test_the_lab_shifts_count_baseline_grade_against_the_worst_after_it(trial, make_user):
    scope = selectors.scope_for(make_user(Role.SPONSOR))
    tables = selectors.lab_shifts(scope)
    platelets = _platelets(tables)
    expected = [[0] * 5 for _ in range(5)]
    expected[0][3] = 1  # p1: 0 -> worst 3 (D3 40, not D7's 1)
    expected[1][1] = 1  # p2: 1 -> 1
    assert platelets["shifts"] == expected
    assert (platelets["n"], platelets["worsened"], platelets["new_grade3"]) == (2, 1, 1)
    alt = _alt(tables)
    assert alt["shifts"][0][2] == 1
    assert (alt["n"], alt["worsened"], alt["new_grade3"]) == (1, 1, 0)
    # An analyte nobody has: no participant counted.
    assert next(t for t in tables if t["analyte"].code == "fibrinogen")["n"] == 0


def test_the_infusion_vitals_give_the_change_from_before_the_infusion(trial, make_user):
    changes = selectors.infusion_vital_changes(selectors.scope_for(make_user(Role.SPONSOR)))
    # Temperature at 15 min: +0.1, +1.2, 0.0 -> median 0.1, min 0.0, max 1.2; one warns (>= 1).
    assert _summary(_row(changes, "vitals_15m", "temperature_c")) == (
        3,
        D("0.1"),
        D("0.0"),
        D("1.2"),
        1,
    )
    # Heart rate: +5, +30, +4 -> median 5; one warns (a rise of 20).
    assert _summary(_row(changes, "vitals_15m", "heart_rate_bpm")) == (3, 5, 4, 30, 1)
    # Systolic: -25, -5, +2 -> median -5; one warns (a fall of 20).
    assert _summary(_row(changes, "vitals_15m", "systolic_mmhg")) == (3, -5, -25, 2, 1)
    # Diastolic: -10, -5, +1; no infusion-reaction rule on it, so no count.
    assert _summary(_row(changes, "vitals_15m", "diastolic_mmhg")) == (3, -5, -10, 1, None)
    # Respiratory rate: +2, +6, 0 -> median 2.
    assert _summary(_row(changes, "vitals_15m", "respiratory_rate")) == (3, 2, 0, 6, None)
    # SpO2: -1, -1, -4 -> median -1; the fall of 4 warns.
    assert _summary(_row(changes, "vitals_15m", "spo2_percent")) == (3, -1, -4, -1, 1)
    # 60 minutes: heart rate +11 and +4 (p3's draft not counted): median 7.5.
    assert _summary(_row(changes, "vitals_60m", "heart_rate_bpm")) == (2, D("7.5"), 4, 11, 0)
    # Nothing at 30 minutes.
    assert _summary(_row(changes, "vitals_30m", "heart_rate_bpm")) == (0, None, None, None, 0)
    assert [r["minutes"] for r in changes["rows"][:: len(SIGNS)]] == [15, 30, 60, 240]
    assert (changes["participants_warned"], changes["participants"]) == (3, 3)


def test_the_tables_by_arm_are_for_a_by_arm_scope_only(trial, make_user):
    statistician = make_user(Role.STATISTICIAN)
    by_arm = selectors.scope_for(statistician, by_arm=True)
    exosome = _platelets(selectors.lab_shifts(by_arm, arm_code=EXOSOME))
    placebo = _platelets(selectors.lab_shifts(by_arm, arm_code=PLACEBO))
    assert (exosome["n"], exosome["shifts"][0][3], exosome["shifts"][1][1]) == (2, 1, 1)
    assert placebo["n"] == 0  # p3 has no complete result after baseline
    changes = selectors.infusion_vital_changes(by_arm, arm_code=EXOSOME)
    # Exosome (p1, p2): temperature +0.1 and +1.2 -> median 0.65.
    assert _summary(_row(changes, "vitals_15m", "temperature_c")) == (
        2,
        D("0.65"),
        D("0.1"),
        D("1.2"),
        1,
    )
    changes = selectors.infusion_vital_changes(by_arm, arm_code=PLACEBO)
    assert _summary(_row(changes, "vitals_15m", "spo2_percent")) == (1, -4, -4, -4, 1)
    assert (changes["participants_warned"], changes["participants"]) == (1, 1)
    # A blinded reader's scope is never by arm: asking for one arm is refused.
    blinded = selectors.scope_for(make_user(Role.SPONSOR), by_arm=True)
    with pytest.raises(ValueError, match="by-arm scope"):
        selectors.lab_shifts(blinded, arm_code=EXOSOME)
    with pytest.raises(ValueError, match="by-arm scope"):
        selectors.infusion_vital_changes(blinded, arm_code=EXOSOME)


def _pdf_text(response) -> str:
    assert response.status_code == 200
    reader = PdfReader(BytesIO(response.content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_open_report_shows_the_tables_pooled(client, make_user, trial):
    client.force_login(make_user(Role.SPONSOR))
    text = _pdf_text(client.get("/dashboards/reports/dsmb-open.pdf"))
    assert "Laboratory shifts: CTCAE v5.0 grade at baseline → worst grade after baseline" in text
    # Platelets: baseline 0 -> worst 3 (n 1, worse 1); baseline 1 -> 1 (n 1, worse 0).
    platelets = r"Platelets \(Platelet count decreased\) "
    assert re.search(f"{platelets}0 0 0 0 1 0 1 1 {platelets}1 0 1 0 0 0 1 0", text)
    assert "ALT (Alanine aminotransferase increased) 0 0 0 1 0 0 1 1" in text
    assert "Infusion-reaction vital signs: change from before the infusion" in text
    assert re.search(r"15 min Temperature \(°C\) 3 \+0\.1 0 – \+1\.2 1", text)
    assert re.search(r"15 min Systolic pressure \(mmHg\) 3 −5 −25 – \+2 1", text)
    assert re.search(r"1 h Heart rate \(/min\) 2 \+7\.5 \+4 – \+11 0", text)
    assert "3 of 3 participants measured had at least one change that warned" in text
    for arm in TRIAL.arms:
        assert arm.label not in text


def test_the_closed_report_shows_the_tables_per_arm(client, make_user, trial):
    client.force_login(make_user(Role.STATISTICIAN))
    text = _pdf_text(client.get("/dashboards/reports/dsmb-closed.pdf"))
    shifts = text.index("Laboratory shifts")
    vitals = text.index("Infusion-reaction vital signs")
    lab_part, vitals_part = text[shifts:vitals], text[vitals:]
    exosome, placebo = (a.label for a in TRIAL.arms)
    assert lab_part.index(exosome) < lab_part.index(placebo)
    exosome_labs, placebo_labs = lab_part.split(placebo, 1)
    assert "Platelets (Platelet count decreased) 0 0 0 0 1 0 1 1" in exosome_labs
    assert "Platelets (Platelet count decreased) — — — — — — 0 —" in placebo_labs
    assert re.search(r"15 min Temperature \(°C\) 2 \+0\.65 \+0\.1 – \+1\.2 1", vitals_part)
    assert re.search(r"15 min SpO2 \(%\) 1 −4 −4 – −4 1", vitals_part)
    assert "2 of 2 participants measured" in vitals_part
    assert "1 of 1 participants measured" in vitals_part
