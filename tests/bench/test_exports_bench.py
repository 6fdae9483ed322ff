"""Benchmark of the IPD export (`make bench`): rows per second against PostgreSQL's own
`COPY ... TO STDOUT` of the same rows in the same run, and peak memory at 1,000 vs 10,000
participants (flat memory: the ratio stays near 1, far from 10)."""

from __future__ import annotations

import time
import tracemalloc

import psycopg
import pytest
from django.db import connection

from exports import services
from exports.columns import ADVERSE_EVENTS, PARTICIPANTS, tables
from trialedc.roles import Role

from ..factories import UserFactory
from .synthetic import bulk_trial

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SMALL, LARGE = 1_000, 10_000


def _export(tmp_path, name: str, *, trace: bool) -> tuple[int, float, int]:
    """(rows, seconds, peak bytes traced) of one export into tmp_path/name."""
    run = services.export_run_start(user=None, via="bench")
    out = tmp_path / name
    out.mkdir()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = services.export_write(run=run, directory=out)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return sum(result["row_counts"].values()), seconds, peak


def _copy_same_rows() -> tuple[int, float]:
    """The writer's own queries, each run as COPY (...) TO STDOUT: rows and seconds."""
    release = services.release_current(user=None)
    querysets = []
    for table in tables(with_arm=False):
        if table.code == PARTICIPANTS:
            querysets.append(services.participants_queryset(release, with_arm=False))
        elif table.code == ADVERSE_EVENTS:
            querysets.append(services.ae_queryset(release, table))
        else:
            querysets.append(services.crf_queryset(release, table))
    connection.ensure_connection()
    raw = connection.connection
    statements = []
    for queryset in querysets:
        sql, params = queryset.query.sql_with_params()
        statements.append(psycopg.ClientCursor(raw).mogrify(sql, params))
    rows = 0
    started = time.perf_counter()
    with raw.cursor() as cursor:
        for statement in statements:
            with cursor.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
                for block in copy:
                    rows += bytes(block).count(b"\n")
    return rows, time.perf_counter() - started


def test_export_speed_against_copy_and_memory_at_1000_vs_10000(tmp_path, roles, site01):
    user = UserFactory(username="bench", role=Role.COORDINATOR)
    bulk_trial(SMALL, user=user)
    services.pseudonyms_ensure(release=services.release_current(user=None))
    _, _, small_peak = _export(tmp_path, "small", trace=True)

    bulk_trial(LARGE, user=user)
    services.pseudonyms_ensure(release=services.release_current(user=None))
    _, _, large_peak = _export(tmp_path, "large", trace=True)
    rows, seconds, _ = _export(tmp_path, "timed", trace=False)
    copy_rows, copy_seconds = _copy_same_rows()

    export_rate, copy_rate = rows / seconds, copy_rows / copy_seconds
    print(
        f"\nIPD export, {LARGE:,} participants: {rows:,} rows in {seconds:.1f} s = "
        f"{export_rate:,.0f} rows/s (CSV + ODM + dictionary + README)"
        f"\nPostgreSQL COPY TO STDOUT of the same rows: {copy_rows:,} rows in "
        f"{copy_seconds:.2f} s = {copy_rate:,.0f} rows/s"
        f"\nspeed ratio COPY / export: {copy_rate / export_rate:.1f}"
        f"\npeak memory (tracemalloc): {small_peak / 2**20:.1f} MiB at {SMALL:,}, "
        f"{large_peak / 2**20:.1f} MiB at {LARGE:,} participants"
        f"\nmemory ratio {LARGE:,} / {SMALL:,}: {large_peak / small_peak:.2f}"
    )
    assert copy_rows == rows
    # Flat memory: ten times the participants must not cost anywhere near ten times the memory.
    assert large_peak < 2 * small_peak
