"""The record-level CSVs written by PostgreSQL's COPY of the de-identifying query (issue 24)
are the bytes the Python writer made before it (commit 96834d2), kept below as the reference:
formulas neutralised, empty cells, decimals with their places, dates as study days (before
Day 0 too, and a date-time near midnight at the site), times as HH:MM, Persian text, quotes and
line breaks inside a cell. The ODM, now made from those files, is compared with the ODM the
Python writer made from its own rows."""

from __future__ import annotations

import csv
import heapq
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F

from exports import copysql, services
from exports.columns import (
    ADVERSE_EVENTS,
    CONCOMITANT_MEDICATIONS,
    PARTICIPANTS,
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
    odm = OdmWriter(out, tables=all_tables, file_oid=file_oid, created=created)
    odm.start()
    for _key, code, row in heapq.merge(*streams, key=lambda item: item[0]):
        odm.row(code, row)
    odm.finish()
    return out.getvalue()


# --- the data: the export tests' trial, with awkward values ----------------------------------

# (coded term, system organ class) of the AEs, in their order; the last AE is not coded yet.
AWKWARD_TERMS = [
    ("@SUM(1+1)", "-minus"),
    ('a "quoted"\r\nterm\nover lines', "\tTab first"),
    ("تب و لرز", "\rCR first"),  # Persian: fever and chills
    ("=free text of the reporter", "+98 not a number"),
]


@pytest.fixture
def trial(site01, roles):
    participants = build_trial(site01)
    Baseline.objects.filter(visit__participant=participants[0]).update(
        respiratory_support='=HYPERLINK("x")', weight_kg=Decimal("70.0")
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
    assert "'\tTab first" in aes
    assert "'-minus" in aes
    assert "free text of the reporter" not in aes
    baseline = files["baseline.csv"].decode()
    assert '\'=HYPERLINK(""x"")' in baseline
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
    assert 'Value="=free' not in odm.decode()
    assert 'Value="@SUM(1+1)"' in odm.decode()  # the value itself, not the CSV's neutralised cell


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
