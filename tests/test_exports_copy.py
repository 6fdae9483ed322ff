"""The record-level CSVs written by PostgreSQL's COPY of the de-identifying query (issue 24)
are the bytes the Python writer made before it (commit 96834d2), kept below as the reference:
formulas neutralised, empty cells, decimals with their places, dates as study days (before
Day 0 too, and a date-time near midnight at the site), times as HH:MM, Persian text, quotes and
line breaks inside a cell. The ODM, now made from those files, is compared with the ODM the
Python writer made from its own rows, and the statistical files (Stata, SPSS, SAS), now read
from the CSVs by pandas, with those made from the CSVs read cell by cell."""

from __future__ import annotations

import csv
import heapq
import io
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
import pyreadstat
import pytest
from django.core.management import call_command
from django.db.models import F

from exports import copysql, services, statfiles
from exports.columns import (
    ADVERSE_EVENTS,
    CONCOMITANT_MEDICATIONS,
    FLOAT,
    INTEGER,
    PARTICIPANTS,
    REPEATING,
    TEXT,
    Column,
    Table,
    tables,
)
from exports.odm import OdmWriter
from exports.services import _by_export_id, _day0, _export_id, _participant_rows, _value
from kernel.cells import neutralize
from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS, Baseline, ConcomitantMedication, Crp, Visit
from safety.models import AdverseEvent

from .exports_data import build_trial

pytestmark = pytest.mark.django_db


# --- the Python writer before issue 24, as it was (the reference) ---------------------------


def crf_queryset(release, table: Table):
    model = CRF_MODELS[table.code]
    sources = [c for c in table.columns if c.source]
    return _by_export_id(
        model.objects.annotate(
            x_export_id=_export_id(release, "visit__participant"),
            x_site=F("visit__participant__site__code"),
            x_tz=F("visit__participant__site__time_zone"),
            x_visit=F("visit__code"),
            x_visit_day=F("visit__day"),
            x_day0=_day0("visit__participant"),
        ),
        "visit__day",
    ).values(
        "x_export_id", "x_site", "x_tz", "x_visit", "x_visit_day", "x_day0",
        *{c.source for c in sources},
    )  # fmt: skip


def _crf_rows(release, table: Table) -> Iterator[dict]:
    sources = [c for c in table.columns if c.source]
    for record in crf_queryset(release, table).iterator(chunk_size=TRIAL.export_chunk_size):
        row = {
            "export_id": record["x_export_id"],
            "site": record["x_site"],
            "visit": record["x_visit"],
            "visit_day": record["x_visit_day"],
        }
        for column in sources:
            row[column.name] = _value(
                column, record[column.source], day0=record["x_day0"], tz=record["x_tz"]
            )
        yield row


def _ae_rows(release, table: Table) -> Iterator[dict]:
    sources = [c for c in table.columns if c.source]
    queryset = _by_export_id(
        AdverseEvent.objects.annotate(
            x_export_id=_export_id(release, "participant"),
            x_site=F("participant__site__code"),
            x_tz=F("participant__site__time_zone"),
            x_day0=_day0("participant"),
        ),
        "number",
    ).values(
        "x_export_id", "x_site", "x_tz", "x_day0", "needs_coding", *{c.source for c in sources}
    )
    for record in queryset.iterator(chunk_size=TRIAL.export_chunk_size):
        row = {"export_id": record["x_export_id"], "site": record["x_site"]}
        for column in sources:
            row[column.name] = _value(
                column, record[column.source], day0=record["x_day0"], tz=record["x_tz"]
            )
        if record["needs_coding"]:
            row["preferred_term"] = row["system_organ_class"] = None
        yield row


def _conmed_rows(release, table: Table) -> Iterator[dict]:
    sources = [c for c in table.columns if c.source]
    queryset = _by_export_id(
        ConcomitantMedication.objects.annotate(
            x_export_id=_export_id(release, "participant"),
            x_site=F("participant__site__code"),
            x_tz=F("participant__site__time_zone"),
            x_day0=_day0("participant"),
        ),
        "started_on",
        "pk",
    ).values("x_export_id", "x_site", "x_tz", "x_day0", *{c.source for c in sources})
    number, previous = 0, None
    for record in queryset.iterator(chunk_size=TRIAL.export_chunk_size):
        number = number + 1 if record["x_export_id"] == previous else 1
        previous = record["x_export_id"]
        row = {
            "export_id": record["x_export_id"],
            "site": record["x_site"],
            "medication_number": number,
        }
        for column in sources:
            row[column.name] = _value(
                column, record[column.source], day0=record["x_day0"], tz=record["x_tz"]
            )
        yield row


