"""`make run`'s wrapper (trialedc/devdb.py) on Ctrl-C: the developer's command is let finish its
own shutdown, so `make run`'s shell stops its background jobs (the periodic jobs' loop), and the
wrapper outlives the shell's parting SIGTERM to its group, so its exit hook (which stops the
embedded PostgreSQL) runs."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEVDB = Path(__file__).resolve().parent.parent / "trialedc" / "devdb.py"

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
