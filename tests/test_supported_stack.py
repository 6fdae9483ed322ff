"""The stack a newcomer gets is the stack CI proves and production runs (decision 0004)."""

import re
import sys
import tomllib
from pathlib import Path

import django
import pytest

ROOT = Path(__file__).resolve().parent.parent


def local_apps() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("*/apps.py"))


def test_this_run_is_on_a_supported_python_and_django():
    assert (3, 11) <= sys.version_info[:2] <= (3, 13)
    assert django.VERSION[:2] == (5, 2)


def test_the_pins_say_django_5_2_lts_and_python_3_11_to_3_13():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    django_pin = next(d for d in project["dependencies"] if d.startswith("django["))
    assert django_pin.endswith(">=5.2,<6.0")


def test_ci_runs_make_test_as_a_newcomer_does():
    """No variable of CI's may choose the Python or the database that the first run uses."""
    ci = (ROOT / ".ci" / "run").read_text()
    before_first_make_test = ci.split("\nmake test\n")[0]
    for variable in ("PYTHON", "DATABASE_URL", "REDIS_URL", "VENV"):
        assert not re.search(rf"^\s*export {variable}=", before_first_make_test, re.M), variable
        assert re.search(rf"^unset .*\b{variable}\b", before_first_make_test, re.M), variable
    assert "pyenv" not in before_first_make_test
    assert "\nmake lint\n" in ci
    assert 'make test PYTHON="$other" VENV=.venv-3.13' in ci


def test_the_makefile_uses_the_machines_python3_by_default():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PYTHON \?= python3$", makefile, re.M)


def test_the_production_image_copies_every_app_and_uses_a_tested_python():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[13]-slim", dockerfile, re.M)
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.M))
    missing = [app for app in local_apps() if app not in copied]
    assert not missing, f"Dockerfile does not copy {missing}: the image would not start"


@pytest.mark.parametrize("app", local_apps())
def test_every_app_is_a_package_setuptools_installs(app):
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    assert f"{app}*" in include