def python_rows(release, table: Table) -> Iterator[dict]:
    if table.code == ADVERSE_EVENTS:
        return _ae_rows(release, table)
    if table.code == CONCOMITANT_MEDICATIONS:
        return _conmed_rows(release, table)
    return _crf_rows(release, table)


def python_csv(release, table: Table) -> bytes:
    handle = io.StringIO(newline="")
    writer = csv.writer(handle)
    writer.writerow([c.name for c in table.columns])
    for row in python_rows(release, table):
        writer.writerow([neutralize(row.get(c.name), numeric=c.numeric) for c in table.columns])
    return handle.getvalue().encode()


def _keyed(rows, section: int, seq: str, index: int, code: str):
    for row in rows:
        yield (row["export_id"], section, row.get(seq) or 0, index), code, row


class ReferenceOdmWriter(OdmWriter):
    """The ODM writer's clinical data before issue 24's string path, as it was: every element
    through XMLGenerator's startElement/endElement, each value through quoteattr."""

    def row(self, table_code: str, row: dict) -> None:
        table = self.tables[table_code]
        subject, event = row["export_id"], self.event_of(table, row)
        if subject != self._subject:
            self._close_subject()
            self._open("SubjectData", SubjectKey=subject)
            self._subject = subject
        if event != self._event:
            self._close_event()
            self._open("StudyEventData", StudyEventOID=f"SE.{event}")
            self._event = event
        if table.code != self._form:
            self._close_form()
            self._open("FormData", FormOID=f"F.{table.code}")
            self._form = table.code
        attrs = {"ItemGroupOID": f"IG.{table.code}"}
        if table.code in REPEATING:
            attrs["ItemGroupRepeatKey"] = row[REPEATING[table.code]]
        self._open("ItemGroupData", **attrs)
        for column in self.items(table):
            value = row.get(column.name)
            if value is not None and value != "":
                self._empty("ItemData", ItemOID=f"IT.{table.code}.{column.name}",
                            Value=str(value))  # fmt: skip
        self._close("ItemGroupData")

    def _close_form(self) -> None:
        if self._form is not None:
            self._close("FormData")
            self._form = None

    def _close_event(self) -> None:
        self._close_form()
        if self._event is not None:
            self._close("StudyEventData")
            self._event = None

    def _close_subject(self) -> None:
        self._close_event()
        if self._subject is not None:
            self._close("SubjectData")
            self._subject = None

    def finish(self) -> None:
        self._close_subject()
        self._close("ClinicalData")
        self._close("ODM")
        self.xml.endDocument()


def python_odm(release, all_tables: list[Table], *, file_oid: str, created: datetime) -> bytes:
    seqs = {PARTICIPANTS: "", ADVERSE_EVENTS: "ae_number"}
    seqs[CONCOMITANT_MEDICATIONS] = "medication_number"
    streams = []
    for index, table in enumerate(all_tables):
        if table.code == PARTICIPANTS:
            rows = _participant_rows(release, table, with_arm=False)
        else:
            rows = python_rows(release, table)
        section = 0 if table.code == PARTICIPANTS else 1 if table.code in seqs else 2
        seq = seqs.get(table.code, "visit_day")
        streams.append(_keyed(rows, section, seq, index, table.code))
    out = io.BytesIO()
    odm = ReferenceOdmWriter(out, tables=all_tables, file_oid=file_oid, created=created)
    odm.start()
    for _key, code, row in heapq.merge(*streams, key=lambda item: item[0]):
        odm.row(code, row)
    odm.finish()
    return out.getvalue()


# --- the data: the export tests' trial, with awkward values ----------------------------------

# (coded term, system organ class) of the AEs, in their order; the last AE is not coded yet.
# XML's awkward characters too: & and < and >, a value with both quote signs (the ODM attribute
# is then in double quotes with &quot;), one with only " (single quotes), one with only '.
AWKWARD_TERMS = [
    ("@SUM(1+1)", "-minus & <b>"),
    ('a "quoted"\r\nterm\nover lines', "\tTab's first"),
    ("تب و لرز", '\rCR first, it\'s "both" > 1'),  # Persian: fever and chills
    ("=free text of the reporter", "+98 not a number"),
]


