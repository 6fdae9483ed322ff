"""The IPD for Stata, SPSS, SAS and R (issue 22): every file read back with ReadStat (the library
behind pyreadstat and R's haven) and compared with its CSV cell by cell; labels and value labels
from the data dictionary; the SAS program and the R script name every file, column and code."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from django.core.management import call_command

from exports import columns, statfiles
from kernel.roles import Role

from .exports_data import build_trial
from .factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def out(site01, roles, tmp_path) -> Path:
    build_trial(site01)
    folder = tmp_path / "ipd"
    call_command("export_ipd", "--out", str(folder))
    return folder


def _csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _same_number(cell: str, value) -> bool:
    if cell == "":
        return value is None or (isinstance(value, float) and math.isnan(value))
    return not (isinstance(value, float) and math.isnan(value)) and float(cell) == float(value)


def _same_text(cell: str, value) -> bool:
    return (value or "") == cell


def _tables() -> list[columns.Table]:
    return columns.tables(with_arm=False)


def test_every_package_file_holds_the_csv_cells_row_for_row(out):
    checked = 0
    for table in _tables():
        header, body = _csv(out / table.filename)  # an empty table is written and read too
        readers = {
            "spss": pyreadstat.read_sav(str(out / "spss" / f"{table.code}.sav")),
            "sas": pyreadstat.read_xport(str(out / "sas" / f"{table.code}.xpt")),
            "stata": pyreadstat.read_dta(str(out / "stata" / f"{table.code}.dta")),
        }
        for package, (frame, _meta) in readers.items():
            assert list(frame.columns) == header, (package, table.code)
            assert len(frame) == len(body), (package, table.code)
            for index, column in enumerate(table.columns):
                values = list(frame[column.name])
                if (
                    package == "stata"
                    and column.codes
                    and not column.numeric
                    and str(frame[column.name].dtype).startswith("float")
                ):
                    # Stored as the code's place (1, 2, …), labelled "code = label".
                    decode = {p: v for v, p in statfiles.stata_codes(column).items()}
                    values = [
                        "" if isinstance(v, float) and math.isnan(v) else decode[int(v)]
                        for v in values
                    ]
                    same = _same_text
                else:
                    same = _same_number if column.numeric else _same_text
                for row, value in zip(body, values, strict=True):
                    assert same(row[index], value), (package, table.code, column.name, row[index])
                    checked += 1
    # Cells of every kind were compared: numbers, coded numbers, coded text, free codes.
    assert checked > 500


def test_variable_labels_and_value_labels_come_from_the_data_dictionary(out):
    participants = columns.participants_table(with_arm=False)
    by_name = {c.name: c for c in participants.columns}
    _, spss = pyreadstat.read_sav(str(out / "spss" / "participants.sav"))
    assert spss.column_names_to_labels["ttic_day"] == statfiles.label_of(by_name["ttic_day"])
    assert "(day)" in spss.column_names_to_labels["ttic_day"]
    present = {"female", "male"}  # the codes the trial's three participants have
    assert spss.variable_value_labels["sex"] == {
        v: t for v, t in by_name["sex"].codes if v in present
    }
    assert spss.variable_value_labels["ttic_event"] == {1.0: "Yes", 0.0: "No"}
    _, stata = pyreadstat.read_dta(str(out / "stata" / "participants.dta"))
    assert stata.column_names_to_labels["sex"] == "Sex"
    sex = dict(by_name["sex"].codes)
    assert set(stata.variable_value_labels["sex"].values()) == {
        f"{v} = {t}" for v, t in sex.items()
    }
    assert stata.file_label == "Participants"
    _, sas = pyreadstat.read_xport(str(out / "sas" / "clinical_status.xpt"))
    assert sas.column_names_to_labels["status_score"]
    # The ordinal scale's labels reach the packages from the trial configuration.
    _, status = pyreadstat.read_sav(str(out / "spss" / "clinical_status.sav"))
    assert len(status.variable_value_labels["status_score"]) == 6


def test_sas_transport_is_version_8_only_where_a_name_is_longer_than_8(out):
    assert (out / "sas" / "participants.xpt").read_bytes().startswith(b"HEADER RECORD*******LIBV8")
    for table in _tables():
        expected = 8 if max(len(c.name) for c in table.columns) > 8 or len(table.code) > 8 else 5
        assert statfiles._sas_version(table) == expected


def test_the_sas_program_and_the_r_script_name_every_file_column_and_code(out):
    sas = (out / "sas" / "formats.sas").read_text()
    r = (out / "r" / "read_ipd.R").read_text()
    for table in _tables():
        assert f"{table.code}.xpt" in sas
        assert f'"{table.filename}"' in r
        for column in table.columns:
            assert re.search(rf"label {column.name} = '", sas), column.name
            assert f'd[["{column.name}"]]' in r
            for _value, text in column.codes:
                assert text.replace("'", "''") in sas
    assert "proc format;" in sas
    assert "%xpt2loc" in sas
    assert r.count("read.csv(") == len(_tables())
    # Balanced brackets: a cheap check that the generated R parses.
    assert r.count("(") == r.count(")")
    assert r.count("{") == r.count("}")


def test_the_package_files_carry_no_arm_while_the_trial_is_blinded(out):
    for path in sorted(out.rglob("*")):
        if path.suffix in {".dta", ".sav", ".xpt", ".R", ".sas"}:
            text = path.read_bytes().decode("utf-8", errors="replace").lower()
            assert "exosome" not in text, path.name
            assert "placebo" not in text, path.name


def test_a_coded_text_cell_outside_its_codes_keeps_the_stata_column_as_text():
    table = columns.participants_table(with_arm=False)
    sex = next(c for c in table.columns if c.name == "sex")
    assert statfiles.stata_encoded(pd.DataFrame({"sex": ["female", ""]}), sex)
    assert not statfiles.stata_encoded(pd.DataFrame({"sex": ["female", "'=1+1"]}), sex)


def test_spss_labels_the_codes_present_and_long_labels_are_clipped(tmp_path):
    """A code longer than every value of its column (µkat/L where only U/L was typed) cannot
    be labelled in SPSS's narrower string; a label longer than Stata's 80 characters is cut."""
    unit = columns.Column("alt_unit", "ALT unit", "text", codes=(("U/L", "U/L"), ("µkat/L", "x")))
    frame = pd.DataFrame({"alt_unit": ["U/L", ""]})
    assert statfiles.spss_text_labels(frame, unit) == {"U/L": "U/L"}
    assert statfiles.clipped("a" * 90, 80) == "a" * 79 + "…"
    assert statfiles.clipped("short", 80) == "short"


def test_names_are_valid_in_every_package():
    assert statfiles.names_are_valid(columns.tables(with_arm=True)) == []


def test_the_web_export_zip_holds_the_package_files(site01, roles, settings, tmp_path):
    from zipfile import ZipFile

    from exports import services

    build_trial(site01)
    settings.MEDIA_ROOT = str(tmp_path)
    user = UserFactory(role=Role.SPONSOR)
    run = services.export_run_start(user=user)
    run = services.export_run_build(run_id=run.pk)
    with services.export_file_open(run) as handle:
        names = ZipFile(handle).namelist()
    assert "stata/participants.dta" in names
    assert "spss/adverse_events.sav" in names
    assert "r/read_ipd.R" in names
