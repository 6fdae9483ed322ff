"""Spreadsheet-safe cells (OWASP "CSV Injection"): plain values, no database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports.cells import FORMULA_STARTS, neutralize


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("x")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"],
)
def test_a_cell_that_a_spreadsheet_would_run_begins_with_a_quote(value):
    assert neutralize(value) == "'" + value
    assert neutralize(value, numeric=True) == "'" + value  # text in a numeric column too


@pytest.mark.parametrize("value", [-1, -60, Decimal("-2.5"), -0.5])
def test_a_negative_number_in_a_numeric_column_stays_a_number(value):
    assert neutralize(value, numeric=True) == str(value)


def test_a_negative_number_in_a_text_column_is_neutralized():
    assert neutralize(-1) == "'-1"


def test_empty_and_plain_values_pass_unchanged():
    assert neutralize(None) == ""
    assert neutralize("Pyrexia") == "Pyrexia"
    assert neutralize(0, numeric=True) == "0"
    assert neutralize(True, numeric=True) == "True"  # a bool is never a number here


@given(st.text())
def test_no_cell_ever_begins_a_formula(text):
    assert not neutralize(text).startswith(FORMULA_STARTS)