@pytest.fixture
def trial(site01, roles):
    participants = build_trial(site01)
    Baseline.objects.filter(visit__participant=participants[0]).update(
        respiratory_support="=HYPERLINK(\"x\") & 'y' <z>", weight_kg=Decimal("70.0")
    )
    Baseline.objects.filter(visit__participant=participants[1]).update(
        respiratory_support="", weight_kg=None
    )
    day0 = Visit.objects.get(participant=participants[2], day=0).target_date
    Baseline.objects.filter(visit__participant=participants[2]).update(
        assessed_on=day0 - timedelta(days=2), assessed_time=time(0, 5)
    )
    Crp.objects.filter(visit__participant=participants[0]).update(entered_value=Decimal("0.05"))
    events = list(AdverseEvent.objects.order_by("pk"))
    assert len(events) == len(AWKWARD_TERMS)
    for event, (term, organ_class) in zip(events, AWKWARD_TERMS, strict=True):
        AdverseEvent.objects.filter(pk=event.pk).update(
            preferred_term=term,
            system_organ_class=organ_class,
            needs_coding=event == events[-1],
            # 21:00 UTC is the next day in Tehran (UTC+03:30): the site's day counts.
            aware_at=datetime.combine(event.onset_date, time(21), tzinfo=UTC),
        )
    return participants


def export(tmp_path) -> dict[str, bytes]:
    out = tmp_path / "out"
    call_command("export_ipd", "--out", str(out))
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_every_record_level_csv_is_the_python_writers_bytes(trial, tmp_path):
    files = export(tmp_path)
    release = services.release_current(user=None)
    compared = 0
    for table in tables(with_arm=False):
        if table.code == PARTICIPANTS:
            continue
        assert files[table.filename] == python_csv(release, table), table.filename
        compared += 1
    assert compared == len(CRF_MODELS) + 2
    # The awkward values are there, and were written as the rules say.
    aes = files["adverse_events.csv"].decode()
    assert "'@SUM(1+1)" in aes
    assert "تب و لرز" in aes
    assert '"a ""quoted""\r\nterm\nover lines"' in aes
    assert "'\tTab's first" in aes
    assert "'-minus" in aes
    assert "free text of the reporter" not in aes
    baseline = files["baseline.csv"].decode()
    assert '\'=HYPERLINK(""x"") & \'y\' <z>' in baseline
    assert ",-2," in baseline  # assessed two days before Day 0
    assert ",00:05," in baseline
    assert ",70.0," in baseline
    assert ",0.05," in files["crp.csv"].decode()
    assert "+98 not a number" not in aes
    # Header and 4 rows, and the CRLF inside a cell; the lone LF inside it stays a LF.
    assert files["adverse_events.csv"].count(b"\r\n") == 6
    assert len(list(csv.reader(io.StringIO(aes, newline="")))) == 5


def test_the_odm_is_the_python_writers_bytes(trial, tmp_path):
    odm = export(tmp_path)["odm.xml"]
    release = services.release_current(user=None)
    file_oid = re.search(rb'FileOID="([^"]+)"', odm).group(1).decode()
    stamp = re.search(rb'CreationDateTime="([^"]+)"', odm).group(1).decode()
    created = datetime.fromisoformat(stamp)
    expected = python_odm(release, tables(with_arm=False), file_oid=file_oid, created=created)
    if odm != expected:
        at = next(i for i, (a, b) in enumerate(zip(odm, expected, strict=False)) if a != b)
        pytest.fail(f"{odm[at - 300 : at + 100]!r}\n!=\n{expected[at - 300 : at + 100]!r}")
    text = odm.decode()
    assert 'Value="=free' not in text
    assert 'Value="@SUM(1+1)"' in text  # the value itself, not the CSV's neutralised cell
    # XML escaping, as quoteattr does it: &, <, >, quote signs, line breaks and tabs.
    assert 'Value="-minus &amp; &lt;b&gt;"' in text
    assert "Value='a \"quoted\"&#13;&#10;term&#10;over lines'" in text
    assert 'Value="&#9;Tab\'s first"' in text
    assert 'Value="&#13;CR first, it\'s &quot;both&quot; &gt; 1"' in text
    assert 'Value="تب و لرز"' in text
    assert "Value=\"=HYPERLINK(&quot;x&quot;) &amp; 'y' &lt;z&gt;\"" in text


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_crlf_lines_ends_rows_with_crlf_and_keeps_line_feeds_inside_cells(size):
    text = b'a,b\n"x\ny",2\n"say ""hi""\n",3\n,\n'
    lines = copysql.CrlfLines()
    out = b"".join(lines.convert(text[i : i + size]) for i in range(0, len(text), size))
    assert out == b'a,b\r\n"x\ny",2\r\n"say ""hi""\n",3\r\n,\r\n'
    assert lines.lines == 4  # the header and three rows


