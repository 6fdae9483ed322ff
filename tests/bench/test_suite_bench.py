"""`make bench`: the whole test suite's wall time (goal: `make test` within 10 minutes on 2
cores). The bench does not run the suite (20-odd minutes on a shared machine): it reports the
record the last `make test` of this commit left (tests/run_record.py), and "not measured" when
there is none, or it is of another commit."""

from __future__ import annotations

import pytest

from tests import run_record

pytestmark = [pytest.mark.bench]

GOAL_MINUTES = 10


def test_the_whole_suite_wall_time_from_the_last_make_test(bench_record):
    commit = run_record.head_commit()
    record = run_record.current(run_record.DEFAULT, commit)
    measure = "make test wall time, whole suite (min)"
    goal = f"<= {GOAL_MINUTES} min on 2 cores"
    if record is None:
        bench_record(
            measure=measure,
            ours=float("nan"),
            baseline=float(GOAL_MINUTES),
            unit="min",
            ratio=float("nan"),
            goal=goal,
            met=False,
            measured=False,
            details={
                "why": f"no {run_record.DEFAULT.name} of commit {commit} "
                "(run `make test` on this commit first)"
            },
        )
        return
    minutes = record["wall_seconds"] / 60
    bench_record(
        measure=measure,
        ours=minutes,
        baseline=float(GOAL_MINUTES),
        unit="min",
        ratio=minutes / GOAL_MINUTES,
        goal=goal,
        # A run with failures is no claim about the suite's time; nor one on more cores.
        met=minutes <= GOAL_MINUTES
        and record["failed"] == 0
        and record["error"] == 0
        and (record.get("cpus") or 0) <= 2,
        details=record,
    )
