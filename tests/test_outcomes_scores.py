"""The pure clinical rules of outcomes/scores.py against their sources.

Murray bands: Murray JF et al., Am Rev Respir Dis 1988;138:720-3, Table 2 (quoted in SPEC.md §4):
P/F >=300 -> 0, 225-299 -> 1, 175-224 -> 2, 100-174 -> 3, <100 -> 4;
PEEP <=5 -> 0, 6-8 -> 1, 9-11 -> 2, 12-14 -> 3, >=15 -> 4;
compliance >=80 -> 0, 60-79 -> 1, 40-59 -> 2, 20-39 -> 3, <=19 -> 4; CXR quadrants 0-4.
Fractions between printed ranges fall in the worse band (docs/outcomes.md).
TTIC and ICU-free days: SPEC.md §4 and issue 6; ICU-free days: registry secondary outcome 3.
TTIC's 6-point scale and event: Wang Y et al., Lancet 2020;395:1569-78 (remdesivir),
doi:10.1016/S0140-6736(20)31022-9 ("a two-point reduction ... or live discharge").
Censoring at the last contact (issue 18 point 2, SPEC §10): TTIC is censored at the last contact
when follow-up ends early alive; ICU-free days are unknown (None) then; death stays 0 / the
horizon (Schoenfeld & Bernard, Crit Care Med 2002;30:1772-7: free days are 0 for a death).
"""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes import scores
from outcomes.scores import icu_free_days, murray_score, pf_ratio, time_to_clinical_improvement

# --- P/F -----------------------------------------------------------------------------------


# The limits and the exact ratio at every band edge: tests/test_physiology.py.


@pytest.mark.parametrize(
    ("pao2", "fio2", "expected"),
    [
        (80, 0.40, 200.0),  # 80 / 0.40 = 200 mmHg (SPEC §4: PaO2 / FiO2 as a fraction)
        (60, 1.00, 60.0),  # 60 / 1.00 = 60
        (95, 0.21, 95 / 0.21),  # room air: 452.38...
        (Decimal("75"), Decimal("0.5"), 150.0),  # Decimal from the database: 75 / 0.5 = 150
    ],
)
def test_pf_ratio_divides_pao2_by_fio2_as_a_fraction(pao2, fio2, expected):
    assert pf_ratio(pao2_mmhg=pao2, fio2=fio2) == pytest.approx(expected)


@pytest.mark.parametrize("fio2", [0.20, 1.01, 40, 60.0, 100])
def test_pf_ratio_refuses_fio2_outside_the_fraction_limits_rather_than_guessing(fio2):
    # 40 or 60 is a percentage; SPEC §4: "entry as a percentage is converted explicitly, never
    # guessed", so the rule refuses it and the form converts.
    with pytest.raises(ValueError, match="FiO2"):
        pf_ratio(pao2_mmhg=80, fio2=fio2)


@pytest.mark.parametrize("pao2", [19.9, 700.1, -5, float("nan")])
def test_pf_ratio_refuses_impossible_pao2(pao2):
    with pytest.raises(ValueError, match="PaO2"):
        pf_ratio(pao2_mmhg=pao2, fio2=0.5)


def test_fio2_entered_as_a_percentage_is_converted_by_the_edit_checks_before_the_rule():
    from outcomes.checks import fio2_fraction

    # 60 % -> 0.60; 80 / 0.60 = 133.33 (SPEC §4)
    assert fio2_fraction(Decimal("60"), "percent") == Decimal("0.60")
    assert fio2_fraction(Decimal("0.6"), "fraction") == Decimal("0.6")
    assert pf_ratio(pao2_mmhg=80, fio2=fio2_fraction(Decimal("60"), "percent")) == pytest.approx(
        133.333, rel=1e-4
    )


# --- Murray components: every edge of every band ------------------------------------------


@pytest.mark.parametrize(
    ("value", "points"),
    [
        (300, 0),  # ">=300 -> 0": the edge itself
        (450, 0),
        (299, 1),  # "225-299 -> 1", upper edge
        (299.5, 1),  # between 299 and 300: not yet 300, worse band 1
        (225, 1),  # lower edge of 1
        (224.5, 2),  # between 224 and 225: has not reached 225, worse band 2
        (224, 2),  # "175-224 -> 2", upper edge
        (175, 2),
        (174.9, 3),
        (174, 3),  # "100-174 -> 3"
        (100, 3),
        (99.9, 4),  # "<100 -> 4"
        (40, 4),
    ],
)
def test_pf_ratio_points_follow_murray_1988(value, points):
    assert scores.pf_ratio_points(value) == points
    assert murray_score(pf_ratio=value).components == {"pf_ratio": points}


