"""Vital signs and the safety laboratory entered through the pages (issue 19): units converted
and stored in one canonical unit, hard limits refuse with a message and lose nothing typed,
soft limits ask for a confirmation with a reason and become queries, the infusion-reaction
time points compare with the values before the infusion, the CTCAE v5.0 grade is stored with
each result and a new grade ≥ 3 prompts an AE.

Values: conversions 1 mg/dL creatinine = 88.42 µmol/L and 1 mg/dL bilirubin = 17.1 µmol/L;
grades from CTCAE v5.0 (27 November 2017; see tests/test_outcomes_ctcae.py); limits from
kernel.trial (TRIAL.hard_limits, vital_sign_soft_ranges, infusion_reaction_changes)."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from datamanagement.models import Query
from kernel.roles import Role
from outcomes import selectors
from outcomes.models import ConcomitantMedication, SafetyLab, VitalSigns, VitalSigns15Min

from . import outcomes_factories as of
from .factories import ParticipantFactory
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return PageClient()


@pytest.fixture
def participant(site01, roles):
    p = ParticipantFactory(site=site01)
    of.schedule(p)  # Day 0 three days ago: D3 is due today
    return p


@pytest.fixture
def coordinator(make_user, login):
    user = make_user(Role.COORDINATOR)
    login(user)
    return user


def url(p, visit, crf):
    return f"/outcomes/participants/{p.study_id}/visits/{visit}/{crf}/"


def today(p):
    return selectors.site_today(p.site)


VITALS = {
    "measured_at": "08:00",
    "temperature_c": "37.2",
    "heart_rate_bpm": "88",
    "systolic_mmhg": "118",
    "diastolic_mmhg": "72",
    "respiratory_rate": "22",
    "spo2_percent": "94",
    "fio2": "40",
    "fio2_unit": "percent",
    "respiratory_support": "face_mask",
    "action": "complete",
}


def test_vital_signs_are_saved_with_fio2_as_a_fraction(client, coordinator, participant):
    data = {**VITALS, "assessed_on": today(participant).isoformat()}
    response = client.post(url(participant, "D3", "vital_signs"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    vitals = VitalSigns.objects.get(visit__participant=participant, visit__code="D3")
    assert vitals.fio2 == Decimal("0.400")
    assert vitals.temperature_c == Decimal("37.2")
    assert vitals.is_complete
    assert vitals.warnings_confirmed == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature_c", "47", "Temperature must be between 25 and 45"),
        ("spo2_percent", "101", "SpO2 must be between 40 and 100"),
        ("heart_rate_bpm", "300", "Heart rate must be between 20 and 250"),
        ("diastolic_mmhg", "130", "The diastolic pressure must be below the systolic"),
    ],
)
def test_vital_signs_beyond_a_hard_limit_are_refused_and_kept(
    client, coordinator, participant, field, value, message
):
    data = {**VITALS, "assessed_on": today(participant).isoformat(), field: value}
    response = client.post(url(participant, "D3", "vital_signs"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert f'value="{value}"' in body  # nothing typed is lost
    assert not VitalSigns.objects.filter(visit__participant=participant).exists()


def test_a_low_spo2_asks_for_a_confirmation_and_becomes_a_query(client, coordinator, participant):
    data = {**VITALS, "assessed_on": today(participant).isoformat(), "spo2_percent": "84"}
    response = client.post(url(participant, "D3", "vital_signs"), data)
    assert response.status_code == 200
    assert "SpO2 84 % is outside 88–" in response.content.decode()
    assert not VitalSigns.objects.exists()
    response = client.post(
        url(participant, "D3", "vital_signs"),
        {**data, "confirm_warnings": "on", "warning_reason": "Desaturated while suctioned"},
    )
    assert response.status_code == 302
    vitals = VitalSigns.objects.get()
    assert "SpO2 84" in vitals.warnings_confirmed
    assert Query.objects.filter(crf_code="vital_signs", visit=vitals.visit).exists()


def _infusion_at(participant, start: datetime):
    # A draft: this participant's dose was not handed over (no randomization here), and the
    # infusion is completed only after the hand-over (issue 18); its start is what counts.
    of.crf(
        participant,
        "D0",
        "infusion",
        complete=False,
        started_at=start,
        ended_at=start + timedelta(minutes=15),
        volume_ml=Decimal("2.0"),
        completed=True,
        reaction=False,
    )


def _infused_at_10_30_after_pre_dose_vitals(participant):
    """Day 0: the pre-infusion vitals at 10:20 (HR 90, BP 120/70), the infusion started at
    10:30, site time. Returns Day 0's date."""
    day0 = of.visit(participant, "D0").target_date
    zone = ZoneInfo(participant.site.time_zone)
    _infusion_at(participant, datetime.combine(day0, time(10, 30), tzinfo=zone))
    of.crf(
        participant,
        "D0",
        "vitals_pre",
        measured_at=time(10, 20),
        temperature_c=Decimal("37.0"),
        heart_rate_bpm=90,
        systolic_mmhg=120,
        diastolic_mmhg=70,
        respiratory_rate=20,
        spo2_percent=94,
        respiratory_support="face_mask",
    )
    return day0


