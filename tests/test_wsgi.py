"""The web server's entry point (trialedc/wsgi.py, decision 0023): the web processes switch
threads every millisecond unless told otherwise. Run in a child process each: importing the
module sets the interpreter's switch interval of the process that imports it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRINT = "import sys, trialedc.wsgi; print(sys.getswitchinterval())"


def _interval_after_import(**environ) -> float:
    env = {
        **{k: v for k, v in os.environ.items() if k != "WEB_THREAD_SWITCH_INTERVAL_SECONDS"},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        **environ,
    }
    done = subprocess.run(  # noqa: S603 — this interpreter, a fixed program
        [sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.split()[-1])


def test_the_web_server_switches_threads_every_millisecond_by_default():
    assert _interval_after_import() == pytest.approx(0.001)


def test_the_switch_interval_is_configurable_and_empty_keeps_pythons_default():
    assert _interval_after_import(WEB_THREAD_SWITCH_INTERVAL_SECONDS="0.002") == pytest.approx(
        0.002
    )
    assert _interval_after_import(WEB_THREAD_SWITCH_INTERVAL_SECONDS="") == pytest.approx(0.005)
