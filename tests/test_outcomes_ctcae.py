"""CTCAE v5.0 grades of the safety laboratory (issue 19), from the published table values.

Source: Common Terminology Criteria for Adverse Events (CTCAE) Version 5.0, NIH/NCI,
27 November 2017 — "Investigations" and "Blood and lymphatic system disorders" chapters:
Platelet count decreased, White blood cell decreased, Lymphocyte count decreased, Anemia,
Creatinine increased, Alanine/Aspartate aminotransferase increased, Blood bilirubin increased,
Fibrinogen decreased. Each case sits on or beside a grade boundary of the table.
"""

from decimal import Decimal as D

import pytest

from outcomes import ctcae


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        # Platelet count decreased: 1 <LLN–75.0×10⁹/L; 2 <75.0–50.0; 3 <50.0–25.0; 4 <25.0.
        ("150", 0),
        ("149", 1),
        ("75.0", 1),
        ("74.9", 2),
        ("50.0", 2),
        ("49.9", 3),
        ("25.0", 3),
        ("24.9", 4),
    ],
)
def test_platelet_count_decreased(value, grade):
    assert ctcae.grade("platelets", D(value), lln=D(150), uln=D(450)) == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    # White blood cell decreased: 1 <LLN–3.0×10⁹/L; 2 <3.0–2.0; 3 <2.0–1.0; 4 <1.0.
    [("4.0", 0), ("3.0", 1), ("2.9", 2), ("2.0", 2), ("1.9", 3), ("1.0", 3), ("0.9", 4)],
)
def test_white_blood_cell_decreased(value, grade):
    assert ctcae.grade("wbc", D(value), lln=D("4.0"), uln=D("11.0")) == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    # Lymphocyte count decreased: 1 <LLN–0.8×10⁹/L; 2 <0.8–0.5; 3 <0.5–0.2; 4 <0.2.
    [("1.0", 0), ("0.8", 1), ("0.79", 2), ("0.5", 2), ("0.49", 3), ("0.2", 3), ("0.19", 4)],
)
def test_lymphocyte_count_decreased(value, grade):
    assert ctcae.grade("lymphocytes", D(value), lln=D("1.0"), uln=D("4.8")) == grade


@pytest.mark.parametrize(
    ("value", "grade"),
    # Anemia: 1 Hgb <LLN–10.0 g/dL; 2 <10.0–8.0 g/dL; 3 <8.0 g/dL (4, 5: clinical only).
    [("12.0", 0), ("11.9", 1), ("10.0", 1), ("9.9", 2), ("8.0", 2), ("7.9", 3), ("4.0", 3)],
)
def test_anemia(value, grade):
    assert ctcae.grade("haemoglobin", D(value), lln=D("12.0"), uln=D("16.0")) == grade


@pytest.mark.parametrize(
    ("value", "baseline", "grade"),
    [
        # Creatinine increased: 1 >ULN–1.5×ULN; 2 >1.5–3.0×ULN; 3 >3.0–6.0×ULN; 4 >6.0×ULN
        # (ULN 1.0 mg/dL here) ...
        ("1.0", None, 0),
        ("1.5", None, 1),
        ("1.51", None, 2),
        ("3.0", None, 2),
        ("3.1", None, 3),
        ("6.0", None, 3),
        ("6.1", None, 4),
        # ... or 2 >1.5–3.0×baseline; 3 >3.0×baseline (a low baseline: within the range).
        ("0.95", "0.6", 2),  # 1.58 × baseline, below the ULN
        ("1.9", "0.6", 3),  # 3.17 × baseline, 1.9 × ULN
    ],
)
def test_creatinine_increased(value, baseline, grade):
    base = None if baseline is None else D(baseline)
    assert ctcae.grade("creatinine", D(value), lln=D("0.6"), uln=D("1.0"), baseline=base) == grade


