"""The PaO2/FiO2 ratio, computed exactly, and the one rule for showing and storing it.

A pure module (no Django, none of our apps): the eligibility rule (participants.rules, "P/F
below 200 mmHg") and the Murray hypoxaemia points (outcomes.scores) both read the ratio from
here, so that a screening value and a CRF value of the same blood gas can never disagree.

Exact: PaO2 and FiO2 are read as the decimals that were typed (a Decimal, an int, a str, or a
float read as its shortest decimal spelling: 0.28 is 28/100, not the binary double nearest it)
and divided as fractions. 63 / 0.28 is 225 exactly, so it reaches Murray's 225 edge; a float
division gives 224.99999999999997 and the worse band.

Shown and stored: `pf_display` cuts the exact ratio down to 0.1 mmHg (truncation, never up).
Every edge the trial compares a P/F with is a whole number of mmHg (Murray's 100, 175, 225 and
300; the inclusion threshold 200), hence a multiple of 0.1, and cutting down to a multiple of
0.1 never crosses a multiple of 0.1: the stored value is on the same side of every edge as the
exact one, so the stored P/F and its points always agree. Rounding half-up would not: 224.96
would be stored as 225.0 beside 2 points. The cost is less than 0.1 mmHg, far below what a
blood gas can measure. docs/outcomes.md, "P/F ratio".
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

# SPEC §4 hard limits (tests/test_physiology.py asserts that they equal those of
# kernel.trial.TRIAL.hard_limits; this module stays importable without Django or Celery).
# FiO2 is a fraction, from room air to pure oxygen: a percentage is refused, never guessed.
FIO2_MIN = Fraction(21, 100)
FIO2_MAX = Fraction(1)
PAO2_MIN_MMHG = Fraction(20)
PAO2_MAX_MMHG = Fraction(700)

# Shown and stored to one decimal (the database column has one).
DISPLAY_STEP = Decimal("0.1")

Measured = int | float | Decimal | Fraction | str


def exact(name: str, value: Measured) -> Fraction:
    """`value` as the exact rational number that was typed; ValueError if it is not a finite
    number. A float is read as its shortest decimal spelling (repr), as a person typed it."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not {value!r}")
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError
            return Fraction(repr(value))
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError
            return Fraction(value)
        if isinstance(value, int | Fraction):
            return Fraction(value)
        if isinstance(value, str):
            return Fraction(Decimal(value.strip()))
    except (ArithmeticError, ValueError, TypeError):
        pass
    raise ValueError(f"{name} must be a finite number, not {value!r}")


def pf_ratio(*, pao2_mmhg: Measured, fio2: Measured) -> Fraction:
    """PaO2/FiO2 in mmHg, exact (SPEC §4; Murray et al. 1988, Table 2; Berlin definition 2012).

    `fio2` is a fraction from 0.21 (room air) to 1.00. A percentage (e.g. 60) is refused with a
    ValueError rather than guessed: the forms convert a % entry explicitly before calling.
    Compare this value, never a rounded one, with an edge or a threshold.
    """
    pao2 = exact("PaO2", pao2_mmhg)
    fraction = exact("FiO2", fio2)
    if not FIO2_MIN <= fraction <= FIO2_MAX:
        raise ValueError(
            f"FiO2 must be a fraction between {float(FIO2_MIN):.2f} and {float(FIO2_MAX):.2f}, "
            f"not {fio2}"
        )
    if not PAO2_MIN_MMHG <= pao2 <= PAO2_MAX_MMHG:
        raise ValueError(
            f"PaO2 must be between {PAO2_MIN_MMHG} and {PAO2_MAX_MMHG} mmHg, not {pao2_mmhg}"
        )
    return pao2 / fraction


def pf_display(value: Fraction) -> Decimal:
    """The exact P/F cut down to 0.1 mmHg, to show and to store: on the same side of every
    whole-mmHg edge as the exact value (module docstring). 224.99... -> 224.9; 225 -> 225.0."""
    tenths = math.floor(Fraction(value) * 10)
    return (Decimal(tenths) / 10).quantize(DISPLAY_STEP)
