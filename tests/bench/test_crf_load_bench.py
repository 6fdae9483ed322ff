"""`make bench`: saving a CRF under load. 50 simulated coordinators (locust, headless, loopback,
45 s) save blood-gas CRFs through the real form view, then 50 post the same values to a bare
view that writes the same row; one gunicorn server serves both (tests/bench/server_settings.py).
Goal: the real save's 95th percentile within twice the bare one's."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kernel.models import User
from outcomes.models import BloodGas
from trialedc.management.commands.load_demo import DEMO_PASSWORD

from .conftest import LARGE, subprocess_env

pytestmark = [pytest.mark.bench]

USERS, SECONDS = 50, 45
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pool(path: Path) -> None:
    """The blood-gas CRFs of site 01 (the demo coordinator's site), with their values."""
    rows = (
        BloodGas.objects.filter(visit__participant__site__code="01")
        .select_related("visit__participant")
        .order_by("pk")[:5000]
    )
    path.write_text(
        json.dumps(
            [
                {
                    "path": f"/outcomes/participants/{c.visit.participant.study_id}/visits/"
                    f"{c.visit.code}/blood_gas/",
                    "visit_id": c.visit_id,
                    "pao2": str(c.pao2_mmhg),
                    "fio2": str(c.fio2),
                    "assessed_on": c.assessed_on.isoformat(),
                }
                for c in rows
            ]
        )
    )


def _locust(user_class: str, *, host: str, env: dict, out: Path) -> dict:
    """Run one headless locust session; the 'crf save' row of its statistics."""
    prefix = out / user_class
    subprocess.run(  # noqa: S603 — our own locustfile, fixed arguments
        [
            str(BIN / "locust"),
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "--users",
            str(USERS),
            "--spawn-rate",
            str(USERS),
            "--run-time",
            f"{SECONDS}s",
            "--host",
            host,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            user_class,
        ],
        env=env,
        check=False,  # locust exits 1 when a request failed; the counts say how many
        stdout=subprocess.DEVNULL,
        timeout=SECONDS + 120,
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        row = next(r for r in csv.DictReader(stats) if r["Name"] == "crf save")
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "median_ms": float(row["50%"]),
        "p95_ms": float(row["95%"]),
        "rps": float(row["Requests/s"]),
    }


def test_crf_save_under_50_coordinators_against_a_bare_insert(
    tmp_path, bench_trial, bench_db, bench_record
):
    bench_trial(LARGE)
    pool = tmp_path / "pool.json"
    _pool(pool)
    coordinator = User.objects.get(username="coordinator")
    port = _free_port()
    env = {
        **subprocess_env(),
        "DJANGO_SETTINGS_MODULE": "tests.bench.server_settings",
        "BENCH_POOL": str(pool),
        "BENCH_PASSWORD": DEMO_PASSWORD,
        "BENCH_USER_ID": str(coordinator.pk),
    }
    server = subprocess.Popen(  # noqa: S603 — the project's WSGI app on loopback
        [
            str(BIN / "gunicorn"),
            "trialedc.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    host = f"http://127.0.0.1:{port}"
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"{host}/login/", timeout=2)  # noqa: S310 — loopback
                break
            except OSError:
                time.sleep(0.5)
        form = _locust("FormCoordinator", host=host, env=env, out=tmp_path)
        bare = _locust("BareClient", host=host, env=env, out=tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\nCRF save, {USERS} users, {SECONDS} s: form {form}\nbare {bare}")
    assert form["requests"] > 0
    assert bare["requests"] > 0
    assert form["failures"] == 0, form
    assert bare["failures"] == 0, bare
    bench_record(
        measure=f"CRF save p95, {USERS} coordinators, gunicorn (ms)",
        ours=form["p95_ms"],
        baseline=bare["p95_ms"],
        unit="ms",
        ratio=form["p95_ms"] / bare["p95_ms"],
        goal="<= 2x bare",
        met=form["p95_ms"] <= 2 * bare["p95_ms"],
        details={"form": form, "bare": bare, "users": USERS, "seconds": SECONDS},
    )