@pytest.mark.parametrize(
    ("value", "points"),
    [
        (0, 0),  # "<=5 -> 0"
        (5, 0),  # edge
        (5.5, 1),  # above 5: worse band 1
        (6, 1),  # "6-8 -> 1"
        (8, 1),
        (8.5, 2),
        (9, 2),  # "9-11 -> 2"
        (11, 2),
        (11.5, 3),
        (12, 3),  # "12-14 -> 3"
        (14, 3),
        (14.5, 4),
        (15, 4),  # ">=15 -> 4"
        (30, 4),
    ],
)
def test_peep_points_follow_murray_1988(value, points):
    assert scores.peep_points(value) == points
    assert murray_score(peep_cmh2o=value).components == {"peep": points}


@pytest.mark.parametrize(
    ("value", "points"),
    [
        (150, 0),
        (80, 0),  # ">=80 -> 0"
        (79.5, 1),  # has not reached 80: worse band 1
        (79, 1),  # "60-79 -> 1"
        (60, 1),
        (59.5, 2),
        (59, 2),  # "40-59 -> 2"
        (40, 2),
        (39.5, 3),
        (39, 3),  # "20-39 -> 3"
        (20, 3),
        (19.5, 4),  # has not reached 20: worse band 4
        (19, 4),  # "<=19 -> 4"
        (5, 4),
    ],
)
def test_compliance_points_follow_murray_1988(value, points):
    assert scores.compliance_points(value) == points
    assert murray_score(compliance_ml_cmh2o=value).components == {"compliance": points}


@pytest.mark.parametrize("quadrants", [0, 1, 2, 3, 4])
def test_cxr_points_are_the_number_of_quadrants(quadrants):
    # Murray 1988: "alveolar consolidation confined to 1 quadrant ... 1 point ... 4 quadrants 4"
    assert murray_score(cxr_quadrants=quadrants).components == {"cxr": quadrants}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"cxr_quadrants": 5},
        {"cxr_quadrants": -1},
        {"cxr_quadrants": 2.5},
        {"pf_ratio": 0},
        {"pf_ratio": -10},
        {"peep_cmh2o": -1},
        {"compliance_ml_cmh2o": 0},
        {"pf_ratio": float("nan")},
        {"peep_cmh2o": "high"},
    ],
)
def test_murray_score_refuses_no_component_or_an_impossible_value(kwargs):
    with pytest.raises(ValueError, match="component|must|cannot"):
        murray_score(**kwargs)


def test_murray_score_with_all_four_components():
    # P/F 150 -> 3; PEEP 10 -> 2; compliance 35 -> 3; 3 quadrants -> 3 (Murray 1988 Table 2).
    # Sum 3+2+3+3 = 11 (registry 0-16); score 11 / 4 = 2.75 (> 2.5: "severe lung injury").
    result = murray_score(pf_ratio=150, peep_cmh2o=10, compliance_ml_cmh2o=35, cxr_quadrants=3)
    assert result.components == {"pf_ratio": 3, "peep": 2, "compliance": 3, "cxr": 3}
    assert (result.total, result.n_components, result.score) == (11, 4, 2.75)


def test_murray_score_divides_by_the_components_used():
    # Not ventilated, no compliance: P/F 260 -> 1, CXR 2 quadrants -> 2: (1 + 2) / 2 = 1.5.
    result = murray_score(pf_ratio=260, cxr_quadrants=2)
    assert (result.total, result.n_components, result.score) == (3, 2, 1.5)


def test_murray_score_counts_peep_and_compliance_when_ventilated_only():
    # Murray 1988 Table 2 scores PEEP "(when ventilated)": P/F 150 -> 3, PEEP 0 -> 0,
    # compliance 35 -> 3, CXR 3 -> 3. Ventilated: (3 + 0 + 3 + 3) / 4 = 2.25; not ventilated,
    # PEEP and compliance are not components: (3 + 3) / 2 = 3.0.
    typed = {"pf_ratio": 150, "peep_cmh2o": 0, "compliance_ml_cmh2o": 35, "cxr_quadrants": 3}
    assert murray_score(**typed).score == 2.25
    result = murray_score(**typed, ventilated=False)
    assert result.components == {"pf_ratio": 3, "cxr": 3}
    assert (result.total, result.n_components, result.score) == (6, 2, 3.0)
    with pytest.raises(ValueError, match="component"):
        murray_score(peep_cmh2o=0, ventilated=False)


