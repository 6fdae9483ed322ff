"""CRF entry through the pages: computed values stored, hard limits refuse, soft limits ask,
nothing typed is lost, changes need a reason, site scoping holds (SPEC §4, issue 6)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kernel.roles import Role
from outcomes import selectors, services
from outcomes.exceptions import HardLimitExceeded
from outcomes.models import (
    BloodGas,
    ClinicalStatus,
    CrfStatus,
    Crp,
    Murray,
    StudyEvent,
    Visit,
    VisitState,
)

from . import outcomes_factories as of
from .factories import ParticipantFactory, SiteFactory
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
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


def test_blood_gas_with_fio2_as_a_fraction_stores_the_pf_ratio(client, coordinator, participant):
    response = client.post(
        url(participant, "D3", "blood_gas"),
        {
            "assessed_on": today(participant).isoformat(),
            "pao2_mmhg": "80",
            "fio2": "0.40",
            "fio2_unit": "fraction",
            "action": "complete",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    abg = BloodGas.objects.get(visit__participant=participant, visit__code="D3")
    # 80 / 0.40 = 200.0 mmHg (SPEC §4)
    assert (abg.fio2, abg.pf_ratio, abg.status) == (
        Decimal("0.400"),
        Decimal("200.0"),
        CrfStatus.COMPLETE,
    )


def test_fio2_typed_as_a_percentage_is_converted_explicitly(client, coordinator, participant):
    client.post(
        url(participant, "D3", "blood_gas"),
        {
            "assessed_on": today(participant).isoformat(),
            "pao2_mmhg": "75",
            "fio2": "60",
            "fio2_unit": "percent",
            "action": "complete",
        },
    )
    abg = BloodGas.objects.get(visit__participant=participant, visit__code="D3")
    # 60 % -> 0.60; 75 / 0.60 = 125.0 mmHg
    assert (abg.fio2, abg.pf_ratio) == (Decimal("0.600"), Decimal("125.0"))


def test_fio2_1_5_is_refused_naming_the_field_and_limit_and_keeps_what_was_typed(
    client, coordinator, participant
):
    response = client.post(
        url(participant, "D3", "murray"),
        {
            "assessed_on": today(participant).isoformat(),
            "pao2_mmhg": "88",
            "fio2": "1.5",
            "fio2_unit": "fraction",
            "peep_cmh2o": "12",
            "cxr_quadrants": "3",
            "action": "complete",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "FiO2 must be between 0.21 and 1.00 fraction" in body
    assert 'value="88"' in body
    assert 'value="12"' in body
    assert 'value="1.5"' in body
    assert not Murray.objects.filter(visit__participant=participant).exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pao2_mmhg", "701", "PaO2 must be between 20 and 700 mmHg"),
        ("peep_cmh2o", "31", "PEEP must be between 0 and 30 cmH2O"),
        ("compliance_ml_cmh2o", "4", "Static compliance must be between 5 and 150 ml/cmH2O"),
    ],
)
def test_murray_hard_limits_refuse(client, coordinator, participant, field, value, message):
    data = {
        "assessed_on": today(participant).isoformat(),
        "pao2_mmhg": "80",
        "fio2": "0.5",
        "fio2_unit": "fraction",
        "cxr_quadrants": "2",
        "action": "draft",
        field: value,
    }
    response = client.post(url(participant, "D3", "murray"), data)
    assert message in response.content.decode()
    assert not Murray.objects.exists()


def test_murray_stores_components_sum_and_mean(client, coordinator, participant):
    client.post(
        url(participant, "D3", "murray"),
        {
            "assessed_on": today(participant).isoformat(),
            "respiratory_support": "invasive_ventilation",  # issue 18: PEEP needs it
            "pao2_mmhg": "75",
            "fio2": "0.5",
            "fio2_unit": "fraction",
            "peep_cmh2o": "10",
            "compliance_ml_cmh2o": "35",
            "cxr_quadrants": "3",
            "action": "complete",
        },
    )
    m = Murray.objects.get(visit__participant=participant)
    # P/F 75/0.5 = 150 -> 3; PEEP 10 -> 2; compliance 35 -> 3; CXR 3 -> 3 (Murray 1988):
    # sum 11, mean 11/4 = 2.75.
    assert (m.pf_ratio, m.pf_points, m.peep_points, m.compliance_points, m.cxr_points) == (
        Decimal("150.0"),
        3,
        2,
        3,
        3,
    )
    assert (m.total, m.n_components, m.score) == (11, 4, Decimal("2.75"))


def test_murray_at_a_band_edge_stores_the_points_of_the_exact_ratio_beside_its_pf(
    client, coordinator, participant
):
    """PaO2 63 at FiO2 28 %: P/F 63 / 0.28 = 225 exactly, Murray 1988 "225-299 -> 1" (a float
    division gave 224.99999999999997 and 2 points beside a stored 225.0)."""
    response = client.post(
        url(participant, "D3", "murray"),
        {
            "assessed_on": today(participant).isoformat(),
            "respiratory_support": "face_mask",  # issue 18: needed to complete
            "pao2_mmhg": "63",
            "fio2": "28",
            "fio2_unit": "percent",
            "cxr_quadrants": "2",
            "action": "complete",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    m = Murray.objects.get(visit__participant=participant)
    assert (m.fio2, m.pf_ratio, m.pf_points) == (Decimal("0.280"), Decimal("225.0"), 1)
    # CXR 2 quadrants -> 2 (Murray 1988): sum 1 + 2 = 3, mean 3/2 = 1.5.
    assert (m.total, m.n_components, m.score) == (3, 2, Decimal("1.50"))
    computed = client.get(
        "/outcomes/compute/",
        {"pao2_mmhg": "63", "fio2": "28", "fio2_unit": "percent", "cxr_quadrants": "2"},
    ).content.decode()
    assert "<strong>225.0</strong>" in computed
    assert 'data-component="pf_ratio">1<' in computed


def test_an_out_of_window_date_warns_and_saves_only_with_confirmation_and_reason(
    client, coordinator, participant
):
    late = today(participant) - timedelta(days=1)  # D3 has a window of 0 days
    data = {"assessed_on": late.isoformat(), "status_score": "4", "action": "complete"}
    response = client.post(url(participant, "D3", "clinical_status"), data)
    body = response.content.decode()
    assert "outside the D3 window" in body
    assert 'data-testid="soft-warnings"' in body
    assert not ClinicalStatus.objects.exists()

    response = client.post(
        url(participant, "D3", "clinical_status"), {**data, "confirm_warnings": "on"}
    )
    assert not ClinicalStatus.objects.exists()  # a reason is needed too

    client.post(
        url(participant, "D3", "clinical_status"),
        {**data, "confirm_warnings": "on", "warning_reason": "Entered late from the chart"},
    )
    cs = ClinicalStatus.objects.get()
    assert "outside the D3 window" in cs.warnings_confirmed
    assert cs.warning_reason == "Entered late from the chart"


def test_a_pf_ratio_above_500_warns(client, coordinator, participant):
    response = client.post(
        url(participant, "D3", "blood_gas"),
        {
            "assessed_on": today(participant).isoformat(),
            "pao2_mmhg": "120",
            "fio2": "0.21",
            "fio2_unit": "fraction",
            "action": "complete",
        },
    )
    # 120 / 0.21 = 571.4 > 500 (TRIAL.pf_ratio_soft_maximum)
    assert "above 500 mmHg" in response.content.decode()
    assert not BloodGas.objects.exists()


def test_a_large_move_since_the_previous_visit_warns(client, coordinator, participant):
    of.crf(participant, "D0", "blood_gas", pao2_mmhg=60, fio2="0.6")  # P/F 100
    response = client.post(
        url(participant, "D3", "blood_gas"),
        {
            "assessed_on": today(participant).isoformat(),
            "pao2_mmhg": "140",
            "fio2": "0.4",
            "fio2_unit": "fraction",
            "action": "complete",
        },
    )
    # 140 / 0.4 = 350; 350 - 100 = 250 > 150 (TRIAL.soft_limit_deltas["pf_ratio"])
    body = response.content.decode()
    assert "P/F ratio moved from 100.0 at D0 to 350.0" in body


def test_crp_in_mg_dl_is_stored_in_mg_l(client, coordinator, participant):
    p = participant
    client.post(
        url(p, "D0", "crp"),
        {
            "assessed_on": selectors.day0_of(p).isoformat(),
            "assessed_time": "00:05",  # Day 0: timed (issue 18)
            "crp_value": "12.5",
            "crp_unit": "mg/dL",
            "action": "complete",
        },
    )
    crp = Crp.objects.get()
    # 12.5 mg/dL x 10 = 125 mg/L; what was typed is kept beside it.
    assert (crp.crp_mg_l, crp.entered_value, crp.entered_unit) == (
        Decimal("125.0"),
        Decimal("12.50"),
        "mg/dL",
    )


def test_crp_typed_in_mg_dl_with_two_decimals_is_saved(client, coordinator, participant):
    """4.26 mg/dL = 42.6 mg/L: accepted, not refused for having "two decimals" (42.60)."""
    p = participant
    response = client.post(
        url(p, "D0", "crp"),
        {
            "assessed_on": selectors.day0_of(p).isoformat(),
            "assessed_time": "00:05",  # Day 0: timed (issue 18)
            "crp_value": "4.26",
            "crp_unit": "mg/dL",
            "action": "complete",
        },
    )
    assert response.status_code == 302
    assert Crp.objects.get().crp_mg_l == Decimal("42.6")


def test_crp_above_500_mg_l_is_refused_after_conversion(client, coordinator, participant):
    p = participant
    response = client.post(
        url(p, "D0", "crp"),
        {
            "assessed_on": selectors.day0_of(p).isoformat(),
            "crp_value": "60",
            "crp_unit": "mg/dL",
            "action": "complete",
        },
    )
    assert "CRP must be between 0 and 500 mg/L; 600 mg/L (60 mg/dL)" in response.content.decode()
    assert not Crp.objects.exists()


def test_weight_outside_30_to_250_kg_is_refused(client, coordinator, participant):
    p = participant
    response = client.post(
        url(p, "D0", "baseline"),
        {"assessed_on": selectors.day0_of(p).isoformat(), "weight_kg": "251", "action": "draft"},
    )
    assert "Weight must be between 30 and 250 kg" in response.content.decode()


@pytest.mark.parametrize(("offset", "message"), [(1, "in the future"), (-4, "before Day 0")])
def test_dates_in_the_future_or_before_day_0_are_refused(
    client, coordinator, participant, offset, message
):
    on = today(participant) + timedelta(days=offset)
    response = client.post(
        url(participant, "D3", "clinical_status"),
        {"assessed_on": on.isoformat(), "status_score": "4", "action": "complete"},
    )
    assert message in response.content.decode()
    assert not ClinicalStatus.objects.exists()


def test_a_draft_may_be_incomplete_but_complete_needs_the_required_fields(
    client, coordinator, participant
):
    data = {"assessed_on": today(participant).isoformat(), "fio2_unit": "fraction"}
    response = client.post(url(participant, "D3", "murray"), {**data, "action": "complete"})
    assert "To mark the CRF complete, fill" in response.content.decode()
    assert not Murray.objects.exists()
    client.post(url(participant, "D3", "murray"), {**data, "action": "draft"})
    assert Murray.objects.get().status == CrfStatus.DRAFT


def test_a_change_to_a_saved_crf_needs_a_reason_and_is_audited(client, coordinator, participant):
    of.crf(participant, "D3", "clinical_status", status_score=5, assessed_on=today(participant))
    data = {
        "assessed_on": today(participant).isoformat(),
        "status_score": "4",
        "action": "complete",
    }
    response = client.post(url(participant, "D3", "clinical_status"), data)
    assert "Give a reason for this change" in response.content.decode()
    assert ClinicalStatus.objects.get().status_score == 5
    client.post(
        url(participant, "D3", "clinical_status"),
        {**data, "reason_for_change": "Misread the chart"},
    )
    crf = ClinicalStatus.objects.get()
    assert crf.status_score == 4
    assert crf.history.first().history_change_reason == "Misread the chart"
    page = client.get(f"/audit/outcomes.clinicalstatus/{crf.pk}/").content.decode()
    assert "Misread the chart" in page


def test_a_new_ae_links_to_the_ae_report(client, coordinator, participant):
    client.post(
        url(participant, "D3", "ae_assessment"),
        {"assessed_on": today(participant).isoformat(), "new_ae": "True", "action": "complete"},
    )
    body = client.get(f"/outcomes/participants/{participant.study_id}/visits/D3/").content
    assert f"/safety/participants/{participant.study_id}/ae/new/" in body.decode()


def test_the_timeline_shows_windows_statuses_and_completed_crfs(client, coordinator, participant):
    of.crf(participant, "D1", "murray", cxr_quadrants=2, pao2_mmhg=80, fio2="0.5")
    of.crf(participant, "D1", "clinical_status", status_score=5)
    # D1 lists the vital signs too since issue 19.
    of.crf(participant, "D1", "vital_signs", **of.VITAL_SIGNS)
    body = client.get(f"/outcomes/participants/{participant.study_id}/visits/").content.decode()
    assert 'data-status="done"' in body  # D1
    assert 'data-status="due"' in body  # D3 today
    assert 'data-status="overdue"' in body  # D0, D2
    assert 'data-status="upcoming"' in body  # D5 onwards
    assert "✓ Murray lung injury score" in body


def test_a_coordinator_of_another_site_cannot_open_the_crf(client, make_user, login, participant):
    login(make_user(Role.COORDINATOR, sites=[SiteFactory(code="02")], username="c2"))
    # 404, as for a record that does not exist (issue 20)
    assert client.get(url(participant, "D3", "murray")).status_code == 404
    assert client.get(f"/outcomes/participants/{participant.study_id}/visits/").status_code == 404


def test_a_monitor_reads_but_cannot_post(client, make_user, login, participant):
    login(make_user(Role.MONITOR))
    assert (
        client.get(f"/outcomes/participants/{participant.study_id}/visits/D3/").status_code == 200
    )
    response = client.post(url(participant, "D3", "clinical_status"), {"status_score": "4"})
    assert response.status_code == 403


def test_the_live_computation_returns_pf_and_murray(client, coordinator):
    response = client.get(
        "/outcomes/compute/",
        {"pao2_mmhg": "60", "fio2": "60", "fio2_unit": "percent", "cxr_quadrants": "4"},
    )
    body = response.content.decode()
    # 60 / 0.60 = 100.0 -> 3 points; CXR 4 -> 4; (3 + 4) / 2 = 3.50
    assert "100.0" in body
    assert "3.50" in body


def test_the_live_murray_counts_peep_for_a_ventilated_participant_only(
    client, coordinator, participant
):
    """The preview is the score the save stores (checks.murray_of): PaO2 60 / FiO2 0.60 = 100 ->
    3 points (Murray 1988: 100-174 -> 3), CXR 4 quadrants -> 4, PEEP 0 -> 0 (<= 5 -> 0).
    Ventilated: (3 + 4 + 0) / 3 = 2.33; on a face mask the PEEP is not a component:
    (3 + 4) / 2 = 3.50, and the save's refusal of the PEEP is said beside it."""
    typed = {
        "pao2_mmhg": "60",
        "fio2": "60",
        "fio2_unit": "percent",
        "cxr_quadrants": "4",
        "peep_cmh2o": "0",
    }
    ventilated = client.get(
        "/outcomes/compute/", {**typed, "respiratory_support": "invasive_ventilation"}
    ).content.decode()
    assert "<strong>2.33</strong>" in ventilated
    assert 'data-component="peep">0<' in ventilated
    assert "sum 7/16, 3 components" in ventilated
    masked = client.get(
        "/outcomes/compute/", {**typed, "respiratory_support": "face_mask"}
    ).content.decode()
    assert "<strong>3.50</strong>" in masked
    assert 'data-component="peep"' not in masked
    assert "sum 7/16, 2 components" in masked
    assert "invasive mechanical ventilation only" in masked
    # No support recorded yet: not counted either, and the message asks for the support.
    unknown = client.get("/outcomes/compute/", typed).content.decode()
    assert "<strong>3.50</strong>" in unknown
    assert "record the respiratory support first" in unknown
    # The save stores what the preview showed (a PEEP on a face mask is refused there).
    response = client.post(
        url(participant, "D3", "murray"),
        {
            "assessed_on": today(participant).isoformat(),
            "respiratory_support": "invasive_ventilation",
            **typed,
            "action": "complete",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    m = Murray.objects.get(visit__participant=participant)
    assert (m.total, m.n_components, m.score, m.peep_points) == (7, 3, Decimal("2.33"), 0)


def test_a_missed_visit_needs_a_reason(client, coordinator, participant):
    path = f"/outcomes/participants/{participant.study_id}/visits/D4/missed/"
    client.post(path, {"reason": ""})
    assert Visit.objects.get(participant=participant, code="D4").state == VisitState.SCHEDULED
    client.post(path, {"reason": "Transferred for imaging"})
    visit = Visit.objects.get(participant=participant, code="D4")
    assert (visit.state, visit.missed_reason) == (VisitState.MISSED, "Transferred for imaging")


def test_icu_stays_and_death_give_the_endpoints(client, coordinator, participant):
    p = participant
    day0 = selectors.day0_of(p)
    response = client.post(
        f"/outcomes/participants/{p.study_id}/icu-stays/new/",
        {"admitted_on": (day0 - timedelta(days=1)).isoformat(), "discharged_on": ""},
    )
    assert response.status_code == 302
    endpoints = selectors.participant_endpoints(p, today=today(p))
    # Ongoing stay from day -1: clipped to [0, 60) = 60 ICU days -> 0 ICU-free days.
    assert endpoints["icu_free_days"]["value"] == 0
    client.post(
        f"/outcomes/participants/{p.study_id}/events/new/",
        {"kind": "death", "occurred_on": today(p).isoformat(), "details": ""},
    )
    endpoints = selectors.participant_endpoints(p, today=today(p))
    assert endpoints["death_day"] == 3  # Day 0 was three days ago
    assert endpoints["icu_free_days"] == {"value": 0, "icu_days": 60, "final": True, "stays": 1}


def test_icu_and_event_dates_are_refused_on_their_fields_keeping_what_was_typed(
    client, coordinator, participant
):
    p = participant
    tomorrow = (today(p) + timedelta(days=1)).isoformat()
    body = client.post(
        f"/outcomes/participants/{p.study_id}/icu-stays/new/",
        {"admitted_on": tomorrow, "discharged_on": ""},
    ).content.decode()
    assert "Admitted to ICU cannot be in the future" in body
    assert f'value="{tomorrow}"' in body
    body = client.post(
        f"/outcomes/participants/{p.study_id}/icu-stays/new/",
        {
            "admitted_on": today(p).isoformat(),
            "discharged_on": (today(p) - timedelta(1)).isoformat(),
        },
    ).content.decode()
    assert "Discharge cannot be before admission." in body
    before_screening = (p.screening.screened_on - timedelta(days=1)).isoformat()
    body = client.post(
        f"/outcomes/participants/{p.study_id}/events/new/",
        {"kind": "hospital_discharge", "occurred_on": before_screening, "details": "home"},
    ).content.decode()
    assert "Date cannot be before screening" in body
    assert "home" in body
    assert not p.icu_stays.exists()
    assert not StudyEvent.objects.filter(participant=p).exists()


def test_the_services_refuse_impossible_event_dates_whoever_calls_them(coordinator, participant):
    """The date rules are the services' (issue 23): an import or the API is held to them too."""
    p = participant
    with pytest.raises(HardLimitExceeded) as caught:
        services.icu_stay_save(
            participant=p,
            admitted_on=today(p) + timedelta(days=2),
            discharged_on=None,
            user=coordinator,
        )
    assert set(caught.value.errors) == {"admitted_on"}
    with pytest.raises(HardLimitExceeded) as caught:
        services.study_event_save(
            participant=p,
            kind="death",
            occurred_on=p.screening.screened_on - timedelta(days=1),
            details="",
            user=coordinator,
        )
    assert "before screening" in caught.value.errors["occurred_on"]
    assert not p.icu_stays.exists()


def test_a_second_death_is_refused(client, coordinator, participant):
    path = f"/outcomes/participants/{participant.study_id}/events/new/"
    data = {"kind": "death", "occurred_on": today(participant).isoformat(), "details": ""}
    client.post(path, data)
    response = client.post(path, data)
    assert "already recorded" in response.content.decode()


def test_other_participants_crfs_do_not_feed_the_delta_check(participant):
    other = ParticipantFactory(site=participant.site)
    of.schedule(other)
    of.crf(other, "D0", "blood_gas", pao2_mmhg=60, fio2="0.6")
    assert selectors.previous_values(of.visit(participant, "D3")) == {}


def test_the_live_computation_answers_an_empty_form(client, coordinator):
    response = client.get("/outcomes/compute/")
    assert response.status_code == 200
    assert "P/F ratio" in response.content.decode()


def test_the_endpoint_summary_tag_renders_for_the_participant_page(rf, coordinator, participant):
    from django.template import Context, Template

    of.crf(participant, "D0", "clinical_status", status_score=5)
    request = rf.get("/")
    request.user = coordinator
    html = Template("{% load outcomes_tags %}{% outcomes_summary participant %}").render(
        Context({"request": request, "participant": participant})
    )
    assert "Time to clinical improvement" in html
    assert "Censored at day 28" in html


def test_the_endpoint_summary_tag_is_empty_for_roles_without_crf_pages(rf, make_user, participant):
    from django.template import Context, Template

    request = rf.get("/")
    request.user = make_user(Role.SPONSOR)
    html = Template("{% load outcomes_tags %}{% outcomes_summary participant %}").render(
        Context({"request": request, "participant": participant})
    )
    assert html.strip() == ""


def test_the_service_refuses_an_impossible_value_even_without_the_form(participant):
    from django.core.exceptions import ValidationError

    from outcomes.exceptions import HardLimitExceeded

    # The service's own edit check (outcomes.checks), named on the field...
    with pytest.raises(HardLimitExceeded) as refused:
        of.crf(participant, "D3", "blood_gas", pao2_mmhg=80, fio2=Decimal("0.15"))
    assert (
        "FiO2 must be between 0.21 and 1.00 fraction; 0.15 is outside"
        in (refused.value.errors["fio2"])
    )
    assert not BloodGas.objects.exists()
    # ...and the check constraint behind it, should a value reach the model another way.
    abg = BloodGas(visit=of.visit(participant, "D3"), pao2_mmhg=80, fio2=Decimal("0.15"))
    with pytest.raises(ValidationError, match="abg_fio2"):
        abg.full_clean(exclude=["entered_by"])


def test_the_live_computation_hints_at_a_percentage_typed_as_a_fraction(client, coordinator):
    body = client.get("/outcomes/compute/", {"pao2_mmhg": "80", "fio2": "40"}).content.decode()
    assert "typed as a percentage" in body


def test_an_infusion_in_the_future_is_refused_and_a_volume_off_protocol_warns(
    client, coordinator, participant
):
    from django.utils import timezone

    p = participant
    soon = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"assessed_on": selectors.day0_of(p).isoformat(), "action": "draft"}
    body = client.post(url(p, "D0", "infusion"), {**data, "started_at": soon}).content.decode()
    assert "cannot be in the future" in body
    body = client.post(url(p, "D0", "infusion"), {**data, "volume_ml": "3"}).content.decode()
    assert "differs from the protocol" in body


def test_a_crp_saved_with_one_decimal_is_shown_so_and_accepted_again(
    client, coordinator, participant
):
    """Issue 20, finding 10: "42.6" mg/L is stored as entered_value 42.60 (two places, for
    mg/dL); the form showed "42.60" and then refused it, once converted to mg/L, for having more
    than one decimal. It shows the value with the decimals its unit allows."""
    from .fuzz_http import form_fields

    p = participant
    path = url(p, "D0", "crp")
    day0 = selectors.day0_of(p).isoformat()
    client.post(
        path,
        {
            "assessed_on": day0,
            "assessed_time": "00:05",  # Day 0: timed (issue 18)
            "crp_value": "42.6",
            "crp_unit": "mg/L",
            "action": "complete",
        },
    )
    assert Crp.objects.get().entered_value == Decimal("42.60")
    fields = form_fields(client.get(path).content.decode(), path)
    assert fields["crp_value"].initial == ["42.6"]
    shown = {name: field.initial[0] for name, field in fields.items() if field.initial}
    response = client.post(
        path,
        {**shown, "crp_unit": "mg/L", "reason_for_change": "Checked", "action": "complete"},
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Crp.objects.get().crp_mg_l == Decimal("42.6")


def test_a_stored_crp_is_shown_without_the_zeros_of_its_storage():
    from outcomes.forms import crp_shown

    assert str(crp_shown(Decimal("42.60"))) == "42.6"
    assert str(crp_shown(Decimal("12.50"))) == "12.5"  # 12.5 mg/dL: 125 mg/L, accepted
    assert str(crp_shown(Decimal("40.00"))) == "40"
    assert str(crp_shown(Decimal("120"))) == "120"
    assert str(crp_shown(Decimal("4.26"))) == "4.26"  # never rounded
    assert crp_shown(None) is None
