"""The CRF edit checks as plain functions (outcomes.checks) with plain values, and the service
that runs them on every save (outcomes.services.crf_save), called without a form.

Limits and soft limits: SPEC §4 and kernel.trial (hard_limits, soft_limit_deltas,
pf_ratio_soft_maximum, age_min/max_years, dose_volume_ml, crp_unit_factors)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from outcomes import checks

TODAY = date(2026, 3, 10)
DAY0 = date(2026, 3, 1)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def errors(crf_code, complete=False, death_recorded=False, **values):
    values.setdefault("assessed_on", TODAY)
    return checks.hard_errors(
        crf_code,
        values,
        today=TODAY,
        day0=DAY0,
        now=NOW,
        complete=complete,
        death_recorded=death_recorded,
    )


# --- unit conversions -------------------------------------------------------------------------


def test_fio2_in_percent_is_divided_by_100_and_a_fraction_kept():
    assert checks.fio2_fraction(Decimal("28"), checks.PERCENT) == Decimal("0.28")
    assert checks.fio2_fraction(Decimal("0.28"), checks.FRACTION) == Decimal("0.28")
    with pytest.raises(ValueError, match="unknown FiO2 unit"):
        checks.fio2_fraction(Decimal("28"), "guess")


def test_crp_in_mg_dl_with_two_decimals_is_stored_with_the_one_decimal_of_mg_l():
    """4.26 mg/dL is 42.6 mg/L exactly: stored (the column keeps one decimal), not refused for
    the trailing zero of 42.60 (issue 20, finding 10); 42.65 mg/L cannot be kept and is said."""
    converted = checks.crp_mg_l(Decimal("4.26"), checks.MG_DL)
    assert converted == Decimal("42.6")
    assert converted.as_tuple().exponent == -1
    assert checks.crp_error(Decimal("4.26"), checks.MG_DL) == ""
    assert "one decimal place" in checks.crp_error(Decimal("42.65"), checks.MG_L)


def test_crp_in_mg_dl_is_multiplied_by_10_and_mg_l_kept():
    assert checks.crp_mg_l(Decimal("12.5"), checks.MG_DL) == Decimal("125.0")
    assert checks.crp_mg_l(Decimal("12.5"), checks.MG_L) == Decimal("12.5")


def test_values_as_entered_become_the_stored_units():
    assert checks.to_stored_units(
        {"pao2_mmhg": Decimal("63"), "fio2": Decimal("28"), "fio2_unit": checks.PERCENT}
    ) == {"pao2_mmhg": Decimal("63"), "fio2": Decimal("0.28")}
    assert checks.to_stored_units({"entered_value": Decimal("6"), "entered_unit": "mg/dL"}) == {
        "entered_value": Decimal("6"),
        "entered_unit": "mg/dL",
        "crp_mg_l": Decimal("60"),
    }
    # A CRP given in the stored unit alone was entered in mg/L.
    assert checks.to_stored_units({"crp_mg_l": Decimal("40")}) == {
        "crp_mg_l": Decimal("40"),
        "entered_value": Decimal("40"),
        "entered_unit": "mg/L",
    }


# --- hard limits: every edge --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "inside", "outside", "message"),
    [
        ("pao2_mmhg", ("20", "700"), ("19.9", "700.1"), "PaO2 must be between 20 and 700 mmHg"),
        ("peep_cmh2o", ("0", "30"), ("-0.1", "30.1"), "PEEP must be between 0 and 30 cmH2O"),
        (
            "compliance_ml_cmh2o",
            ("5", "150"),
            ("4.9", "150.1"),
            "Static compliance must be between 5 and 150 ml/cmH2O",
        ),
        ("weight_kg", ("30", "250"), ("29.9", "250.1"), "Weight must be between 30 and 250 kg"),
    ],
)
def test_each_hard_limit_holds_its_edges_and_names_field_value_and_limit(
    field, inside, outside, message
):
    crf = "baseline" if field == "weight_kg" else "murray"
    # PEEP and compliance are read for a ventilated patient only (issue 18).
    ventilated = {"respiratory_support": "invasive_ventilation"} if crf == "murray" else {}
    for value in inside:
        assert errors(crf, **ventilated, **{field: Decimal(value)}) == {}
    for value in outside:
        found = errors(crf, **ventilated, **{field: Decimal(value)})
        assert message in found[field]
        assert value in found[field]  # the value as entered
        assert "cannot be saved" in found[field]


@pytest.mark.parametrize(
    ("fio2", "unit", "error"),
    [
        ("0.21", "fraction", None),
        ("1.00", "fraction", None),
        ("21", "percent", None),
        ("100", "percent", None),
        ("0.20", "fraction", "FiO2 must be between 0.21 and 1.00 fraction; 0.20 is outside"),
        ("1.5", "fraction", "FiO2 must be between 0.21 and 1.00 fraction; 1.5 is outside"),
        ("20", "percent", "FiO2 must be between 0.21 and 1.00 fraction; 20 % is outside"),
        ("101", "percent", "FiO2 must be between 0.21 and 1.00 fraction; 101 % is outside"),
        ("0.4005", "fraction", "FiO₂ has at most three decimals as a fraction."),
    ],
)
def test_fio2_is_checked_as_typed_after_its_conversion(fio2, unit, error):
    found = errors("blood_gas", fio2=Decimal(fio2), fio2_unit=unit)
    if error is None:
        assert found == {}
    else:
        assert error in found["fio2"]


@pytest.mark.parametrize(
    ("value", "unit", "error"),
    [
        ("0", "mg/L", None),
        ("500", "mg/L", None),
        ("50", "mg/dL", None),
        ("500.1", "mg/L", "CRP must be between 0 and 500 mg/L; 500.1 mg/L is outside"),
        ("60", "mg/dL", "CRP must be between 0 and 500 mg/L; 600 mg/L (60 mg/dL) is outside"),
        ("-1", "mg/L", "CRP must be between 0 and 500 mg/L; -1 mg/L is outside"),
    ],
)
def test_crp_is_checked_in_mg_l_and_named_as_typed(value, unit, error):
    found = errors("crp", entered_value=Decimal(value), entered_unit=unit)
    assert found == ({} if error is None else {"crp_mg_l": found["crp_mg_l"]})
    if error:
        assert error in found["crp_mg_l"]


@pytest.mark.parametrize(
    ("crf", "field", "ok", "bad", "message"),
    [
        ("baseline", "age_years", (1, 119), (0, 120), "Age must be between 1 and 119 years."),
        ("baseline", "height_cm", (100, 230), (99, 231), "Height must be between 100 and 230"),
        ("murray", "cxr_quadrants", (0, 4), (-1, 5), "Chest X-ray quadrants must be between 0"),
        (
            "infusion",
            "volume_ml",
            (Decimal("0.1"), Decimal("50")),
            (Decimal("0"), Decimal("50.1")),
            "Volume given must be between 0 and 50 ml.",
        ),
    ],
)
def test_the_other_impossible_values_are_refused_at_their_edges(crf, field, ok, bad, message):
    for value in ok:
        assert errors(crf, **{field: value}) == {}
    for value in bad:
        assert message in errors(crf, **{field: value})[field]


def test_the_date_of_assessment_lies_between_day_0_and_today():
    assert errors("clinical_status", assessed_on=DAY0) == {}
    assert errors("clinical_status", assessed_on=TODAY) == {}
    assert (
        "cannot be in the future (today is 2026-03-10)"
        in (errors("clinical_status", assessed_on=TODAY + timedelta(days=1))["assessed_on"])
    )
    assert (
        "cannot be before Day 0 (2026-03-01)"
        in (errors("clinical_status", assessed_on=DAY0 - timedelta(days=1))["assessed_on"])
    )


def test_an_infusion_cannot_be_in_the_future_end_before_it_started_or_react_undescribed():
    start = NOW - timedelta(hours=2)
    assert errors("infusion", started_at=start, ended_at=start + timedelta(minutes=15)) == {}
    assert errors("infusion", started_at=NOW + timedelta(minutes=1))["started_at"] == (
        "The infusion time cannot be in the future."
    )
    assert errors("infusion", started_at=start, ended_at=start - timedelta(minutes=1)) == {
        "ended_at": "The infusion cannot end before it started."
    }
    assert errors("infusion", reaction=True, reaction_details=" ") == {
        "reaction_details": "Describe the infusion reaction."
    }
    assert errors("infusion", reaction=True, reaction_details="Rash") == {}


def test_the_day_60_form_needs_the_death_recorded_and_every_icu_stay_to_complete():
    assert (
        "Record the death under 'Events' first"
        in (errors("day60_follow_up", vital_status="dead")["vital_status"])
    )
    assert errors("day60_follow_up", vital_status="dead", death_recorded=True) == {}
    assert errors("day60_follow_up", icu_stays_confirmed=False) == {}  # a draft
    assert errors("day60_follow_up", icu_stays_confirmed=False, complete=True) == {
        "icu_stays_confirmed": "Record the missing ICU stays before completing."
    }


# --- soft limits ------------------------------------------------------------------------------


def warnings(crf_code, previous=None, **values):
    values.setdefault("assessed_on", date(2026, 3, 4))
    return checks.soft_warnings(
        crf_code,
        values,
        visit_code="D3",
        window_start=date(2026, 3, 4),
        window_end=date(2026, 3, 4),
        previous=previous or {},
    )


def test_a_date_outside_the_window_warns_and_one_inside_does_not():
    assert warnings("clinical_status") == []
    assert warnings("clinical_status", assessed_on=date(2026, 3, 3)) == [
        "The date 2026-03-03 is outside the D3 window (2026-03-04 to 2026-03-04): "
        "an out-of-window visit is a protocol deviation."
    ]


@pytest.mark.parametrize(
    ("crf", "key", "field", "before", "same", "moved", "message"),
    [
        (
            "blood_gas",
            "pf_ratio",
            "pf_ratio",
            "100.0",
            "250.0",
            "250.1",
            "P/F ratio moved from 100.0 at D0 to 250.1",
        ),
        ("crp", "crp_mg_l", "crp_mg_l", "10", "160", "160.5", "CRP (mg/L) moved from 10 at D0"),
        # Issue 18: the analysed Murray score is the mean (0-4); its delta is 1.5 points.
        (
            "murray",
            "murray_score",
            "score",
            "1.00",
            "2.50",
            "2.51",
            "Murray score (mean, 0–4) moved from 1.00 at D0 to 2.51, more than 1.5",
        ),
        (
            "clinical_status",
            "clinical_status",
            "status_score",
            "5",
            3,
            2,
            "Clinical status moved from 5 at D0 to 2, more than 2 since the previous visit.",
        ),
    ],
)
def test_a_move_beyond_the_delta_since_the_previous_visit_warns(
    crf, key, field, before, same, moved, message
):
    previous = {key: ("D0", Decimal(before))}
    at_limit = Decimal(same) if isinstance(same, str) else same
    beyond = Decimal(moved) if isinstance(moved, str) else moved
    assert warnings(crf, previous, **{field: at_limit}) == []
    assert any(message in w for w in warnings(crf, previous, **{field: beyond}))
    assert warnings(crf, {}, **{field: beyond}) == []  # nothing earlier to compare with


def test_a_pf_ratio_above_500_warns_on_both_crfs_that_hold_it():
    assert warnings("blood_gas", pf_ratio=Decimal("500.0")) == []
    for crf in ("blood_gas", "murray"):
        assert warnings(crf, pf_ratio=Decimal("571.4")) == [
            "P/F ratio 571.4 is above 500 mmHg, unusual in ARDS: check PaO₂ and that FiO₂ is "
            "entered in the right unit."
        ]


def test_an_age_outside_the_eligible_range_and_a_volume_off_protocol_warn():
    assert warnings("baseline", age_years=18) == warnings("baseline", age_years=65) == []
    assert warnings("baseline", age_years=66) == ["Age 66 is outside the eligible 18–65 years."]
    assert warnings("infusion", volume_ml=Decimal("2")) == []
    assert warnings("infusion", volume_ml=Decimal("3")) == [
        "Volume 3 ml differs from the protocol's 2 ml."
    ]


# --- the service runs them, whoever calls it ----------------------------------------------------


@pytest.fixture
def participant(db, site01, roles):
    from . import outcomes_factories as of
    from .factories import ParticipantFactory

    p = ParticipantFactory(site=site01)
    of.schedule(p)  # Day 0 three days ago: D3 is due today, with a window of 0 days
    return p


def save(participant, code, crf_code, **kwargs):
    from outcomes import services

    from . import outcomes_factories as of

    visit = of.visit(participant, code)
    values = kwargs.pop("values")
    if visit.day == 0 and crf_code in checks.PRE_DOSE_CRFS:
        values = {"assessed_time": of.BEFORE_THE_DOSE, **values}  # issue 18: timed at Day 0
    return services.crf_save(
        visit=visit,
        crf_code=crf_code,
        values={"assessed_on": visit.target_date, **values},
        complete=True,
        user=of._entry_user(participant),
        opened_version=None,
        **kwargs,
    )


def test_the_service_refuses_an_unconfirmed_warning_without_a_form(participant):
    from outcomes.exceptions import UnconfirmedWarnings
    from outcomes.models import ClinicalStatus

    save(participant, "D0", "clinical_status", values={"status_score": 5})
    with pytest.raises(UnconfirmedWarnings) as refused:
        save(participant, "D3", "clinical_status", values={"status_score": 2})
    assert refused.value.warnings == [
        "Clinical status moved from 5 at D0 to 2, more than 2 since the previous visit."
    ]
    # Confirmed without a reason: refused too.
    with pytest.raises(UnconfirmedWarnings):
        save(
            participant,
            "D3",
            "clinical_status",
            values={"status_score": 2},
            confirm_warnings=True,
            warning_reason=" ",
        )
    assert not ClinicalStatus.objects.filter(visit__code="D3").exists()


def test_the_service_refuses_a_hard_limit_without_a_form(participant):
    from outcomes.exceptions import HardLimitExceeded
    from outcomes.models import Crp

    with pytest.raises(HardLimitExceeded) as refused:
        save(
            participant,
            "D0",
            "crp",
            values={"entered_value": Decimal("60"), "entered_unit": "mg/dL"},
        )
    assert refused.value.errors == {
        "crp_mg_l": "CRP must be between 0 and 500 mg/L; 600 mg/L (60 mg/dL) is outside this "
        "hard limit and cannot be saved."
    }
    assert not Crp.objects.exists()


def test_the_service_stores_and_queries_the_warnings_it_computed(participant):
    from datamanagement.models import Query, QueryOrigin

    from . import outcomes_factories as of

    late = of.visit(participant, "D3").target_date - timedelta(days=1)
    crf = save(
        participant,
        "D3",
        "clinical_status",
        values={"status_score": 4, "assessed_on": late},
        confirm_warnings=True,  # no list of warnings handed in: the service computes them
        warning_reason="Entered late from the chart",
    )
    assert "outside the D3 window" in crf.warnings_confirmed
    assert crf.warning_reason == "Entered late from the chart"
    query = Query.objects.get(origin=QueryOrigin.EDIT_CHECK, visit__code="D3")
    assert "outside the D3 window" in query.text
    assert "Entered late from the chart" in query.text


def test_a_confirmation_without_a_warning_stores_none(participant):
    crf = save(
        participant,
        "D3",
        "clinical_status",
        values={"status_score": 4},
        confirm_warnings=True,
        warning_reason="Nothing to confirm",
    )
    assert (crf.warnings_confirmed, crf.warning_reason) == ("", "")


@pytest.fixture
def client():
    from .page_client import PageClient

    return PageClient()


def test_pao2_63_with_fio2_28_percent_typed_in_the_form_is_stored_as_a_fraction(
    client, participant, make_user, login
):
    from kernel.roles import Role
    from outcomes import selectors
    from outcomes.models import BloodGas

    login(make_user(Role.COORDINATOR))
    response = client.post(
        f"/outcomes/participants/{participant.study_id}/visits/D3/blood_gas/",
        {
            "assessed_on": selectors.site_today(participant.site).isoformat(),
            "pao2_mmhg": "63",
            "fio2": "28",
            "fio2_unit": "percent",
            "action": "complete",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    abg = BloodGas.objects.get()
    # 28 % -> 0.28; 63 / 0.28 = 225.0 mmHg (SPEC §4)
    assert (abg.fio2, abg.pf_ratio) == (Decimal("0.280"), Decimal("225.0"))
