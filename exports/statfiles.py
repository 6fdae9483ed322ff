"""The IPD tables as Stata, SPSS and SAS files, and an R script, beside the CSVs (issue 22).

Each file is made from the CSV already written (the one that the README's checksums cover), so
the four packages read the same cells: same de-identification, same arm rule, same rows in the
same order. Variable labels, units and value labels come from the data dictionary (`Column`).
pyreadstat (ReadStat) writes the files; nothing here writes a binary format by hand.

- **Stata** (`stata/<table>.dta`, format 118 = Stata 14+): numbers as doubles with missing as
  `.`; coded numbers (yes/no, the ordinal scale) carry value labels. Stata cannot label a string
  variable, so a coded text column (sex, status, visit, phase…) is stored as the integer
  1, 2, … of its code's place in the data dictionary's allowed values, with the value label
  "code = label"; an empty cell is missing (`.`). A column holding a value outside its codes
  stays text, unlabelled, so that no cell is lost.
- **SPSS** (`spss/<table>.sav`): numbers and strings as in the CSV, value labels on both.
- **SAS** (`sas/<table>.xpt`, transport version 8 when a name is longer than 8 characters, else
  version 5, readable by every SAS): the values as in the CSV, with `sas/formats.sas`, a program
  that reads every file (`%xpt2loc` for version 8, `LIBNAME XPORT` for version 5) and applies
  formats (PROC FORMAT from the allowed values) and labels.
- **R** (`r/read_ipd.R`): reads the CSVs with their column types, makes factors of the coded
  columns with their levels and labels, and sets each column's "label" attribute.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

from .columns import Column, Table

STATA, SPSS, SAS, R = "stata", "spss", "sas", "r"
FOLDERS = (STATA, SPSS, SAS, R)
SAS_PROGRAM = f"{SAS}/formats.sas"
R_SCRIPT = f"{R}/read_ipd.R"
STATA_VERSION = 14  # writes format 118: Unicode, names up to 32 characters


# The longest variable label each format keeps (Stata 14+: 80; SAS transport: 40 in version 5,
# 256 in version 8; SPSS: no limit that matters here). A longer label is cut with "…"; the data
# dictionary and the SPSS file keep it whole.
STATA_LABEL_LIMIT = 80
SAS_LABEL_LIMITS = {5: 40, 8: 256}


def label_of(column: Column) -> str:
    """The variable label: the data dictionary's label, with its unit."""
    return f"{column.label} ({column.unit})" if column.unit else column.label


def clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Rows parsed at a time by `read_table`: the parser's own copy of the cells (every text cell a
# string of its own until shared) is this many rows, not the whole table.
READ_ROWS = 8192


