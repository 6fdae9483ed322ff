"""CTCAE v5.0 grades of the safety-laboratory results, as plain functions (no Django import).

Source: Common Terminology Criteria for Adverse Events (CTCAE) Version 5.0, U.S. Department of
Health and Human Services, NIH/NCI, published 27 November 2017. Only the terms CTCAE grades
from a value and the site's normal range (LLN, ULN) or the participant's baseline are here:

- Anemia (haemoglobin, g/dL): 1 <LLN–10.0; 2 <10.0–8.0; 3 <8.0 (grades 4–5 are clinical:
  life-threatening, death; a value alone never gives them).
- White blood cell decreased (10⁹/L): 1 <LLN–3.0; 2 <3.0–2.0; 3 <2.0–1.0; 4 <1.0.
- Lymphocyte count decreased (10⁹/L): 1 <LLN–0.8; 2 <0.8–0.5; 3 <0.5–0.2; 4 <0.2.
- Platelet count decreased (10⁹/L): 1 <LLN–75.0; 2 <75.0–50.0; 3 <50.0–25.0; 4 <25.0.
- Creatinine increased: 1 >ULN–1.5×ULN; 2 >1.5–3.0×baseline or >1.5–3.0×ULN;
  3 >3.0×baseline or >3.0–6.0×ULN; 4 >6.0×ULN.
- Alanine / aspartate aminotransferase increased: baseline normal: 1 >ULN–3.0×ULN;
  2 >3.0–5.0×ULN; 3 >5.0–20.0×ULN; 4 >20.0×ULN. Baseline abnormal: 1 1.5–3.0×baseline;
  2 >3.0–5.0×baseline; 3 >5.0–20.0×baseline; 4 >20.0×baseline.
- Blood bilirubin increased: baseline normal: 1 >ULN–1.5×ULN; 2 >1.5–3.0×ULN;
  3 >3.0–10.0×ULN; 4 >10.0×ULN. Baseline abnormal: 1 >1.0–1.5×baseline; 2 >1.5–3.0×baseline;
  3 >3.0–10.0×baseline; 4 >10.0×baseline.
- Fibrinogen decreased (mg/dL): 1 <1.0–0.75×LLN; 2 <0.75–0.5×LLN; 3 <0.5–0.25×LLN;
  4 <0.25×LLN or absolute value <50 mg/dL. Baseline abnormal: 1 <25% decrease from baseline;
  2 25–<50%; 3 50–<75%; 4 ≥75% decrease, or absolute value <50 mg/dL.

"<A–B" reads "below A and at least B"; ">A–B×ULN" reads "above A and at most B×ULN". Grade 0 is
within the range (or not worse than CTCAE grades); None is no value. The units are the
canonical ones of kernel.trial.LAB_ANALYTES, in which these thresholds are written.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

D = Decimal


def _falling(value: D, lln: D, cuts: tuple[D, ...]) -> int:
    """Grade of a count below LLN: `cuts` are the lower bounds of grades 1, 2, 3 (absolute)."""
    if value >= lln:
        return 0
    grade = 1
    for cut in cuts:
        if value < cut:
            grade += 1
    return grade


def _rising(ratio: D, cuts: tuple[D, ...]) -> int:
    """Grade of a value as a multiple of its reference: above cuts[0] grade 1, above cuts[1]
    grade 2, ... (each bound inclusive on the lower grade's side: ">3.0–5.0×ULN")."""
    return sum(1 for cut in cuts if ratio > cut)


def anemia(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    return min(_falling(value, lln, (D("10.0"), D("8.0"))), 3)


def wbc_decreased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    return _falling(value, lln, (D("3.0"), D("2.0"), D("1.0")))


def lymphocytes_decreased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    return _falling(value, lln, (D("0.8"), D("0.5"), D("0.2")))


def platelets_decreased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    return _falling(value, lln, (D("75.0"), D("50.0"), D("25.0")))


def creatinine_increased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    by_uln = _rising(value / uln, (D(1), D("1.5"), D("3.0"), D("6.0")))
    by_baseline = 0
    if baseline:
        ratio = value / baseline
        by_baseline = 3 if ratio > D("3.0") else 2 if ratio > D("1.5") else 0
    return max(by_uln, by_baseline)


def aminotransferase_increased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    if baseline is not None and baseline > uln:
        ratio = value / baseline
        if ratio < D("1.5"):
            return 0
        return 1 + _rising(ratio, (D("3.0"), D("5.0"), D("20.0")))
    return _rising(value / uln, (D(1), D("3.0"), D("5.0"), D("20.0")))


def bilirubin_increased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    cuts = (D(1), D("1.5"), D("3.0"), D("10.0"))
    if baseline is not None and baseline > uln:
        return _rising(value / baseline, cuts)
    return _rising(value / uln, cuts)


def fibrinogen_decreased(value: D, *, lln: D, uln: D, baseline: D | None = None) -> int:
    if value < D(50):
        return 4
    if baseline is not None and baseline < lln:
        if value >= baseline:
            return 0
        decrease = (baseline - value) / baseline
        return 1 + sum(1 for cut in (D("0.25"), D("0.50"), D("0.75")) if decrease >= cut)
    ratio = value / lln
    if ratio >= 1:
        return 0
    return 1 + sum(1 for cut in (D("0.75"), D("0.5"), D("0.25")) if ratio < cut)


Grader = Callable[..., int]

# Analyte code (kernel.trial.LAB_ANALYTES) -> its CTCAE v5.0 grading.
GRADERS: dict[str, Grader] = {
    "haemoglobin": anemia,
    "wbc": wbc_decreased,
    "lymphocytes": lymphocytes_decreased,
    "platelets": platelets_decreased,
    "creatinine": creatinine_increased,
    "alt": aminotransferase_increased,
    "ast": aminotransferase_increased,
    "bilirubin": bilirubin_increased,
    "fibrinogen": fibrinogen_decreased,
}


def grade(
    analyte: str, value: D | None, *, lln: D, uln: D, baseline: D | None = None
) -> int | None:
    """The CTCAE v5.0 grade of one result (None: no value, or CTCAE grades no value of it).

    `baseline` is the participant's baseline value of the analyte (None at the baseline visit
    itself, or when it was not measured): some terms grade against it."""
    grader = GRADERS.get(analyte)
    if grader is None or value is None:
        return None
    return grader(
        D(value), lln=D(lln), uln=D(uln), baseline=None if baseline is None else D(baseline)
    )


def prompts_ae(
    grade_now: int | None, baseline_grade: int | None, *, new_grade: int, worsening: int
) -> bool:
    """Whether a grade asks the coordinator to record an AE: a new grade ≥ `new_grade` (the
    baseline below it) or a worsening of ≥ `worsening` grades from the baseline grade."""
    if grade_now is None:
        return False
    before = baseline_grade or 0
    if grade_now >= new_grade and before < new_grade:
        return True
    return grade_now - before >= worsening