@given(
    pf=st.one_of(st.none(), st.floats(min_value=0.01, max_value=4000)),
    peep=st.one_of(st.none(), st.floats(min_value=0, max_value=60)),
    compliance=st.one_of(st.none(), st.floats(min_value=0.01, max_value=400)),
    cxr=st.one_of(st.none(), st.integers(min_value=0, max_value=4)),
)
def test_murray_score_is_always_0_to_4_and_total_0_to_16(pf, peep, compliance, cxr):
    if pf is None and peep is None and compliance is None and cxr is None:
        return
    result = murray_score(
        pf_ratio=pf, peep_cmh2o=peep, compliance_ml_cmh2o=compliance, cxr_quadrants=cxr
    )
    assert 0 <= result.score <= 4
    assert 0 <= result.total <= 16
    assert 1 <= result.n_components <= 4
    assert all(0 <= p <= 4 for p in result.components.values())


@given(a=st.floats(min_value=0.01, max_value=4000), b=st.floats(min_value=0.01, max_value=4000))
def test_a_worse_pf_ratio_never_scores_fewer_points(a, b):
    low, high = sorted((a, b))
    assert scores.pf_ratio_points(low) >= scores.pf_ratio_points(high)


# --- Time to clinical improvement (SPEC §4) ----------------------------------------------


def test_ttic_is_the_first_day_two_points_below_baseline():
    # Baseline 5 (invasive ventilation); target <= 5 - 2 = 3. Day 3: 4, day 7: 3 -> (7, True).
    assert time_to_clinical_improvement(baseline_status=5, statuses={1: 5, 3: 4, 7: 3, 14: 2}) == (
        7,
        True,
    )


def test_a_one_point_improvement_is_not_clinical_improvement():
    # Baseline 4; 3 is only one point better; never <= 2 by day 28 -> censored (28, False).
    assert time_to_clinical_improvement(baseline_status=4, statuses={1: 4, 7: 3, 28: 3}) == (
        28,
        False,
    )


def test_discharge_alive_before_the_status_improves_is_the_event():
    # Baseline 5; statuses never reach 3; discharged alive on day 12 -> (12, True).
    assert time_to_clinical_improvement(
        baseline_status=5, statuses={3: 5, 7: 4}, discharged_alive_day=12
    ) == (12, True)


def test_the_earlier_of_improvement_and_discharge_counts():
    # Improvement (status 2 <= 4 - 2) on day 10, discharge on day 14 -> (10, True).
    assert time_to_clinical_improvement(
        baseline_status=4, statuses={10: 2}, discharged_alive_day=14
    ) == (10, True)


def test_death_before_improvement_is_censored_at_the_horizon():
    # SPEC §4: "Death before improvement ... is censored at the horizon" -> (28, False),
    # even though a (wrong) later status was recorded after death on day 9.
    assert time_to_clinical_improvement(
        baseline_status=5, statuses={3: 5, 7: 5, 10: 2}, death_day=9
    ) == (28, False)


def test_improvement_before_death_still_counts():
    # Improvement on day 7 (3 <= 5 - 2), death on day 20 -> (7, True).
    assert time_to_clinical_improvement(baseline_status=5, statuses={7: 3}, death_day=20) == (
        7,
        True,
    )


def test_no_improvement_by_the_horizon_is_censored_there():
    # Improvement on day 35 is after the default horizon of 28 -> (28, False); with a horizon
    # of 60 (configuration) it counts -> (35, True).
    assert time_to_clinical_improvement(baseline_status=5, statuses={35: 2}) == (28, False)
    assert time_to_clinical_improvement(baseline_status=5, statuses={35: 2}, horizon=60) == (
        35,
        True,
    )


def test_discharge_after_the_horizon_is_censored():
    assert time_to_clinical_improvement(
        baseline_status=4, statuses={}, discharged_alive_day=30
    ) == (28, False)


def test_a_baseline_of_2_cannot_improve_by_status_only_by_discharge():
    # 2 - 2 = 0: no status is that low, so only discharge alive (day 4) is an event.
    assert time_to_clinical_improvement(baseline_status=2, statuses={1: 1}) == (28, False)
    assert time_to_clinical_improvement(
        baseline_status=2, statuses={1: 2}, discharged_alive_day=4
    ) == (4, True)


@pytest.mark.parametrize("bad", [0, 7, True])
def test_ttic_refuses_a_status_off_the_scale(bad):
    with pytest.raises(ValueError, match="6-point ordinal status"):
        time_to_clinical_improvement(baseline_status=bad, statuses={})
    with pytest.raises(ValueError, match="6-point ordinal status"):
        time_to_clinical_improvement(baseline_status=5, statuses={3: bad})


# --- Censoring at the last contact (issue 18 point 2, SPEC §10) ----------------------------


def test_ttic_withdrawn_alive_on_day_5_is_censored_at_day_5():
    # Baseline 5, statuses 5, 5, 4 to day 5 (never <= 3), withdrew consent on day 5 -> the days
    # after day 5 are unknown: (5, False), not (28, False) as if followed to day 28.
    assert time_to_clinical_improvement(
        baseline_status=5, statuses={1: 5, 3: 5, 5: 4}, last_contact_day=5
    ) == (5, False)