def read_table(path: Path, table: Table) -> pd.DataFrame:
    """A CSV of the export as a DataFrame: numeric columns as floats (an empty cell is NaN),
    text columns as the strings written (an empty cell is ""), object dtype. Read by pandas'
    C parser (issue 24), whose numbers since pandas 3 are correctly rounded: every number is the
    value `float(cell)` gives (tests/test_exports_statfiles.py checks it).

    The table is whole in memory while its files are written (pyreadstat writes a file from one
    DataFrame), so it is held compactly: each numeric column one float array, each text column
    one object array in which a text is one string object however often it occurs (export IDs,
    sites, visits and codes repeat). The CSV is parsed READ_ROWS rows at a time, so the parser's
    cells, one string object each, never exist for the whole table at once (issue 24, third
    step: the peak of the statistical files' process no longer grows with the trial by twice
    the table)."""
    with open(path, newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    names = [c.name for c in table.columns]
    if header != names:
        raise ValueError(f"{path.name}: columns {header} differ from the dictionary's {names}")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    # Per text column, each distinct text once: the object every later cell of it points to.
    shared: dict[str, dict[str, str]] = {c.name: {} for c in table.columns if not c.numeric}
    with pd.read_csv(
        path,
        encoding="utf-8",
        dtype={c.name: float if c.numeric else object for c in table.columns},
        # Only an empty numeric cell is missing: "NA", "null", "" … in a text column are text.
        keep_default_na=False,
        na_values={c.name: [""] for c in table.columns if c.numeric},
        skip_blank_lines=False,
        engine="c",
        chunksize=READ_ROWS,
    ) as chunks:
        for chunk in chunks:
            for column in table.columns:
                cells = chunk[column.name]
                if column.numeric:
                    parts[column.name].append(cells.to_numpy(dtype=float, copy=True))
                    continue
                codes, distinct = pd.factorize(cells, use_na_sentinel=False)
                known = shared[column.name]
                objects = np.empty(len(distinct), dtype=object)
                objects[:] = [known.setdefault(text, text) for text in distinct]
                parts[column.name].append(objects[codes])
    columns = {}
    for column in table.columns:  # a column's pieces joined, then let go, one column at a time
        dtype = float if column.numeric else object
        pieces = parts.pop(column.name)
        joined = np.concatenate(pieces) if pieces else np.empty(0, dtype=dtype)
        del pieces
        # dtype given: pandas 3 would otherwise infer its string dtype for the text, a copy.
        columns[column.name] = pd.Series(joined, dtype=dtype, copy=False)
    return pd.DataFrame(columns, columns=names, copy=False)


def numeric_labels(column: Column) -> dict[float, str]:
    return {float(value): text for value, text in column.codes}


def spss_text_labels(frame: pd.DataFrame, column: Column) -> dict[str, str]:
    """The value labels of a coded text column for SPSS: those of the codes present. SPSS sizes
    a string variable to its longest value, and ReadStat refuses a label for a longer code
    (µkat/L on a column holding only U/L); every code stays in the data dictionary."""
    present = set(frame[column.name].unique())
    return {value: text for value, text in column.codes if value in present}


def stata_codes(column: Column) -> dict[str, int]:
    """A coded text column's code -> the integer Stata stores (its place, from 1)."""
    return {value: place for place, (value, _text) in enumerate(column.codes, start=1)}


def stata_encoded(frame: pd.DataFrame, column: Column) -> bool:
    """Whether Stata stores the coded text column as labelled integers: only if every cell is
    one of its codes (or empty). A cell outside them (a correction typed by hand, a value
    neutralised for spreadsheets) keeps the column as text, unlabelled, rather than lose it."""
    return bool(frame[column.name].isin(["", *stata_codes(column)]).all())


def _stata_frame(frame: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, dict]:
    frame = frame.copy(deep=False)  # the columns recoded below are replaced, not changed
    value_labels: dict[str, dict] = {}
    for column in table.columns:
        if not column.codes:
            continue
        if column.numeric:
            value_labels[column.name] = {int(v): t for v, t in numeric_labels(column).items()}
            continue
        if not stata_encoded(frame, column):
            continue
        codes = stata_codes(column)
        # "" (and nothing else: stata_encoded) is not a code: missing.
        frame[column.name] = frame[column.name].map(codes).astype(float)
        value_labels[column.name] = {
            codes[value]: f"{value} = {text}" for value, text in column.codes
        }
    return frame, value_labels


def _sas_version(table: Table) -> int:
    return 8 if any(len(c.name) > 8 for c in table.columns) or len(table.code) > 8 else 5


def write_statistical_files(directory: Path, all_tables: Iterable[Table]) -> list[str]:
    """Write every table's .dta, .sav and .xpt, the SAS program and the R script into
    sub-folders of `directory`, from the CSVs there. Returns the files' paths relative to it."""
    all_tables = list(all_tables)
    make_folders(directory)
    written: list[str] = []
    for table in all_tables:
        written += write_table_files(directory, table)
    return written + write_programs(directory, all_tables)


def make_folders(directory: Path) -> None:
    for folder in FOLDERS:
        (directory / folder).mkdir(exist_ok=True)


def table_files(table: Table) -> list[str]:
    """The paths (relative to the export's folder) of the files `write_table_files` writes."""
    return [f"{folder}/{table.code}.{ext}" for folder, ext in _FILES]


def write_table_files(directory: Path, table: Table) -> list[str]:
    """Write one table's .dta, .sav and .xpt from its CSV in `directory` (`make_folders` first).
    Returns the files' paths relative to `directory`."""
    frame = read_table(directory / table.filename, table)
    labels = {c.name: label_of(c) for c in table.columns}
    stata_frame, stata_labels = _stata_frame(frame, table)
    pyreadstat.write_dta(
        stata_frame,
        str(directory / STATA / f"{table.code}.dta"),
        file_label=table.label[:80],
        column_labels={n: clipped(t, STATA_LABEL_LIMIT) for n, t in labels.items()},
        variable_value_labels=stata_labels,
        version=STATA_VERSION,
    )
    del stata_frame
    pyreadstat.write_sav(
        frame,
        str(directory / SPSS / f"{table.code}.sav"),
        file_label=table.label,
        column_labels=labels,
        variable_value_labels={
            c.name: (numeric_labels(c) if c.numeric else spss_text_labels(frame, c))
            for c in table.columns
            if c.codes
        },
    )
    pyreadstat.write_xport(
        frame,
        str(directory / SAS / f"{table.code}.xpt"),
        file_label=table.label[:40],
        column_labels={
            n: clipped(t, SAS_LABEL_LIMITS[_sas_version(table)]) for n, t in labels.items()
        },
        table_name=table.code[:32] if _sas_version(table) == 8 else table.code[:8],
        file_format_version=_sas_version(table),
    )
    return table_files(table)


def write_programs(directory: Path, all_tables: list[Table]) -> list[str]:
    """Write the SAS program and the R script; returns their paths relative to `directory`."""
    (directory / SAS_PROGRAM).write_text(sas_program(all_tables), encoding="utf-8")
    (directory / R_SCRIPT).write_text(r_script(all_tables), encoding="utf-8")
    return [SAS_PROGRAM, R_SCRIPT]


_FILES = ((STATA, "dta"), (SPSS, "sav"), (SAS, "xpt"))


# -- the SAS program ----------------------------------------------------------------------------


def _sas_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sas_format_names(all_tables: list[Table]) -> dict[tuple[str, str], str]:
    """(table, column) -> the format applied to it; one format per distinct set of codes."""
    names: dict[tuple[str, str], str] = {}
    seen: dict[tuple, str] = {}
    for table in all_tables:
        for column in table.columns:
            if not column.codes:
                continue
            key = (column.numeric, column.codes)
            if key not in seen:
                seen[key] = f"{'' if column.numeric else '$'}EDC{len(seen) + 1}F"
            names[(table.code, column.name)] = seen[key]
    return names


def sas_program(all_tables: list[Table]) -> str:
    formats = sas_format_names(all_tables)
    lines = [
        "/* Trial EDC: reads the IPD transport files and applies formats and labels.",
        "   Run from the export's sas/ folder (or set the path below). Version 8 transport",
        "   files (names longer than 8 characters) are read with %xpt2loc (SAS 9.4M3 or newer);",
        "   version 5 files with LIBNAME XPORT. */",
        "%let here = .;  /* the folder of the .xpt files: change it if you run from elsewhere */",
        "",
        "proc format;",
    ]
    done = set()
    for table in all_tables:
        for column in table.columns:
            name = formats.get((table.code, column.name))
            if name is None or name in done:
                continue
            done.add(name)
            pairs = " ".join(
                f"{value if column.numeric else _sas_quote(value)}={_sas_quote(text)}"
                for value, text in column.codes
            )
            lines.append(f"  value {name} {pairs};")
    lines += ["run;", ""]
    for table in all_tables:
        member = table.code if _sas_version(table) == 8 else table.code[:8]
        if _sas_version(table) == 8:
            lines.append(
                f"%xpt2loc(libref=work, memlist={member}, filespec='&here/{table.code}.xpt');"
            )
        else:
            lines += [
                f"libname xpt xport '&here/{table.code}.xpt';",
                "proc copy in=xpt out=work; run;",
                "libname xpt clear;",
            ]
        lines.append(f"data work.{member};")
        lines.append(f"  set work.{member};")
        for column in table.columns:
            lines.append(f"  label {column.name} = {_sas_quote(label_of(column)[:256])};")
            name = formats.get((table.code, column.name))
            if name is not None:
                lines.append(f"  format {column.name} {name}.;")
        lines += ["run;", ""]
    return "\n".join(lines)


# -- the R script -------------------------------------------------------------------------------


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _r_vector(values: Iterable[str]) -> str:
    return "c(" + ", ".join(values) + ")"


def r_script(all_tables: list[Table]) -> str:
    lines = [
        "# Trial EDC: reads the IPD CSV files with their types, factor levels and labels.",
        "# Base R only. Run with the export's folder as the working directory, or call",
        '# read_ipd("path/to/the/export"); it returns a list of data frames, one per file.',
        "",
        'read_ipd <- function(dir = ".") {',
        "  ipd <- list()",
    ]
    for table in all_tables:
        classes = _r_vector(
            f"{c.name} = {_r_string('numeric' if c.numeric else 'character')}"
            for c in table.columns
        )
        lines += [
            f"  # {table.label}",
            f"  d <- read.csv(file.path(dir, {_r_string(table.filename)}),",
            f"                colClasses = {classes},",
            '                na.strings = "", encoding = "UTF-8", check.names = FALSE)',
        ]
        for column in table.columns:
            if column.codes:
                levels = _r_vector(
                    (value if column.numeric else _r_string(value)) for value, _t in column.codes
                )
                labels = _r_vector(_r_string(text) for _v, text in column.codes)
                lines.append(
                    f"  d[[{_r_string(column.name)}]] <- factor(d[[{_r_string(column.name)}]], "
                    f"levels = {levels}, labels = {labels})"
                )
            lines.append(
                f'  attr(d[[{_r_string(column.name)}]], "label") <- {_r_string(label_of(column))}'
            )
        lines.append(f"  ipd[[{_r_string(table.code)}]] <- d")
    lines += ["  ipd", "}", ""]
    return "\n".join(lines)


def names_are_valid(all_tables: list[Table]) -> list[str]:
    """Variable names every package accepts: letters, digits and _, a letter first, 32 at
    most (Stata's and SAS's limit). Returns the names that are not."""
    pattern = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
    return [
        f"{t.code}.{c.name}" for t in all_tables for c in t.columns if not pattern.fullmatch(c.name)
    ]