@pytest.mark.parametrize("analyte", ["alt", "ast"])
@pytest.mark.parametrize(
    ("value", "baseline", "grade"),
    [
        # Baseline normal: 1 >ULN–3.0×ULN; 2 >3.0–5.0×ULN; 3 >5.0–20.0×ULN; 4 >20.0×ULN
        # (ULN 40 U/L).
        ("40", None, 0),
        ("41", None, 1),
        ("120", None, 1),
        ("121", None, 2),
        ("200", None, 2),
        ("201", None, 3),
        ("800", None, 3),
        ("801", None, 4),
        ("120", "30", 1),  # a normal baseline grades against the ULN
        # Baseline abnormal (80 U/L): 1 1.5–3.0×baseline; 2 >3.0–5.0; 3 >5.0–20.0; 4 >20.0.
        ("119", "80", 0),
        ("120", "80", 1),
        ("240", "80", 1),
        ("241", "80", 2),
        ("401", "80", 3),
        ("1601", "80", 4),
    ],
)
def test_aminotransferase_increased(analyte, value, baseline, grade):
    base = None if baseline is None else D(baseline)
    assert ctcae.grade(analyte, D(value), lln=D(0), uln=D(40), baseline=base) == grade


@pytest.mark.parametrize(
    ("value", "baseline", "grade"),
    [
        # Baseline normal: 1 >ULN–1.5×ULN; 2 >1.5–3.0×ULN; 3 >3.0–10.0×ULN; 4 >10.0×ULN
        # (ULN 1.2 mg/dL).
        ("1.2", None, 0),
        ("1.8", None, 1),
        ("1.81", None, 2),
        ("3.6", None, 2),
        ("3.61", None, 3),
        ("12.0", None, 3),
        ("12.1", None, 4),
        # Baseline abnormal (2.0 mg/dL): 1 >1.0–1.5×baseline; 2 >1.5–3.0; 3 >3.0–10.0.
        ("2.0", "2.0", 0),
        ("3.0", "2.0", 1),
        ("3.1", "2.0", 2),
        ("6.1", "2.0", 3),
    ],
)
def test_blood_bilirubin_increased(value, baseline, grade):
    base = None if baseline is None else D(baseline)
    assert ctcae.grade("bilirubin", D(value), lln=D("0.1"), uln=D("1.2"), baseline=base) == grade


@pytest.mark.parametrize(
    ("value", "baseline", "grade"),
    [
        # LLN 200 mg/dL: 1 <1.0–0.75×LLN; 2 <0.75–0.5×LLN; 3 <0.5–0.25×LLN; 4 <0.25×LLN.
        ("200", None, 0),
        ("150", None, 1),
        ("149", None, 2),
        ("100", None, 2),
        ("99", None, 3),
        ("51", None, 3),
        # 4: or absolute value <50 mg/dL (here also below 0.25×LLN = 50).
        ("49", None, 4),
        # Baseline abnormal (160 mg/dL): 1 <25% decrease; 2 25–<50%; 3 50–<75%; 4 ≥75%.
        ("130", "160", 1),
        ("120", "160", 2),
        ("80", "160", 3),
        ("49", "160", 4),
    ],
)
def test_fibrinogen_decreased(value, baseline, grade):
    base = None if baseline is None else D(baseline)
    assert ctcae.grade("fibrinogen", D(value), lln=D(200), uln=D(400), baseline=base) == grade


def test_no_grade_where_ctcae_grades_no_value():
    # CTCAE v5.0 grades no D-dimer, ferritin or LDH value; troponin only clinically.
    for analyte in ("d_dimer", "ferritin", "ldh", "troponin"):
        assert ctcae.grade(analyte, D(5), lln=D(0), uln=D(1)) is None
    assert ctcae.grade("platelets", None, lln=D(150), uln=D(450)) is None


@pytest.mark.parametrize(
    ("now", "baseline", "prompts"),
    [
        (3, 0, True),  # a new grade 3
        (3, None, True),  # no baseline: counted from 0
        (3, 3, False),  # grade 3 since baseline: not new, not worse
        (4, 3, False),  # one grade worse
        (2, 0, True),  # two grades worse
        (1, 0, False),
        (None, 0, False),
    ],
)
def test_a_new_grade_3_or_a_worsening_of_2_grades_prompts_an_ae(now, baseline, prompts):
    assert ctcae.prompts_ae(now, baseline, new_grade=3, worsening=2) is prompts
