"""The record `make test` leaves for `make bench`'s wall-time row (tests/run_record.py): written
by the controlling process at the end of the session, read back only for the commit it ran on."""

import json
from types import SimpleNamespace

from . import conftest, run_record


def test_a_record_counts_only_for_the_commit_it_ran_on(tmp_path):
    path = tmp_path / "var" / "last-test-run.json"
    assert run_record.current(path, "abc") is None  # absent
    run_record.write(
        path,
        started=100.0,
        ended=460.0,
        counts={"passed": 10, "failed": 1},
        workers=2,
        exitstatus=1,
        commit="abc",
        dirty=False,
    )
    record = run_record.current(path, "abc")
    assert record is not None
    assert record["wall_seconds"] == 360.0
    assert (record["passed"], record["failed"], record["error"]) == (10, 1, 0)
    assert record["workers"] == 2
    assert run_record.current(path, "def") is None  # an older (or other) commit
    assert run_record.current(path, None) is None
    path.write_text("{not json")
    assert run_record.current(path, "abc") is None


def _session(tmp_path, *, worker: bool):
    stats = {"passed": [object()] * 3, "failed": [object()], "skipped": [object()] * 2}
    reporter = SimpleNamespace(stats=stats)
    config = SimpleNamespace(
        pluginmanager=SimpleNamespace(get_plugin=lambda name: reporter),
        option=SimpleNamespace(numprocesses=2),
        rootpath=tmp_path,
    )
    if worker:
        config.workerinput = {}
    return SimpleNamespace(config=config)


def test_the_session_hook_writes_the_record_only_when_asked_and_not_in_a_worker(
    tmp_path, monkeypatch
):
    monkeypatch.delenv(run_record.ENV, raising=False)
    conftest.pytest_sessionfinish(_session(tmp_path, worker=False), 0)
    assert not (tmp_path / "var").exists()  # not asked (a partial run)
    monkeypatch.setenv(run_record.ENV, "var/last-test-run.json")
    conftest.pytest_sessionfinish(_session(tmp_path, worker=True), 0)
    assert not (tmp_path / "var").exists()  # an xdist worker leaves it to the controller
    conftest.pytest_sessionfinish(_session(tmp_path, worker=False), 1)
    record = json.loads((tmp_path / "var" / "last-test-run.json").read_text())
    assert (record["passed"], record["failed"], record["skipped"]) == (3, 1, 2)
    assert record["workers"] == 2
    assert record["exitstatus"] == 1
    assert record["commit"] == run_record.head_commit()
    assert record["wall_seconds"] >= 0
