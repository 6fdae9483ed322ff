"""Eligibility rules at their boundaries (participants/rules.py).

Source of every expected value: the registry record IRCT20201202049568N3 (../shared/protocol/),
"Inclusion criteria: ... Acute respiratory distress Syndrome of moderate to severe type
(PaO2/FiO2 <200mmHg) ... Age range between 18 to 65 years" and "Age: From 18 years old to 65
years old"; "Exclusion criteria: ... Pregnant women or planning to become pregnant"; SPEC.md §2
(E2 asked of women only; FiO2 0.21–1.00, a percentage converted explicitly).
"""

from datetime import date
from decimal import Decimal

import pytest

from kernel.physiology import pf_display, pf_ratio
from kernel.trial import TRIAL
from participants import rules

SCREENED = date(2026, 11, 20)
ALL_MET = {"I1": True, "I3": True, "I5": True, **{f"E{n}": False for n in range(1, 14)}}


def assess(**overrides):
    values = {
        "answers": ALL_MET,
        "sex": "female",
        "date_of_birth": date(1980, 5, 1),
        "screening_date": SCREENED,
        "pao2_mmhg": Decimal("60"),
        "fio2": Decimal("0.40"),
        # Issue 19: a woman not of childbearing potential needs no pregnancy test.
        "childbearing_potential": False,
    }
    values.update(overrides)
    return rules.assess(**values)


def born_years_before(years: int, *, days_after: int = 0) -> date:
    """A birthday exactly `years` before the screening date, shifted by `days_after` days."""
    from datetime import timedelta

    return SCREENED.replace(year=SCREENED.year - years) + timedelta(days=days_after)


def test_the_configuration_holds_the_registry_age_range_and_pf_threshold():
    assert (TRIAL.age_min_years, TRIAL.age_max_years) == (18, 65)
    assert TRIAL.pf_ratio_threshold_mmhg == 200


@pytest.mark.parametrize(
    ("date_of_birth", "age", "eligible"),
    [
        (born_years_before(18, days_after=1), 17, False),  # 18th birthday is tomorrow
        (born_years_before(18), 18, True),  # 18th birthday today
        (born_years_before(66, days_after=1), 65, True),  # last day aged 65
        (born_years_before(66), 66, False),  # 66th birthday today
    ],
)
def test_age_17_18_65_66_on_the_screening_date(date_of_birth, age, eligible):
    result = assess(date_of_birth=date_of_birth)
    assert result.age_years == age
    assert result.eligible is eligible
    assert ("I4" in result.failed) is not eligible


