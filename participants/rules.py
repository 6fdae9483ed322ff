"""Eligibility rules of the trial, as plain functions (no Django), cited to their source.

Source: registry record IRCT20201202049568N3, "Inclusion/Exclusion criteria" and "Age"
("From 18 years old to 65 years old"), and SPEC.md §2. Eligibility is computed, never typed:
every inclusion criterion met ("yes") and every exclusion criterion absent ("no").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from kernel.limits import FRACTION, PERCENT, fio2_fraction
from kernel.physiology import pf_display, pf_ratio
from kernel.trial import EXCLUSION, TRIAL, TrialConfig

# FiO2's units and their conversion (FRACTION, PERCENT, fio2_fraction) are kernel.limits': the
# CRFs convert with the same rule.

# The pregnancy test at screening (issue 19): asked of women of childbearing potential.
NEGATIVE = "negative"
POSITIVE = "positive"
NOT_DONE = "not_done"


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years of age on `on` (a 29 February birthday counts from 1 March)."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


@dataclass(frozen=True)
class BloodGasEntry:
    """PaO2 and FiO2 as typed at screening, with what the verdict may use: a value outside its
    hard limit (TRIAL.hard_limits) is not used, and is said to be out of range."""

    pao2_mmhg: Decimal | None  # within its limit, else None
    fio2: Decimal | None  # as a fraction, within its limit, else None
    fio2_entered: Decimal | None
    fio2_unit: str
    pao2_out_of_range: bool
    fio2_out_of_range: bool


def blood_gas_entry(
    *, pao2_mmhg: Decimal | None, fio2_entered: Decimal | None, fio2_unit: str
) -> BloodGasEntry:
    """The screening blood gas as typed so far, for the live verdict (SPEC §2, §4 limits)."""
    fio2 = None
    if fio2_entered is not None and fio2_unit in (FRACTION, PERCENT):
        fio2 = fio2_fraction(fio2_entered, fio2_unit)
    pao2_limit, fio2_limit = TRIAL.hard_limits["pao2_mmhg"], TRIAL.hard_limits["fio2"]
    pao2_ok = pao2_mmhg is not None and pao2_limit.minimum <= pao2_mmhg <= pao2_limit.maximum
    fio2_ok = fio2 is not None and fio2_limit.minimum <= fio2 <= fio2_limit.maximum
    return BloodGasEntry(
        pao2_mmhg=pao2_mmhg if pao2_ok else None,
        fio2=fio2 if fio2_ok else None,
        fio2_entered=fio2_entered,
        fio2_unit=fio2_unit,
        pao2_out_of_range=pao2_mmhg is not None and not pao2_ok,
        fio2_out_of_range=fio2 is not None and not fio2_ok,
    )


@dataclass(frozen=True)
class CriterionResult:
    code: str
    met: bool | None  # None: not answered yet, or not applicable
    applicable: bool = True
    value: str = ""  # what a computed criterion was computed from, e.g. "P/F 150.0"


@dataclass(frozen=True)
class Assessment:
    """The outcome of the eligibility form (I1–I5, E1–E13; I6 is met by the consent record)."""

    results: tuple[CriterionResult, ...]
    pf_ratio: Fraction | None = None  # exact (kernel.physiology); pf_display to show or store
    age_years: int | None = None
    failed: tuple[str, ...] = field(default=())
    missing: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def eligible(self) -> bool | None:
        """True/False once decided; None while answers are missing and nothing has failed."""
        if self.failed:
            return False
        return True if self.complete else None


def assess(
    *,
    answers: dict[str, bool | None],
    sex: str | None,
    date_of_birth: date | None,
    screening_date: date | None,
    pao2_mmhg: Decimal | None,
    fio2: Decimal | None,
    childbearing_potential: bool | None = None,
    pregnancy_test: str = "",
    trial: TrialConfig = TRIAL,
) -> Assessment:
    """Assess the form's criteria. `answers` maps criterion codes ("I1", "E2") to yes/no.

    E2 (pregnancy) of a woman also reads the screening pregnancy test (issue 19): a positive
    test excludes her whatever was answered; she is not excluded by E2 only once it is answered
    "no" and she is either not of childbearing potential or has a negative test (a test not
    done, or not recorded, leaves E2 open: she cannot be randomized)."""
    # The exact ratio is compared with the threshold; the value shown is cut down to 0.1, so
    # a shown 199.9 is always eligible and a shown 200.0 never is (kernel.physiology).
    ratio = pf_ratio(pao2_mmhg=pao2_mmhg, fio2=fio2) if pao2_mmhg is not None and fio2 else None
    age = (
        age_in_years(date_of_birth, screening_date)
        if date_of_birth is not None and screening_date is not None
        else None
    )
    results = []
    for criterion in trial.eligibility_criteria:
        if criterion.source == "consent":
            continue
        if criterion.code == "I2":
            met = None if ratio is None else ratio < trial.pf_ratio_threshold_mmhg
            shown = "" if ratio is None else f"P/F {pf_display(ratio)}"
            results.append(CriterionResult("I2", met, value=shown))
        elif criterion.code == "I4":
            met = None if age is None else trial.age_min_years <= age <= trial.age_max_years
            results.append(CriterionResult("I4", met, value="" if age is None else str(age)))
        elif criterion.women_only and sex != "female":
            # Asked of women only; for a man it is not applicable and cannot exclude.
            applicable = sex is None
            results.append(CriterionResult(criterion.code, None, applicable=applicable))
        else:
            answer = answers.get(criterion.code)
            if answer is None:
                met = None
            elif criterion.kind == EXCLUSION:
                met = not answer
            else:
                met = answer
            if criterion.women_only and sex == "female":
                met, shown = pregnancy_met(met, childbearing_potential, pregnancy_test)
                results.append(CriterionResult(criterion.code, met, value=shown))
                continue
            results.append(CriterionResult(criterion.code, met))
    failed = tuple(r.code for r in results if r.met is False)
    missing = tuple(r.code for r in results if r.applicable and r.met is None)
    return Assessment(
        results=tuple(results), pf_ratio=ratio, age_years=age, failed=failed, missing=missing
    )


def pregnancy_met(
    met_by_answer: bool | None, childbearing_potential: bool | None, test: str
) -> tuple[bool | None, str]:
    """E2 for a woman: (met, what it was decided from). `met_by_answer` is E2 from its answer
    (True: "not pregnant", the exclusion absent; None: not answered); a positive test excludes;
    childbearing potential must be answered, and if yes, the test must be negative."""
    if test == POSITIVE:
        return False, "pregnancy test positive"
    if met_by_answer is False:
        return False, ""
    if childbearing_potential is None:
        return None, ""
    if childbearing_potential and test != NEGATIVE:
        return None, "pregnancy test required"
    shown = "pregnancy test negative" if test == NEGATIVE else "not of childbearing potential"
    return met_by_answer, shown if met_by_answer else ""


def national_id_is_valid(code: str) -> bool:
    """Iranian national code (code-e melli): 10 digits, the last a mod-11 check digit.

    check = r if r < 2 else 11 - r, where r = sum(digit[i] * (10 - i) for i in 0..8) mod 11.
    Ten equal digits pass the arithmetic but are never issued.
    """
    if len(code) != 10 or not code.isdigit() or len(set(code)) == 1:
        return False
    remainder = sum(int(code[i]) * (10 - i) for i in range(9)) % 11
    check = int(code[9])
    return check == remainder if remainder < 2 else check == 11 - remainder