def test_the_neutralising_sql_follows_the_python_rule(db):
    from django.db import connection

    values = ["=1", "+1", "-1", "@a", "\ta", "\ra", "'=a", "a=", "", "تب", " =a"]
    with connection.cursor() as cursor:
        for value in values:
            cursor.execute(
                f"SELECT {copysql.neutralized('v')} FROM (SELECT %s::text AS v) AS t",  # noqa: S608
                [value],
            )
            assert cursor.fetchone()[0] == neutralize(value), repr(value)


def test_on_the_demo_trial_every_record_level_csv_and_the_odm_are_the_python_writers(db, tmp_path):
    """The demo's CRFs (every table has rows: vital signs with their times, Murray and blood
    gases with their decimals, AEs, medications), bulk-made as the benchmark's trial is."""
    call_command("load_demo", "--participants", "40", "--bulk", stdout=io.StringIO())
    files = export(tmp_path)
    release = services.release_current(user=None)
    all_tables = tables(with_arm=False)
    filled = 0
    for table in all_tables:
        if table.code == PARTICIPANTS:
            continue
        assert files[table.filename] == python_csv(release, table), table.filename
        filled += files[table.filename].count(b"\r\n") > 1
    assert filled >= len(CRF_MODELS) - 2  # the demo fills (nearly) every table
    odm = files["odm.xml"]
    file_oid = re.search(rb'FileOID="([^"]+)"', odm).group(1).decode()
    stamp = re.search(rb'CreationDateTime="([^"]+)"', odm).group(1).decode()
    expected = python_odm(
        release, all_tables, file_oid=file_oid, created=datetime.fromisoformat(stamp)
    )
    assert odm == expected


# --- the statistical files: the CSVs read cell by cell before issue 24 (the reference) --------


