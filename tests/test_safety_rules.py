"""The safety rules with plain values (safety/rules.py).

Sources: ICH E2A (1994) II.B seriousness, II.C expectedness ("more severe" than the reference
safety information is unexpected), III.A.1-2 expedited reporting 7 days (fatal or
life-threatening) and 15 days (others); CTCAE v5.0 (2017): grade 5 = death related to the AE.
"""

from datetime import UTC, date, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.trial import TRIAL
from safety import rules

RELATIONSHIPS = ["unrelated", "unlikely", "possible", "probable", "definite"]

# The SUSAR truth table: every combination, written out.
SUSAR_TABLE = {
    (serious, relationship, expected): serious
    and relationship in {"possible", "probable", "definite"}
    and not expected
    for serious, relationship, expected in product([True, False], RELATIONSHIPS, [True, False])
}


@pytest.mark.parametrize(("serious", "relationship", "expected"), list(SUSAR_TABLE))
def test_susar_truth_table(serious, relationship, expected):
    assert (
        rules.is_susar(serious=serious, relationship=relationship, expected=expected)
        is SUSAR_TABLE[(serious, relationship, expected)]
    )


def test_only_serious_suspected_unexpected_events_are_susars():
    susars = [key for key, value in SUSAR_TABLE.items() if value]
    assert sorted(susars) == [
        (True, "definite", False),
        (True, "possible", False),
        (True, "probable", False),
    ]


def test_the_clock_is_7_days_for_fatal_or_life_threatening_and_15_otherwise():
    days = {
        flag: rules.susar_clock_days(
            fatal_or_life_threatening=flag,
            days_fatal_or_life_threatening=TRIAL.susar_clock_days_fatal_or_life_threatening,
            days_other=TRIAL.susar_clock_days_other,
        )
        for flag in (True, False)
    }
    assert days == {True: 7, False: 15}


def test_the_deadline_runs_from_awareness():
    aware = datetime(2021, 4, 1, 9, 30, tzinfo=UTC)
    assert rules.susar_deadline(aware_at=aware, clock_days=7) == datetime(
        2021, 4, 8, 9, 30, tzinfo=UTC
    )
    assert rules.susar_deadline(aware_at=aware, clock_days=15) == datetime(
        2021, 4, 16, 9, 30, tzinfo=UTC
    )
    assert rules.initial_report_deadline(aware_at=aware, hours=24) == datetime(
        2021, 4, 2, 9, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("left", "reminder"),
    [
        (timedelta(days=3), 0),
        (timedelta(days=2, minutes=1), 0),
        (timedelta(days=2), 2),
        (timedelta(days=1, hours=12), 2),
        (timedelta(days=1), 1),
        (timedelta(hours=3), 1),
        (timedelta(hours=-5), 1),
    ],
)
def test_susar_reminders_fire_at_2_days_then_1_day_left(left, reminder):
    now = datetime(2021, 4, 1, tzinfo=UTC)
    assert rules.susar_reminder_due(deadline=now + left, now=now, days_left=(2, 1)) == reminder


@pytest.mark.parametrize(
    ("term", "grade", "expected"),
    [
        ("Pyrexia", 1, True),
        ("Pyrexia", 2, True),
        ("Pyrexia", 3, False),  # more severe than the RSI lists: unexpected (ICH E2A II.C)
        ("Anaphylactic reaction", 1, False),  # not in the RSI
        ("", 1, False),  # not coded yet: treated as unexpected until coded
    ],
)
def test_expectedness_is_the_term_at_or_below_its_listed_grade(term, grade, expected):
    rsi = {"Pyrexia": 2}
    assert rules.is_expected(term, grade, rsi) is expected


def _coherent(**overrides):
    values = {
        "grade": 2,
        "outcome": "recovered",
        "serious": False,
        "criteria": set(),
        "onset_date": date(2021, 4, 1),
        "end_date": date(2021, 4, 3),
        "ongoing": False,
        "death_date": None,
        "aware_on": None,
        "today": date(2021, 4, 10),
    }
    values.update(overrides)
    return {(p.field, p.code) for p in rules.consistency_problems(**values)}


def test_a_coherent_event_has_no_problem():
    assert _coherent() == set()


def test_a_coherent_fatal_event_has_no_problem():
    assert (
        _coherent(
            grade=5,
            outcome="fatal",
            serious=True,
            criteria={"death"},
            death_date=date(2021, 4, 3),
            aware_on=date(2021, 4, 3),
        )
        == set()
    )


def test_grade_5_needs_a_fatal_outcome_and_a_death_record():
    assert _coherent(grade=5) >= {
        ("outcome", "grade5_needs_fatal"),
        ("death_date", "grade5_needs_death"),
    }


def test_a_fatal_outcome_needs_grade_5_and_the_death_criterion():
    problems = _coherent(outcome="fatal", grade=4, death_date=date(2021, 4, 3))
    assert ("ctcae_grade", "fatal_needs_grade5") in problems
    assert ("criterion_death", "fatal_needs_death_criterion") in problems


def test_a_date_of_death_needs_a_fatal_outcome():
    assert ("death_date", "death_needs_fatal") in _coherent(death_date=date(2021, 4, 3))


def test_serious_needs_a_criterion_and_an_awareness_time():
    problems = _coherent(serious=True)
    assert ("serious", "serious_needs_criterion") in problems
    assert ("aware_at", "serious_needs_awareness") in problems


def test_a_criterion_without_serious_is_refused():
    assert ("serious", "criterion_needs_serious") in _coherent(criteria={"hospitalization"})


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"ongoing": True}, ("end_date", "ongoing_and_ended")),
        ({"end_date": None}, ("end_date", "end_or_ongoing")),
        ({"end_date": date(2021, 3, 30)}, ("end_date", "end_before_onset")),
        ({"onset_date": date(2021, 4, 11)}, ("onset_date", "onset_in_future")),
        ({"end_date": None, "ongoing": True}, ("ongoing", "ongoing_but_outcome_final")),
        ({"outcome": "recovering"}, ("ongoing", "ended_but_not_recovered")),
        ({"aware_on": date(2021, 3, 30)}, ("aware_at", "aware_before_onset")),
    ],
)
def test_dates_and_outcome_must_agree(overrides, problem):
    assert problem in _coherent(**overrides)


@given(
    grade=st.integers(1, 5),
    outcome=st.sampled_from(
        ["recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown"]
    ),
    died=st.booleans(),
)
def test_no_accepted_event_breaks_the_grade_5_rule(grade, outcome, died):
    problems = rules.consistency_problems(
        grade=grade,
        outcome=outcome,
        serious=outcome == "fatal",
        criteria={"death"} if outcome == "fatal" else set(),
        onset_date=date(2021, 4, 1),
        end_date=date(2021, 4, 2),
        ongoing=False,
        death_date=date(2021, 4, 2) if died else None,
        aware_on=date(2021, 4, 2) if outcome == "fatal" else None,
        today=date(2021, 4, 10),
    )
    if not problems:
        # CTCAE v5: grade 5 if and only if fatal, and then with a death record.
        assert (grade == 5) == (outcome == "fatal") == died