def test_ttic_without_a_last_contact_keeps_the_horizon():
    # None: followed to the horizon (today's rule) -> (28, False).
    assert time_to_clinical_improvement(
        baseline_status=5, statuses={1: 5}, last_contact_day=None
    ) == (28, False)


def test_ttic_improvement_before_the_last_contact_is_an_event():
    # Improved on day 4 (3 <= 5 - 2), lost to follow-up on day 9 -> (4, True).
    assert time_to_clinical_improvement(baseline_status=5, statuses={4: 3}, last_contact_day=9) == (
        4,
        True,
    )


def test_ttic_last_contact_on_or_after_the_horizon_is_followed_to_the_horizon():
    # Last contact on day 28 or day 40: observed to the horizon -> (28, False).
    for last in (28, 40):
        assert time_to_clinical_improvement(
            baseline_status=4, statuses={7: 3}, last_contact_day=last
        ) == (28, False)


def test_ttic_death_before_improvement_stays_censored_at_the_horizon():
    # Died on day 6, last contact the day of death: death is not a loss of follow-up ->
    # (28, False) (issue 18: "death before improvement stays censored at the horizon").
    assert time_to_clinical_improvement(
        baseline_status=5, statuses={3: 5}, death_day=6, last_contact_day=6
    ) == (28, False)


def test_ttic_refuses_a_last_contact_before_day_0():
    with pytest.raises(ValueError, match="before Day 0"):
        time_to_clinical_improvement(baseline_status=5, statuses={}, last_contact_day=-1)


def test_icu_free_days_alive_at_a_last_contact_before_day_60_is_unknown():
    # Withdrawn on day 5 after 5 ICU days: not 55 (as if followed alive to day 60) but None.
    assert icu_free_days(stays=[(0, 5)], last_contact_day=5) is None


def test_icu_free_days_death_on_or_before_the_horizon_is_zero_whatever_the_last_contact():
    assert icu_free_days(stays=[(0, 5)], death_day=12, last_contact_day=12) == 0
    assert icu_free_days(stays=[], death_day=60, last_contact_day=3) == 0


def test_icu_free_days_followed_to_day_60_counts_the_days_out_of_icu():
    # [0, 9) = 9 days; last contact day 60 (or None) -> 60 - 9 = 51.
    assert icu_free_days(stays=[(0, 9)], last_contact_day=60) == 51
    assert icu_free_days(stays=[(0, 9)], last_contact_day=None) == 51


# --- ICU-free days (SPEC §4, issue 6) ------------------------------------------------------


def test_no_icu_stay_gives_all_60_days():
    assert icu_free_days(stays=[]) == 60


def test_a_closed_stay_counts_its_half_open_days():
    # [0, 10) covers days 0..9 = 10 days; 60 - 10 = 50.
    assert icu_free_days(stays=[(0, 10)]) == 50


def test_overlapping_stays_count_once():
    # [0, 10) U [5, 15) = [0, 15) = 15 days; plus [20, 25) = 5 days; 60 - 20 = 40.
    assert icu_free_days(stays=[(0, 10), (5, 15), (20, 25)]) == 40


def test_an_ongoing_stay_runs_to_the_horizon():
    # [40, 60) = 20 days; 60 - 20 = 40; alive at day 60, still in ICU.
    assert icu_free_days(stays=[(40, None)]) == 40


def test_stays_are_clipped_to_day_0_and_the_horizon():
    # Admitted 3 days before Day 0: [-3, 5) clipped to [0, 5) = 5 days; [55, 70) clipped to
    # [55, 60) = 5 days; 60 - 10 = 50.
    assert icu_free_days(stays=[(-3, 5), (55, 70)]) == 50


def test_death_on_or_before_the_horizon_gives_zero():
    # SPEC §4: "0 for one who died before D60"; issue 6: "on or before it".
    assert icu_free_days(stays=[(0, 5)], death_day=30) == 0
    assert icu_free_days(stays=[], death_day=60) == 0


def test_death_after_the_horizon_is_alive_at_the_horizon():
    # [0, 5) = 5 days; died day 75 > 60 -> alive at 60: 60 - 5 = 55.
    assert icu_free_days(stays=[(0, 5)], death_day=75) == 55


def test_a_stay_that_ends_before_it_begins_is_refused():
    with pytest.raises(ValueError, match="cannot end"):
        icu_free_days(stays=[(10, 5)])


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-10, max_value=80),
            st.one_of(st.none(), st.integers(min_value=0, max_value=30)),
        ).map(lambda s: (s[0], None if s[1] is None else s[0] + s[1]))
    )
)
def test_icu_free_days_is_always_between_0_and_the_horizon(stays):
    assert 0 <= icu_free_days(stays=stays) <= 60