def cell_by_cell_table(path, table: Table) -> pd.DataFrame:
    """statfiles.read_table before issue 24, as it was."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == [c.name for c in table.columns]
    data: dict[str, list] = {}
    for index, column in enumerate(table.columns):
        cells = [row[index] for row in body]
        if column.numeric:
            data[column.name] = [float(cell) if cell != "" else math.nan for cell in cells]
        else:
            data[column.name] = cells
    frame = pd.DataFrame(data, columns=header)
    for column in table.columns:
        frame[column.name] = frame[column.name].astype(float if column.numeric else object)
    return frame


def cell_by_cell_stata_frame(frame: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, dict]:
    """statfiles._stata_frame before issue 24, as it was."""
    frame = frame.copy()
    value_labels: dict[str, dict] = {}
    for column in table.columns:
        if not column.codes:
            continue
        if column.numeric:
            value_labels[column.name] = {
                int(v): t for v, t in statfiles.numeric_labels(column).items()
            }
            continue
        codes = statfiles.stata_codes(column)
        if not all(cell == "" or cell in codes for cell in frame[column.name]):
            continue
        frame[column.name] = [
            float(codes[cell]) if cell in codes else math.nan for cell in frame[column.name]
        ]
        frame[column.name] = frame[column.name].astype(float)
        value_labels[column.name] = {
            codes[value]: f"{value} = {text}" for value, text in column.codes
        }
    return frame, value_labels


def cell_by_cell_spss_labels(frame: pd.DataFrame, column) -> dict[str, str]:
    present = set(frame[column.name])
    return {value: text for value, text in column.codes if value in present}


_READERS = (
    (pyreadstat.read_dta, "stata", "dta"),
    (pyreadstat.read_sav, "spss", "sav"),
    (pyreadstat.read_xport, "sas", "xpt"),
)
# Everything ReadStat reads back but the files' creation and modification times.
_METADATA = (
    "column_names", "column_labels", "file_label", "file_encoding", "table_name",
    "number_rows", "number_columns", "variable_value_labels", "value_labels",
    "variable_to_label", "readstat_variable_types", "original_variable_types",
    "variable_storage_width", "variable_display_width", "variable_measure",
    "missing_ranges", "missing_user_values",
)  # fmt: skip


def assert_statistical_files_as_made_cell_by_cell(out, all_tables: list[Table], tmp_path):
    """The Stata, SPSS and SAS files of the export in `out` hold what the cell-by-cell reader
    gave (made again from the same CSVs in a copy of the folder), read back with ReadStat:
    every value and its type, every label, value label and missing value."""
    reference = tmp_path / "cell_by_cell"
    reference.mkdir()
    for table in all_tables:
        (reference / table.filename).write_bytes((out / table.filename).read_bytes())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(statfiles, "read_table", cell_by_cell_table)
        patch.setattr(statfiles, "_stata_frame", cell_by_cell_stata_frame)
        patch.setattr(statfiles, "spss_text_labels", cell_by_cell_spss_labels)
        statfiles.write_statistical_files(reference, all_tables)
    compared = 0
    for table in all_tables:
        for read, folder, extension in _READERS:
            new, new_meta = read(str(out / folder / f"{table.code}.{extension}"))
            old, old_meta = read(str(reference / folder / f"{table.code}.{extension}"))
            where = f"{folder}/{table.code}"
            pd.testing.assert_frame_equal(new, old, check_exact=True, obj=where)
            for name in _METADATA:
                assert getattr(new_meta, name) == getattr(old_meta, name), (where, name)
            compared += len(new) * len(new.columns)
    assert compared > 0
    for name in (statfiles.SAS_PROGRAM, statfiles.R_SCRIPT):
        assert (out / name).read_bytes() == (reference / name).read_bytes()


def test_the_statistical_files_hold_what_the_cell_by_cell_reader_gave(trial, tmp_path):
    out = tmp_path / "out"
    call_command("export_ipd", "--out", str(out))
    assert_statistical_files_as_made_cell_by_cell(out, tables(with_arm=False), tmp_path)


def test_on_the_demo_trial_the_statistical_files_are_the_cell_by_cell_readers(db, tmp_path):
    call_command("load_demo", "--participants", "40", "--bulk", stdout=io.StringIO())
    out = tmp_path / "out"
    call_command("export_ipd", "--out", str(out))
    assert_statistical_files_as_made_cell_by_cell(out, tables(with_arm=False), tmp_path)


def test_read_table_reads_every_cell_as_float_or_the_text_written(tmp_path):
    """pandas' reader against the cell-by-cell one on awkward cells: numbers that round badly
    with a less careful parser, text that pandas would take for missing ("NA", "null", "nan"),
    empty cells, quotes, line breaks, Persian text, a header-only file."""
    columns_ = (
        Column("export_id", "ID", TEXT),
        Column("code", "Code", TEXT, codes=(("NA", "not applicable"), ("b", "B"))),
        Column("value", "Value", FLOAT),
        Column("day", "Day", INTEGER),
        Column("note", "Note", TEXT),
    )
    table = Table("awkward", "Awkward", columns_, frozenset({"export_id"}))
    numbers = [
        "0.1", "0.30000000000000004", "2.2250738585072014e-308", "123456789.123456789", "-0.0",
        "1e5", "9007199254740993", "0.1000000000000000055511151231257827", "",
    ]  # fmt: skip
    texts = ["NA", "null", "nan", "", ' "quoted" ', "a\r\nb\nc", "تب و لرز", "'=1+1", "N/A"]
    rows = [
        [f"P{i}", "NA" if i % 2 else "", number, str(i - 3) if i % 3 else "", text]
        for i, (number, text) in enumerate(zip(numbers * 2, texts * 2, strict=True))
    ]
    path = tmp_path / "awkward.csv"
    for body in ([], rows):
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.name for c in columns_])
            writer.writerows(body)
        expected = cell_by_cell_table(path, table)
        frame = statfiles.read_table(path, table)
        pd.testing.assert_frame_equal(frame, expected, check_exact=True)
        assert [type(v) for v in frame["note"]] == [str] * len(body)
        assert list(frame["note"]) == [row[4] for row in body]
        stata, labels = statfiles._stata_frame(frame, table)
        expected_stata, expected_labels = cell_by_cell_stata_frame(expected, table)
        pd.testing.assert_frame_equal(stata, expected_stata, check_exact=True)
        assert labels == expected_labels
