"""`make bench`: the IPD export's rows per second against PostgreSQL's own `COPY ... TO STDOUT`
of the same rows in the same run, and the export's peak memory (RSS of `manage.py export_ipd` in
its own process) at 1,000 and at 10,000 participants: a streaming writer stays flat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from exports import services
from exports.columns import PARTICIPANTS, tables

from .conftest import LARGE, SMALL, subprocess_env

pytestmark = [pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[2]


def _export(tmp_path, name: str) -> tuple[int, float]:
    """(rows, seconds) of one export, in this process, into tmp_path/name."""
    run = services.export_run_start(user=None, via="bench")
    out = tmp_path / name
    out.mkdir()
    started = time.perf_counter()
    result = services.export_write(run=run, directory=out)
    seconds = time.perf_counter() - started
    return sum(result["row_counts"].values()), seconds


# Starts the command given (its output discarded) and waits for it; prints its exit code and its
# peak RSS (wait4: the larger of the command and its children, in kilobytes on Linux).
_PEAK_RSS = (
    "import os, subprocess, sys; "
    "process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(process.pid, 0); "
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)"
)


def _export_peak_rss_mib(tmp_path, name: str) -> float:
    """Peak resident memory of `manage.py export_ipd` run by itself (its own process), with the
    child it forks for the statistical files. Taken by a small Python process that starts the
    export and waits for it, not by this one: on Linux a process keeps, across exec, the peak of
    the memory it had before (a child of pytest starts with pytest's resident memory as its
    peak), so wait4 from here reported pytest's own size whenever it was the larger, and pytest
    grows as it loads the demo (issue 24, third step; docs/performance.md)."""
    export = [sys.executable, "manage.py", "export_ipd", "--out", str(tmp_path / name)]
    result = subprocess.run(  # noqa: S603 — our own manage.py, fixed arguments
        [sys.executable, "-c", _PEAK_RSS, *export],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    code, peak_kib = result.stdout.split()[-2:]
    assert int(code) == 0, result.stderr
    return int(peak_kib) / 1024  # Linux: kilobytes


def _copy_same_rows() -> tuple[int, float]:
    """The writer's own queries, each run as COPY (...) TO STDOUT: rows and seconds. Since
    issue 24 the record-level tables are COPY of their de-identifying query (the very statement
    the writer runs); the participants are the query the writer reads them with."""
    release = services.release_current(user=None)
    connection.ensure_connection()
    raw = connection.connection
    participants = services.participants_queryset(release, with_arm=False)
    sql, params = participants.query.sql_with_params()
    statements = [psycopg.ClientCursor(raw).mogrify(sql, params)]
    for table in tables(with_arm=False):
        if table.code != PARTICIPANTS:
            statements.append(services.record_statement(release, table)[1])
    rows = 0
    started = time.perf_counter()
    with raw.cursor() as cursor:
        for statement in statements:
            with cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    rows += bytes(block).count(b"\n")
    return rows, time.perf_counter() - started


def test_export_speed_against_copy_and_memory_at_1000_vs_10000(
    tmp_path, bench_trial, bench_db, bench_record
):
    bench_trial(SMALL)
    small_rss = _export_peak_rss_mib(tmp_path, "small")

    bench_trial(LARGE)
    large_rss = _export_peak_rss_mib(tmp_path, "large")
    services.pseudonyms_ensure(release=services.release_current(user=None))
    rows, seconds = _export(tmp_path, "timed")
    copy_rows, copy_seconds = _copy_same_rows()

    export_rate, copy_rate = rows / seconds, copy_rows / copy_seconds
    print(
        f"\nIPD export, {LARGE:,} participants: {rows:,} rows in {seconds:.1f} s = "
        f"{export_rate:,.0f} rows/s (CSV + ODM + dictionary + README)"
        f"\nPostgreSQL COPY TO STDOUT of the same rows: {copy_rows:,} rows in "
        f"{copy_seconds:.2f} s = {copy_rate:,.0f} rows/s"
        f"\npeak RSS of export_ipd: {small_rss:.0f} MiB at {SMALL:,}, "
        f"{large_rss:.0f} MiB at {LARGE:,} participants"
    )
    assert copy_rows == rows
    bench_record(
        measure=f"IPD export at {LARGE:,} participants (rows/s)",
        ours=export_rate,
        baseline=copy_rate,
        unit="rows/s",
        ratio=export_rate / copy_rate,
        goal=">= 0.5 of COPY",
        met=export_rate / copy_rate >= 0.5,
        details={
            "rows": rows,
            "seconds": seconds,
            "copy_seconds": copy_seconds,
            "load_average": os.getloadavg(),
        },
    )
    bench_record(
        measure=f"IPD export peak RSS, {LARGE:,} vs {SMALL:,} participants",
        ours=large_rss,
        baseline=small_rss,
        unit="MiB",
        ratio=large_rss / small_rss,
        goal="growth <= 50 MB",
        met=(large_rss - small_rss) * 1.048576 <= 50,
        details={"growth_mib": large_rss - small_rss},
    )