def test_the_15_minute_vitals_warn_of_an_infusion_reaction(client, coordinator, participant):
    day0 = _infused_at_10_30_after_pre_dose_vitals(participant)
    # 15 minutes after the start, systolic pressure down 25 mmHg (a fall of 20 warns).
    data = {
        **VITALS,
        "assessed_on": day0.isoformat(),
        "measured_at": "10:45",
        "temperature_c": "37.1",
        "heart_rate_bpm": "95",
        "systolic_mmhg": "95",
        "diastolic_mmhg": "60",
    }
    response = client.post(url(participant, "D0", "vitals_15m"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Systolic pressure changed from 120 to 95 mmHg since before the infusion" in body
    assert "minutes after the infusion started" not in body  # on time
    # Measured at 11:20 (50 minutes after the start): off the 15-minute time point.
    response = client.post(
        url(participant, "D0", "vitals_15m"),
        {**data, "measured_at": "11:20", "systolic_mmhg": "118"},
    )
    assert "Measured 50 minutes after the infusion started" in response.content.decode()
    assert not VitalSigns15Min.objects.exists()


def test_a_possible_infusion_reaction_offers_the_next_step_reporting_the_ae(
    client, coordinator, participant
):
    """The warning's next step: the values saved (confirmed), then the AE report page; a
    warning that is not a reaction (a low SpO2 alone at the daily vitals) offers no such step."""
    day0 = _infused_at_10_30_after_pre_dose_vitals(participant)
    data = {
        **VITALS,
        "assessed_on": day0.isoformat(),
        "measured_at": "10:45",
        "heart_rate_bpm": "115",  # +25/min: a rise of 20 warns
        "systolic_mmhg": "118",
        "diastolic_mmhg": "60",
    }
    response = client.post(url(participant, "D0", "vitals_15m"), data)
    body = response.content.decode()
    assert 'data-testid="next-step-ae"' in body
    assert "Save and report an adverse event" in body
    response = client.post(
        url(participant, "D0", "vitals_15m"),
        {
            **data,
            "action": "complete_report_ae",
            "confirm_warnings": "on",
            "warning_reason": "Rechecked",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/safety/participants/{participant.study_id}/ae/new/?visit=D0"
    saved = VitalSigns15Min.objects.get()
    assert saved.is_complete
    assert "possible infusion reaction" in saved.warnings_confirmed
    # Not a reaction: no next step offered.
    response = client.post(
        url(participant, "D1", "vital_signs"),
        {**VITALS, "assessed_on": of.visit(participant, "D1").target_date.isoformat(),
         "spo2_percent": "84"},
    )  # fmt: skip
    body = response.content.decode()
    assert 'data-testid="soft-warnings"' in body
    assert 'data-testid="next-step-ae"' not in body


def test_the_infusion_time_points_need_the_time_measured(client, coordinator, participant):
    day0 = of.visit(participant, "D0").target_date
    data = {**VITALS, "assessed_on": day0.isoformat(), "measured_at": ""}
    response = client.post(url(participant, "D0", "vitals_30m"), data)
    assert response.status_code == 200
    assert "time measured" in response.content.decode()


LAB = {
    "haemoglobin_entered": "13.1",
    "wbc_entered": "9.5",
    "lymphocytes_entered": "0.9",
    "platelets_entered": "210",
    "creatinine_entered": "88.42",
    "creatinine_unit": "µmol/L",
    "alt_entered": "35",
    "ast_entered": "38",
    "bilirubin_entered": "17.1",
    "bilirubin_unit": "µmol/L",
    "d_dimer_entered": "1200",
    "d_dimer_unit": "ng/mL FEU",
    "ferritin_entered": "850",
    "ldh_entered": "420",
    "troponin_entered": "12",
    "fibrinogen_entered": "4.5",
    "fibrinogen_unit": "g/L",
    "action": "complete",
}


def test_lab_results_are_converted_ranged_and_graded(client, coordinator, participant):
    day0 = of.visit(participant, "D0").target_date
    response = client.post(
        url(participant, "D0", "safety_lab"), {**LAB, "assessed_on": day0.isoformat()}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    lab = SafetyLab.objects.get()
    # 88.42 µmol/L = 1 mg/dL; 17.1 µmol/L = 1 mg/dL; 1200 ng/mL = 1.2 µg/mL; 4.5 g/L = 450 mg/dL.
    assert lab.creatinine == Decimal("1.0000")
    assert (lab.creatinine_entered, lab.creatinine_unit) == (Decimal("88.42"), "µmol/L")
    assert lab.bilirubin == Decimal("1.0000")
    assert lab.d_dimer == Decimal("1.2000")
    assert lab.fibrinogen == Decimal("450.0000")
    # Site 01's own haemoglobin range (kernel.trial lab_normal_ranges), stored with the value.
    assert (lab.haemoglobin_lln, lab.haemoglobin_uln) == (Decimal("12.0"), Decimal("16.0"))
    # Lymphocytes 0.9 × 10⁹/L: CTCAE grade 1 (<LLN 1.0 – 0.8); the others within range.
    assert lab.lymphocytes_grade == 1
    assert lab.platelets_grade == 0
    assert lab.creatinine_grade == 0
    assert not hasattr(lab, "d_dimer_grade")  # CTCAE grades no D-dimer value


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("platelets_entered", "5000", "Platelets must be between 0 and 3000"),
        ("lymphocytes_entered", "12", "Lymphocytes (12) cannot exceed the white cells (9.5)"),
    ],
)
def test_lab_results_beyond_a_hard_limit_are_refused(
    client, coordinator, participant, field, value, message
):
    day0 = of.visit(participant, "D0").target_date
    data = {**LAB, "assessed_on": day0.isoformat(), field: value}
    response = client.post(url(participant, "D0", "safety_lab"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert f'value="{value}"' in body
    assert not SafetyLab.objects.exists()


def test_creatinine_in_umol_l_is_refused_after_its_conversion(client, coordinator, participant):
    day0 = of.visit(participant, "D0").target_date
    # 3000 µmol/L = 33.9 mg/dL, above the 30 mg/dL limit.
    data = {**LAB, "assessed_on": day0.isoformat(), "creatinine_entered": "3000"}
    body = client.post(url(participant, "D0", "safety_lab"), data).content.decode()
    assert "Creatinine must be between 0.1 and 30 mg/dL" in body
    assert "(3000 µmol/L)" in body


def test_a_new_grade_3_prompts_an_ae_and_becomes_a_query(client, coordinator, participant):
    of.crf(participant, "D0", "safety_lab", platelets_entered=Decimal("210"))
    data = {**LAB, "assessed_on": today(participant).isoformat(), "platelets_entered": "40"}
    response = client.post(url(participant, "D3", "safety_lab"), data)
    assert response.status_code == 200
    body = response.content.decode()
    # Platelets 40 × 10⁹/L: grade 3 (<50.0–25.0), grade 0 at baseline.
    assert "Platelets: CTCAE grade 3 (Platelet count decreased), grade 0 at baseline" in body
    assert "Record an adverse event" in body
    response = client.post(
        url(participant, "D3", "safety_lab"),
        {**data, "confirm_warnings": "on", "warning_reason": "AE 1 recorded"},
    )
    assert response.status_code == 302
    lab = SafetyLab.objects.get(visit__code="D3")
    assert lab.platelets_grade == 3
    assert Query.objects.filter(crf_code="safety_lab", visit=lab.visit).exists()


def test_grades_against_an_abnormal_baseline(client, coordinator, participant):
    # ALT 100 U/L at baseline (ULN 41 at site 01): 250 U/L is 2.5 × baseline, grade 1 (1.5–3.0
    # × baseline), not the grade 3 it would be against the ULN (>5.0 × 41 = 205).
    of.crf(participant, "D0", "safety_lab", alt_entered=Decimal("100"))
    of.crf(participant, "D3", "safety_lab", alt_entered=Decimal("250"))
    lab = SafetyLab.objects.get(visit__code="D3")
    assert lab.alt_grade == 1
    assert lab.warnings_confirmed == ""  # no AE prompt


# -- concomitant medications ---------------------------------------------------------------------


def conmed_url(p, pk=None):
    tail = f"{pk}/" if pk else "new/"
    return f"/outcomes/participants/{p.study_id}/medications/{tail}"


def test_a_quick_pick_is_logged_and_listed(client, coordinator, participant):
    started = today(participant) - timedelta(days=2)
    response = client.post(
        conmed_url(participant),
        {
            "category": "tocilizumab",
            "drug": "",
            "indication": "COVID-19 hyperinflammation",
            "dose": "8",
            "dose_unit": "mg/kg",
            "route": "iv",
            "frequency": "once",
            "started_on": started.isoformat(),
            "stopped_on": started.isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    med = ConcomitantMedication.objects.get()
    assert med.drug == "Tocilizumab"  # the quick pick names it
    assert med.history.count() == 1
    page = client.get(f"/outcomes/participants/{participant.study_id}/visits/").content.decode()
    assert "COVID-19 hyperinflammation" in page


@pytest.mark.parametrize(
    ("change", "field_message"),
    [
        ({"ongoing": "on", "stopped_on": "STARTED"}, "not ongoing: give one or the other"),
        ({"stopped_on": ""}, "Give the stop date, or tick &#x27;ongoing&#x27;."),
        ({"stopped_on": "BEFORE"}, "cannot stop before it started"),
        ({"dose_unit": ""}, "Give the unit of the dose."),
        ({"drug": "", "category": ""}, "Give the drug name, or pick a therapy of interest."),
    ],
)
def test_a_medication_that_does_not_add_up_is_refused_and_kept(
    client, coordinator, participant, change, field_message
):
    started = today(participant) - timedelta(days=2)
    data = {
        "category": "",
        "drug": "Dexamethasone",
        "indication": "ARDS",
        "dose": "6",
        "dose_unit": "mg",
        "route": "iv",
        "frequency": "qd",
        "started_on": started.isoformat(),
        "stopped_on": today(participant).isoformat(),
    }
    for name, value in change.items():
        data[name] = {
            "STARTED": started.isoformat(),
            "BEFORE": (started - timedelta(days=1)).isoformat(),
        }.get(value, value)
    response = client.post(conmed_url(participant), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert field_message in body
    assert 'value="ARDS"' in body  # nothing typed is lost
    assert not ConcomitantMedication.objects.exists()


def test_a_correction_needs_a_reason(client, coordinator, participant):
    started = today(participant) - timedelta(days=2)
    data = {
        "drug": "Enoxaparin",
        "category": "anticoagulant",
        "indication": "Thromboprophylaxis",
        "dose": "40",
        "dose_unit": "mg",
        "route": "sc",
        "frequency": "qd",
        "started_on": started.isoformat(),
        "ongoing": "on",
    }
    assert client.post(conmed_url(participant), data).status_code == 302
    med = ConcomitantMedication.objects.get()
    response = client.post(conmed_url(participant, med.pk), {**data, "dose": "60"})
    assert response.status_code == 200  # no reason
    response = client.post(
        conmed_url(participant, med.pk), {**data, "dose": "60", "reason_for_change": "Weight"}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    med.refresh_from_db()
    assert med.dose == Decimal("60")
    assert med.history.first().history_change_reason == "Weight"


def test_the_visit_page_shows_the_results_with_their_range_and_grade(
    client, coordinator, participant
):
    of.crf(participant, "D0", "safety_lab", platelets_entered=Decimal("210"))
    of.crf(participant, "D3", "safety_lab", platelets_entered=Decimal("40"))
    of.crf(participant, "D3", "vital_signs", measured_at=time(8, 5), **of.VITAL_SIGNS)
    body = client.get(f"/outcomes/participants/{participant.study_id}/visits/D3/").content.decode()
    assert "Platelets <strong>40</strong> 10⁹/L" in body
    assert "[150–450]" in body
    assert "grade 3" in body
    assert "BP 120/70 mmHg" in body
