"""Benchmarks run only when asked for (`make bench`, i.e. `-m bench`): a plain `pytest` skips
them, so a developer's full run does not spend minutes building 10,000 participants.

Each benchmark measures our figure and its baseline (the physical floor) in the same run and
records one row with `bench_record`; at the end `make bench` prints them as one table and writes
them as JSON under bench/results/ (docs/performance.md). Claims of speed are ratios measured
here, never timed assertions in the unit suite.
"""

from __future__ import annotations

import gc
import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command

# The large trial, and the small one memory and query counts are compared with (a tenth).
LARGE = int(os.environ.get("BENCH_PARTICIPANTS", "10000"))
SMALL = LARGE // 10
RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"

# The order the benchmarks run in: randomization on an empty database first (it flushes after
# itself), then the measures that read the large trial, from 1,000 to 10,000 participants.
ORDER = (
    "test_randomization_bench.py",
    f"test_dashboards_bench.py::test_the_dashboard_at[{SMALL}]",
    "test_exports_bench.py",
    "test_dashboards_bench.py",
    "test_crf_load_bench.py",
)


@pytest.fixture(scope="session", autouse=True)
def _the_interpreters_own_garbage_collector():
    """A benchmark measures the product as it runs: with Python's own garbage collector, not
    the test processes' (tests/conftest.py), which would spare the Python side of a benchmark
    (the randomization service, the export) collections that production makes."""
    from ..conftest import gc_as_python_has_it

    gc_as_python_has_it()
    assert gc.get_freeze_count() == 0


def pytest_collection_modifyitems(config, items):
    if "bench" in (config.option.markexpr or "") and "not bench" not in config.option.markexpr:

        def rank(item) -> int:
            name = item.nodeid.split("tests/bench/")[-1]
            return next((i for i, key in enumerate(ORDER) if name.startswith(key)), len(ORDER))

        items.sort(key=rank)
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "bench" in item.keywords:
            item.add_marker(skip)


@dataclass
class BenchRow:
    measure: str
    ours: float
    baseline: float
    unit: str
    ratio: float  # ours relative to the baseline, in the direction the goal is stated
    goal: str
    met: bool | None  # None: no goal to meet (a figure recorded)
    details: dict
    measured: bool = True  # False: "not measured" in the table (details say why)


_ROWS: list[BenchRow] = []


@pytest.fixture(scope="session")
def bench_record():
    """bench_record(measure=..., ours=..., baseline=..., unit=..., ratio=..., goal=..., met=...)"""

    def record(**fields) -> BenchRow:
        row = BenchRow(**{"details": {}, **fields})
        _ROWS.append(row)
        return row

    return record


@pytest.fixture(scope="session")
def django_db_setup(
    request,
    django_test_environment,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
    django_db_modify_db_settings,
):
    """pytest-django's set-up, plus the default database whatever the marks: pytest-django sets up
    only the databases its `django_db`-marked tests name, and the benchmarks that read the
    committed trial (`bench_trial`, `bench_db`) carry no such mark (they must not run inside a
    test transaction), so one of them run alone found no test database."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, serialized = _get_databases_for_setup(request.session.items)
    keepdb = django_db_keepdb and not django_db_createdb
    with django_db_blocker.unblock():
        config = setup_databases(
            verbosity=request.config.option.verbose,
            interactive=False,
            aliases=aliases | {"default"},
            serialized_aliases=serialized,
            keepdb=keepdb,
        )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(config, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session")
def bench_trial(django_db_setup, django_db_blocker):
    """bench_trial(n): the test database holds the demo trial with exactly n participants,
    made by `load_demo --participants n --bulk` (flushed first when it held another size).
    Committed, not rolled back: the gunicorn server of the CRF benchmark reads it too."""
    from participants.models import Participant

    def trial(participants: int) -> None:
        with django_db_blocker.unblock():
            if Participant.objects.count() == participants:
                return
            call_command("flush", interactive=False, verbosity=0)
            call_command("load_demo", participants=participants, bulk=True, stdout=_Null())

    return trial


@pytest.fixture
def bench_db(django_db_setup, django_db_blocker):
    """Database access in autocommit, outside any test transaction (the data stay)."""
    with django_db_blocker.unblock():
        yield


def subprocess_env() -> dict[str, str]:
    """The environment for a subprocess (gunicorn, manage.py) on the test database."""
    from urllib.parse import quote

    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    url = f"postgres://{auth}@{quote(s['HOST'] or '', safe='')}:{s['PORT'] or 5432}/{s['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass


def _cell(value: float) -> str:
    return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _ROWS:
        return
    header = ("measure", "ours", "baseline", "ratio", "goal", "met?")
    lines = [
        (
            row.measure,
            f"{_cell(row.ours)} {row.unit}",
            f"{_cell(row.baseline)} {row.unit}",
            f"{row.ratio:.2f}",
            row.goal,
            "n/a" if row.met is None else "yes" if row.met else "NO",
        )
        if row.measured
        else (row.measure, "not measured", "-", "-", row.goal, "not measured")
        for row in _ROWS
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines, strict=False)]
    terminalreporter.section("benchmarks (ratios measured in this run)")
    for line in (header, tuple("-" * w for w in widths), *lines):
        terminalreporter.write_line(
            "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))
        )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"bench-{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "when": stamp,
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                },
                "rows": [asdict(row) for row in _ROWS],
            },
            indent=2,
        )
    )
    terminalreporter.write_line(f"written to {path.relative_to(RESULTS_DIR.parents[1])}")