def test_a_29_february_birthday_counts_from_1_march():
    assert rules.age_in_years(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert rules.age_in_years(date(2008, 2, 29), date(2026, 3, 1)) == 18


@pytest.mark.parametrize(
    ("pao2", "fio2", "eligible"),
    [
        (Decimal("79.6"), Decimal("0.40"), True),  # P/F 199
        (Decimal("80"), Decimal("0.40"), False),  # P/F 200: not < 200
        (Decimal("199"), Decimal("1.00"), True),
        (Decimal("200"), Decimal("1.00"), False),
        (Decimal("56"), Decimal("0.28"), False),  # exactly 200 (a float gives 199.99999999999997)
        (Decimal("55.9"), Decimal("0.28"), True),  # 199.64...
    ],
)
def test_pf_199_is_in_and_200_is_out(pao2, fio2, eligible):
    result = assess(pao2_mmhg=pao2, fio2=fio2)
    assert result.eligible is eligible
    assert ("I2" in result.failed) is not eligible


def test_a_pf_just_under_200_is_shown_truncated_so_the_display_agrees_with_the_verdict():
    ratio = pf_ratio(pao2_mmhg=Decimal("79.99"), fio2=Decimal("0.40"))  # 199.975
    assert ratio < 200
    assert pf_display(ratio) == Decimal("199.9")
    assert assess(pao2_mmhg=Decimal("79.99")).eligible is True


def test_fio2_as_a_percentage_is_converted_explicitly():
    assert rules.fio2_fraction(Decimal("40"), rules.PERCENT) == Decimal("0.40")
    assert rules.fio2_fraction(Decimal("0.40"), rules.FRACTION) == Decimal("0.40")
    with pytest.raises(ValueError, match="unknown FiO2 unit"):
        rules.fio2_fraction(Decimal("40"), "guess")


def test_e2_pregnancy_excludes_a_woman():
    result = assess(sex="female", answers={**ALL_MET, "E2": True})
    assert result.eligible is False
    assert result.failed == ("E2",)


def test_a_positive_pregnancy_test_excludes_a_woman_whatever_e2_says():
    # Issue 19: the screening pregnancy test is used by the rule for E2.
    result = assess(childbearing_potential=True, pregnancy_test="positive")
    assert result.eligible is False
    assert result.failed == ("E2",)


@pytest.mark.parametrize("test", ["", "not_done"])
def test_a_woman_of_childbearing_potential_without_a_negative_test_is_not_decided(test):
    result = assess(childbearing_potential=True, pregnancy_test=test)
    assert result.eligible is None
    assert result.missing == ("E2",)


def test_childbearing_potential_must_be_answered_for_a_woman():
    result = assess(childbearing_potential=None)
    assert result.eligible is None
    assert result.missing == ("E2",)


def test_a_negative_test_or_no_childbearing_potential_leaves_her_eligible():
    assert assess(childbearing_potential=True, pregnancy_test="negative").eligible is True
    assert assess(childbearing_potential=False).eligible is True


def test_the_pregnancy_test_does_not_apply_to_a_man():
    answers = {k: v for k, v in ALL_MET.items() if k != "E2"}
    result = assess(
        sex="male", answers=answers, childbearing_potential=None, pregnancy_test="positive"
    )
    assert result.eligible is True


def test_e2_must_be_answered_for_a_woman():
    answers = {k: v for k, v in ALL_MET.items() if k != "E2"}
    result = assess(sex="female", answers=answers)
    assert result.eligible is None
    assert result.missing == ("E2",)


def test_e2_is_not_asked_of_a_man_and_cannot_exclude_him():
    answers = {k: v for k, v in ALL_MET.items() if k != "E2"}
    result = assess(sex="male", answers=answers)
    assert result.eligible is True
    e2 = next(r for r in result.results if r.code == "E2")
    assert not e2.applicable
    # Even a stray "yes" (e.g. a form tampered with) does not count for a man.
    assert assess(sex="male", answers={**ALL_MET, "E2": True}).eligible is True


@pytest.mark.parametrize("code", ["I1", "I3", "I5"])
def test_an_inclusion_answered_no_fails(code):
    result = assess(answers={**ALL_MET, code: False})
    assert result.failed == (code,)


@pytest.mark.parametrize("code", [f"E{n}" for n in range(1, 14)])
def test_an_exclusion_answered_yes_fails(code):
    result = assess(answers={**ALL_MET, code: True})
    assert result.failed == (code,)


def test_several_failures_are_all_named():
    result = assess(answers={**ALL_MET, "I1": False, "E7": True}, pao2_mmhg=Decimal("100"))
    assert result.failed == ("I1", "I2", "E7")


def test_every_criterion_of_spec_section_2_is_configured_in_order():
    codes = [c.code for c in TRIAL.eligibility_criteria]
    assert codes == [f"I{n}" for n in range(1, 7)] + [f"E{n}" for n in range(1, 14)]
    assert [c.code for c in TRIAL.eligibility_criteria if c.source == "computed"] == ["I2", "I4"]
    assert TRIAL.criterion("I6").source == "consent"
    assert TRIAL.criterion("E2").women_only


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("0499370899", True),
        ("1234567891", True),
        ("0012345678", False),  # wrong check digit
        ("1111111111", False),  # never issued
        ("123456789", False),  # nine digits
        ("12345678a1", False),
    ],
)
def test_iranian_national_code_checksum(code, valid):
    assert rules.national_id_is_valid(code) is valid


def test_consent_form_versions_have_validity_dates():
    expired, current = TRIAL.consent_form_versions
    assert not expired.valid_on(date(2026, 1, 1))
    assert current.valid_on(date(2026, 1, 1))
    assert not current.valid_on(current.valid_from.replace(day=current.valid_from.day - 1))
