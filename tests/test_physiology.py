"""The one P/F of the trial (kernel.physiology): exact from the values as typed, scored exact,
shown and stored cut down to 0.1 so that the stored value and its points never disagree.

Expected values come from integer arithmetic, never from the code under test: a PaO2 of p mmHg
at an FiO2 of F % has P/F = 100·p / F, so P/F >= edge exactly when 100·p >= edge·F.
Murray bands: Murray JF et al., Am Rev Respir Dis 1988;138:720-3, Table 2 (SPEC §4):
>=300 -> 0, 225-299 -> 1, 175-224 -> 2, 100-174 -> 3, <100 -> 4. Inclusion: registry record
IRCT20201202049568N3, "PaO2/FiO2 <200mmHg".
"""

from decimal import Decimal
from fractions import Fraction

import pytest

from kernel import physiology
from kernel.physiology import pf_display, pf_ratio
from kernel.trial import TRIAL
from outcomes import scores
from participants import rules

MURRAY_EDGES = ((300, 0), (225, 1), (175, 2), (100, 3))  # (edge, points from the edge up)


def expected_points(pao2: int, fio2_percent: int) -> int:
    for edge, points in MURRAY_EDGES:
        if 100 * pao2 >= edge * fio2_percent:
            return points
    return 4


def as_stored(pao2: int, fio2_percent: int) -> tuple[Decimal, Decimal]:
    """PaO2 and FiO2 as the database columns hold them (one and three decimals)."""
    return Decimal(pao2).quantize(Decimal("0.1")), (Decimal(fio2_percent) / 100).quantize(
        Decimal("0.001")
    )


PAO2_RANGE = range(int(physiology.PAO2_MIN_MMHG), int(physiology.PAO2_MAX_MMHG) + 1)
FIO2_PERCENT_RANGE = range(21, 101)  # every two-decimal FiO2 from 0.21 to 1.00


def test_the_limits_are_those_of_the_trial_configuration():
    fio2, pao2 = TRIAL.hard_limits["fio2"], TRIAL.hard_limits["pao2_mmhg"]
    assert (physiology.FIO2_MIN, physiology.FIO2_MAX) == (fio2.minimum, fio2.maximum)
    assert (physiology.PAO2_MIN_MMHG, physiology.PAO2_MAX_MMHG) == (pao2.minimum, pao2.maximum)


def test_every_integer_pao2_at_every_two_decimal_fio2_scores_the_band_of_the_exact_ratio():
    wrong = []
    for fio2_percent in FIO2_PERCENT_RANGE:
        for pao2 in PAO2_RANGE:
            pao2_stored, fio2_stored = as_stored(pao2, fio2_percent)
            ratio = pf_ratio(pao2_mmhg=pao2_stored, fio2=fio2_stored)
            assert ratio == Fraction(100 * pao2, fio2_percent)
            points = scores.pf_ratio_points(ratio)
            stored = pf_display(ratio)
            expected = expected_points(pao2, fio2_percent)
            if (points, scores.pf_ratio_points(stored)) != (expected, expected):
                wrong.append((pao2, fio2_percent, points, stored, expected))
            # The stored value is the exact one cut down to 0.1: never above it, less than 0.1
            # below it (10·P/F = 1000·p / F, so its tenths are the integer quotient).
            assert stored == Decimal((1000 * pao2) // fio2_percent) / 10
    assert not wrong, wrong[:10]
    assert len(PAO2_RANGE) * len(FIO2_PERCENT_RANGE) == 681 * 80


def test_every_integer_pao2_at_every_two_decimal_fio2_is_eligible_exactly_below_200():
    wrong = []
    for fio2_percent in FIO2_PERCENT_RANGE:
        for pao2 in PAO2_RANGE:
            pao2_stored, fio2_stored = as_stored(pao2, fio2_percent)
            ratio = pf_ratio(pao2_mmhg=pao2_stored, fio2=fio2_stored)
            expected = 100 * pao2 < 200 * fio2_percent
            shown_below = pf_display(ratio) < TRIAL.pf_ratio_threshold_mmhg
            if (ratio < TRIAL.pf_ratio_threshold_mmhg, shown_below) != (expected, expected):
                wrong.append((pao2, fio2_percent))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize(
    ("pao2", "fio2", "ratio", "points", "stored"),
    [
        # The edges a float division misses (each gives x.99999999999997 as a float).
        ("63", "0.28", 225, 1, "225.0"),  # 63 / 0.28 = 225: "225-299 -> 1", not 2
        ("84", "0.28", 300, 0, "300.0"),  # 84 / 0.28 = 300: ">=300 -> 0", not 1
        ("49", "0.28", 175, 2, "175.0"),  # 49 / 0.28 = 175: "175-224 -> 2", not 3
        ("34", "0.34", 100, 3, "100.0"),  # 34 / 0.34 = 100: "100-174 -> 3", not 4
        ("55", "0.55", 100, 3, "100.0"),  # 55 / 0.55 = 100
        # Just below an edge: stored cut down, on the worse side as the exact value is.
        ("62.9", "0.28", Fraction(6290, 28), 2, "224.6"),  # 224.64...
        ("83.9", "0.28", Fraction(8390, 28), 1, "299.6"),  # 299.64...
    ],
)
def test_the_cited_edges_score_and_store_the_exact_ratio(pao2, fio2, ratio, points, stored):
    exact = pf_ratio(pao2_mmhg=Decimal(pao2), fio2=Decimal(fio2))
    assert exact == ratio
    assert scores.pf_ratio_points(exact) == points
    assert pf_display(exact) == Decimal(stored)
    assert scores.murray_score(pf_ratio=exact).components == {"pf_ratio": points}


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Fraction(224999, 1000), "224.9"),  # rounding half-up would show 225.0 beside 2 points
        (Fraction(225), "225.0"),
        (Fraction(1999999, 10000), "199.9"),  # eligible (< 200), shown below 200
        (Fraction(200), "200.0"),
        (Fraction(400, 3), "133.3"),  # 80 / 0.60
        (Fraction(20, 1), "20.0"),
    ],
)
def test_the_shown_value_is_cut_down_to_a_tenth(value, shown):
    assert pf_display(value) == Decimal(shown)
    assert str(pf_display(value)) == shown


def test_the_values_are_read_as_typed_not_as_the_nearest_binary_double():
    # 0.28 as a float is 0.28000000000000002665...; read as typed it is 28/100.
    assert pf_ratio(pao2_mmhg=63, fio2=0.28) == 225
    assert pf_ratio(pao2_mmhg="63", fio2="0.28") == 225
    assert pf_ratio(pao2_mmhg=Decimal("63.0"), fio2=Decimal("0.280")) == 225
    assert 63 / 0.28 < 225  # the float division this replaces


@pytest.mark.parametrize("fio2", [0.20, 1.01, 40, 60.0, 100, "21"])
def test_fio2_outside_the_fraction_limits_is_refused_rather_than_guessed(fio2):
    with pytest.raises(ValueError, match="FiO2"):
        pf_ratio(pao2_mmhg=80, fio2=fio2)


@pytest.mark.parametrize("pao2", [19.9, 700.1, -5, float("nan"), float("inf"), "abc", True])
def test_impossible_pao2_is_refused(pao2):
    with pytest.raises(ValueError, match="PaO2"):
        pf_ratio(pao2_mmhg=pao2, fio2=0.5)


def test_eligibility_and_murray_read_the_same_function():
    assert scores.pf_ratio is physiology.pf_ratio
    assert rules.pf_ratio is physiology.pf_ratio
    assert not hasattr(rules, "pf_ratio_for_display")
