"""Spreadsheet-safe cells (OWASP "CSV Injection") and the one CSV download response
(kernel.csv_download)."""

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.cells import FORMULA_STARTS, neutralize
from kernel.csv_download import csv_attachment, csv_download
from kernel.roles import Role


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


# -- the one CSV download response ---------------------------------------------------------------


def test_a_csv_download_is_an_uncached_utf8_attachment_with_every_cell_defused():
    response = csv_download(
        filename_stem="things",
        header=["name", "count"],
        rows=iter([('=HYPERLINK("x")', -1), ('Ünïcode, with "quotes"', 3), (None, 0)]),
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert re.fullmatch(
        r'attachment; filename="things-\d{8}T\d{6}Z\.csv"', response["Content-Disposition"]
    )
    assert response.content.decode().split("\r\n") == [
        "name,count",
        '"\'=HYPERLINK(""x"")",\'-1',
        '"Ünïcode, with ""quotes""",3',
        ",0",
        "",
    ]


def test_a_download_without_a_stamp_keeps_its_name():
    response = csv_download(filename_stem="list", header=["a"], rows=[], stamp=False)
    assert response["Content-Disposition"] == 'attachment; filename="list.csv"'
    assert response.content == b"a\r\n"


def test_an_already_written_file_gets_the_same_headers_and_its_bytes_unchanged():
    response = csv_attachment("sequence,arm\n1,-A\n", filename="canonical.csv")
    assert response.content == b"sequence,arm\n1,-A\n"  # not defused: the bytes are the file
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"] == 'attachment; filename="canonical.csv"'


@pytest.mark.django_db
def test_every_csv_page_of_the_product_answers_with_the_one_helper(client, make_user, login):
    from .randomization_factories import store_list

    rlist = store_list(phase="I", stratum="B")
    login(make_user(Role.DATA_MANAGER))
    responses = [client.get("/security-log/?format=csv"), client.get("/data/audit/?format=csv")]
    client.logout()
    login(make_user(Role.STATISTICIAN))
    responses.append(client.get(f"/randomization/lists/{rlist.pk}/csv/"))
    for response in responses:
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
        assert response["Content-Disposition"].startswith('attachment; filename="')
