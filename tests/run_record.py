"""The record of the last whole test run, for `make bench`'s test-suite wall-time row.

`make test` sets TRIALEDC_TEST_RUN_RECORD (var/last-test-run.json) when it runs the whole suite
(no PYTEST_ARGS); tests/conftest.py then writes, at the end of the session, when it started and
ended, the outcome counts, the xdist workers, the machine's cores and the commit it ran on.
tests/bench/test_suite_bench.py reads it back: a record of another commit, or none, is "not
measured" (a wall time is only a claim about the code it ran). Helpers on a shared machine never
run the whole suite to fill it (docs/performance.md)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV = "TRIALEDC_TEST_RUN_RECORD"
DEFAULT = ROOT / "var" / "last-test-run.json"
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def head_commit(root: Path = ROOT) -> str | None:
    """The checkout's commit, or None outside a git checkout."""
    try:
        out = subprocess.run(  # noqa: S603 — fixed arguments
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def tree_dirty(root: Path = ROOT) -> bool:
    """Whether tracked files differ from the commit (the run then tested more than it)."""
    try:
        out = subprocess.run(  # noqa: S603 — fixed arguments
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.stdout.strip())


def write(
    path: Path,
    *,
    started: float,
    ended: float,
    counts: dict[str, int],
    workers: int | str | None,
    exitstatus: int,
    commit: str | None,
    dirty: bool,
) -> dict[str, Any]:
    record = {
        "started": started,
        "ended": ended,
        "wall_seconds": round(ended - started, 1),
        **{outcome: int(counts.get(outcome, 0)) for outcome in OUTCOMES},
        "workers": workers,
        "cpus": os.cpu_count(),
        "exitstatus": int(exitstatus),
        "commit": commit,
        "dirty": dirty,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    return record


def current(path: Path, commit: str | None) -> dict[str, Any] | None:
    """The record if it is of `commit` (the checkout's now); None if absent, unreadable, or of
    an older (or any other) commit."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or commit is None or record.get("commit") != commit:
        return None
    return record
