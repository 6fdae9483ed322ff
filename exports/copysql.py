"""The CSV tables written by PostgreSQL itself: `COPY (<the de-identifying query>) TO STDOUT`.

The record-level tables (one per CRF, the adverse events, the medications) are most of an
export's rows. Each is one query whose columns are already the exported cells, so that
PostgreSQL's COPY writes the file (issue 24) and Python only moves its bytes to disk, in
chunks. The query does what the Python writer does cell by cell (services._value and
kernel.cells.neutralize), with the same rules:

- a date is its study day (the date minus Day 0); a date-time the study day of its date in the
  site's time zone; a participant without Day 0 has no study days;
- a time of day is the site's local `HH:MM`; yes/no is 1/0; an age above the top code is `90+`;
- an empty text is an empty cell; a text cell beginning with `=`, `+`, `-`, `@`, a tab or a
  carriage return gets a leading `'` (OWASP CSV injection); numbers are written as numbers;
- an AE's coded term and organ class are empty while the AE still needs coding.

The free-text fields are not in the query at all: its columns are the table's (`columns.py`).
Python's csv module ends its lines with CRLF and COPY with LF: `CrlfLines` turns COPY's row ends
into CRLF (never a line break inside a quoted cell), so the files are the bytes the Python
writer made (tests/test_exports_copy.py compares the two).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kernel.cells import FORMULA_STARTS
from kernel.trial import TRIAL

from .columns import AE_CODED_TERMS, Column, Table, age_label

# The query's own names for what every table needs besides its columns (see services).
EXPORT_ID, SITE, TZ, DAY0, VISIT, VISIT_DAY = (
    "x_export_id",
    "x_site",
    "x_tz",
    "x_day0",
    "x_visit",
    "x_visit_day",
)
NEEDS_CODING = "x_needs_coding"
# Flushes to the file every this many bytes (COPY sends one message per row).
CHUNK_BYTES = 1 << 16


def source_alias(index: int) -> str:
    """The inner query's name for the source field of the table's index-th column."""
    return f"x_c{index}"


def order_alias(index: int) -> str:
    return f"x_o{index}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_FORMULA_STARTS_SQL = ", ".join(
    _literal(c) if c.isprintable() else f"chr({ord(c)})" for c in FORMULA_STARTS
)


def neutralized(expression: str) -> str:
    """SQL for kernel.cells.neutralize of a text: a leading ' before a formula's first sign."""
    return (
        f"CASE WHEN left({expression}, 1) IN ({_FORMULA_STARTS_SQL}) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


def _text(reference: str) -> str:
    return neutralized(f"NULLIF({reference}::text, '')")


def cell_sql(column: Column, reference: str) -> str:
    """The SQL of one exported cell from its raw value `reference` (services._value)."""
    day0 = f"q.{DAY0}"
    if column.transform == "day":
        return f"({reference} - {day0})"
    if column.transform == "datetime_day":
        return f"(({reference} AT TIME ZONE q.{TZ})::date - {day0})"
    if column.transform == "time":
        return neutralized(f"to_char({reference}, 'HH24:MI')")
    if column.transform == "bool":
        return f"CASE WHEN {reference} THEN 1 WHEN NOT {reference} THEN 0 END"
    if column.transform == "age":
        top = TRIAL.export_age_top_code
        return neutralized(
            f"CASE WHEN {reference} > {int(top)} THEN {_literal(age_label())} "
            f"ELSE {reference}::text END"
        )
    if column.numeric:
        return reference
    return _text(reference)


KEYS = {"export_id": EXPORT_ID, "site": SITE, "visit": VISIT, "visit_day": VISIT_DAY}


def select_sql(
    table: Table,
    inner_sql: str,
    *,
    order: Iterable[str],
    numbered: str = "",
    coded_terms: bool = False,
) -> str:
    """The de-identifying query of `table` over the inner query `inner_sql` (which names its
    values as EXPORT_ID, SITE, …, and source_alias(i) for each column with a source), sorted by
    export ID byte-wise (collation "C", as the Python writer sorts) then by `order` (inner names).
    `numbered`: the column numbering the rows per participant in that order."""
    ordering = [f'q.{EXPORT_ID} COLLATE "C"', *(f"q.{name}" for name in order)]
    cells = []
    for index, column in enumerate(table.columns):
        if column.source:
            cell = cell_sql(column, f"q.{source_alias(index)}")
            if coded_terms and column.name in AE_CODED_TERMS:
                # Not coded yet: the term is the reporter's free text, so it is left out.
                cell = f"CASE WHEN q.{NEEDS_CODING} THEN NULL ELSE {cell} END"
        elif column.name == numbered:
            window = ", ".join(f"q.{name}" for name in order)
            cell = f'row_number() OVER (PARTITION BY q.{EXPORT_ID} COLLATE "C" ORDER BY {window})'
        elif column.name in KEYS:
            reference = f"q.{KEYS[column.name]}"
            cell = reference if column.numeric else _text(reference)
        else:  # pragma: no cover - a new key column must be named in KEYS
            raise ValueError(f"{table.code}.{column.name}: no SQL for this column")
        cells.append(f'{cell} AS "{column.name}"')
    # Every name here is the table's own (columns.py) or the inner query's, which Django
    # compiled with its parameters bound by psycopg: no value from a record is spliced in.
    return f"SELECT {', '.join(cells)} FROM ({inner_sql}) AS q ORDER BY {', '.join(ordering)}"  # noqa: S608


class CrlfLines:
    """COPY's CSV with the row ends of Python's csv module (CRLF). A line feed inside a quoted
    cell is part of the value and stays as it is; the state carries from one chunk to the next."""

    def __init__(self) -> None:
        self.quoted = False
        self.lines = 0  # row ends seen (the header's included)

    def convert(self, chunk: bytes) -> bytes:
        if not self.quoted and b'"' not in chunk:
            self.lines += chunk.count(b"\n")
            return chunk.replace(b"\n", b"\r\n")
        parts = chunk.split(b'"')
        # parts[i] is outside quotes when i is even and the chunk began outside quotes.
        start = 1 if self.quoted else 0
        for i in range(start, len(parts), 2):
            self.lines += parts[i].count(b"\n")
            parts[i] = parts[i].replace(b"\n", b"\r\n")
        if len(parts) % 2 == 0:  # an odd number of quote signs: the state flips
            self.quoted = not self.quoted
        return b'"'.join(parts)


def copy_to_file(connection, statement: str, path: Path) -> int:
    """Run `COPY (statement) TO STDOUT` (CSV with its header) on `connection` (a Django
    connection) and write its output to `path` in chunks, with CRLF row ends; returns the
    number of data rows."""
    connection.ensure_connection()
    lines = CrlfLines()
    with (
        connection.connection.cursor() as cursor,
        open(path, "wb") as handle,
        cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy,
    ):
        pending: list[bytes] = []
        size = 0
        for block in copy:
            pending.append(bytes(block))
            size += len(block)
            if size >= CHUNK_BYTES:
                handle.write(lines.convert(b"".join(pending)))
                pending, size = [], 0
        handle.write(lines.convert(b"".join(pending)))
    return lines.lines - 1
