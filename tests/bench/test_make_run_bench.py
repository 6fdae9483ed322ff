"""`make bench`: `make run` to the first page on a fresh clone, the pip cache warm.

The committed checkout is cloned to a temporary folder, `make run` starts there with a free port
and no DATABASE_URL (so its own embedded PostgreSQL under the clone's var/pg, private to this
run), and the clock stops when GET /login/ answers 200. The baseline, from the same run, is the
installation alone (`make install`: the virtual environment and `pip install -e .[dev]`, until
`migrate` starts): what a fresh clone cannot avoid. Then the run is stopped as a developer stops
it, Ctrl-C to its process group (the embedded server stops with it), and the benchmark checks
that nothing of it is left running."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import run_record

pytestmark = [pytest.mark.bench]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1500  # seconds: a cold machine installs for minutes
# A line of `make run`'s output that says the installation is done and the database work began.
MIGRATE_STARTS = "Operations to perform"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 — loopback
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _postmaster_pid(clone: Path) -> int | None:
    pid_file = clone / "var" / "pg" / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _stop(process: subprocess.Popen, clone: Path) -> dict:
    """Ctrl-C to the process group, as in a terminal; the embedded PostgreSQL stopped fast if
    it outlived it (pg_ctl puts it in a session of its own); SIGKILL only as a last resort."""
    how = "SIGINT to the process group"
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=90)
    except subprocess.TimeoutExpired:
        how = "SIGKILL to the process group (SIGINT did not end it in 90 s)"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    for _ in range(60):  # the rest of the group (the embedded server's stop runs at exit)
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    postgres = _postmaster_pid(clone)
    left = postgres is not None and _alive(postgres)
    if left:
        assert postgres is not None
        os.kill(postgres, signal.SIGINT)  # PostgreSQL's fast shutdown
        for _ in range(60):
            if not _alive(postgres):
                break
            time.sleep(0.5)
    try:  # anything else of the group still there (it should not be)
        os.killpg(process.pid, signal.SIGKILL)
        stragglers = True
    except ProcessLookupError:
        stragglers = False
    return {
        "stopped_by": how,
        "embedded_postgres_outlived_make_run": left,
        "embedded_postgres_running_after_stop": postgres is not None and _alive(postgres),
        "process_group_left_after_stop": stragglers,
    }


def test_make_run_to_the_first_page_on_a_fresh_clone(tmp_path, bench_record):
    commit = run_record.head_commit()
    assert commit, "the benchmark clones the committed checkout: run it in a git checkout"
    # Not under pytest's own temporary folder (mode 0700): run as root, the embedded server
    # runs as a user of its own, who must reach its binaries to stop it (a first run left its
    # stop to the fallback below: pg_ctl "Permission denied").
    home = Path(tempfile.mkdtemp(prefix="trialedc-make-run-"))
    home.chmod(0o755)
    try:
        _make_run(home / "clone", commit, tmp_path, bench_record)
    finally:
        shutil.rmtree(home, ignore_errors=True)  # the clone and its virtual environment (1 GB)


def _make_run(clone: Path, commit: str, tmp_path: Path, bench_record) -> None:
    subprocess.run(  # noqa: S603 — fixed arguments
        ["git", "clone", "--quiet", str(ROOT), str(clone)],  # noqa: S607
        check=True,
        timeout=300,
    )
    subprocess.run(  # noqa: S603
        ["git", "-C", str(clone), "checkout", "--quiet", commit],  # noqa: S607
        check=True,
        timeout=60,
    )
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # A newcomer's shell: no database, broker or settings of this test run.
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")
        and not key.startswith(("PYTEST", "DJANGO_", "BENCH_"))
    }
    env["PYTHONUNBUFFERED"] = "1"  # each line as it is written, for the install's time
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603
        ["make", "run", "HOST=127.0.0.1", f"PORT={port}"],  # noqa: S607
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, stopped as one
    )

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append((time.monotonic() - started, line.rstrip()))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first_page = None
    try:
        while time.monotonic() - started < TIMEOUT and process.poll() is None:
            if _answers_200(f"http://127.0.0.1:{port}/login/"):
                first_page = time.monotonic() - started
                break
            time.sleep(0.5)
    finally:
        stopped = _stop(process, clone)
        reader.join(timeout=10)
    (tmp_path / "make-run.log").write_text("\n".join(f"{t:8.1f}  {line}" for t, line in lines))
    tail = "\n".join(line for _, line in lines[-30:])
    assert first_page is not None, f"no 200 from /login/ (exit {process.returncode}):\n{tail}"
    assert not stopped["embedded_postgres_running_after_stop"], stopped
    installed = next((t for t, line in lines if MIGRATE_STARTS in line), None)
    assert installed is not None, tail
    print(f"\nmake run: first page after {first_page:.1f} s, installed after {installed:.1f} s")
    bench_record(
        measure="make run to first page, fresh clone, pip cache warm (s)",
        ours=first_page,
        baseline=installed,
        unit="s",
        ratio=first_page / installed,
        goal="recorded (no goal set); baseline: the install alone",
        met=None,
        details={
            "first_page_seconds": round(first_page, 1),
            "install_seconds": round(installed, 1),
            "after_install_seconds": round(first_page - installed, 1),
            "commit": commit,
            "load_average_after": os.getloadavg(),
            **stopped,
        },
    )
