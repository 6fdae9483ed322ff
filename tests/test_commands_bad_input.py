"""Bad input at the command line: one clear line naming the argument, never a traceback, a
non-zero exit, and nothing written to the database (every table's row count) or to disk.

Each case goes through `call_command`; the last tests run `manage.py` itself, in a process of
its own on the test database, and read what a user reads: stderr and the exit status.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from exports.models import ExportRun
from kernel.roles import Role
from randomization.models import RandomizationList

from .factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HEADER = "sequence,block,block_size,arm,envelope_code\n"
PHASE_I_LIST = HEADER + (
    "1,1,4,placebo,KQ7T3A\n2,1,4,exosome,KQ7T3C\n3,1,4,exosome,KQ7T3D\n"
    "4,1,4,placebo,KQ7T3E\n5,2,2,exosome,KQ7T3F\n6,2,2,placebo,KQ7T3H\n"
)


def row_counts() -> dict[str, int]:
    """Rows of every table of the project and of the libraries it uses."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def refused(command: str, *args: str, **options) -> str:
    """The CommandError message of a refused command, after checking nothing was written."""
    before = row_counts()
    with pytest.raises(CommandError) as error:
        call_command(command, *args, stdout=io.StringIO(), stderr=io.StringIO(), **options)
    assert row_counts() == before
    message = str(error.value)
    assert "\n" not in message
    assert "Traceback" not in message
    return message


@pytest.fixture
def statistician(roles):
    return UserFactory(username="stat", role=Role.STATISTICIAN)


def import_list(path, *more) -> str:
    return refused(
        "randomization_list", "--phase", "I", "--stratum", "A", "--import", str(path),
        "--user", "stat", *more,
    )  # fmt: skip


# -- randomization_list --import ------------------------------------------------------------


def test_import_of_a_missing_file_is_refused(statistician, tmp_path):
    message = import_list(tmp_path / "nowhere.csv")
    assert message == f"--import {tmp_path / 'nowhere.csv'}: no such file"


def test_import_of_a_folder_is_refused(statistician, tmp_path):
    assert import_list(tmp_path) == f"--import {tmp_path}: is a folder, not a file"


def test_import_of_a_binary_file_is_refused(statistician, tmp_path):
    image = tmp_path / "list.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert import_list(image) == f"--import {image}: The file is not UTF-8 text."


def test_import_of_a_file_of_nul_bytes_is_refused_by_its_header(statistician, tmp_path):
    zeros = tmp_path / "zeros.csv"
    zeros.write_bytes(bytes(64))
    message = import_list(zeros)
    assert message.startswith(f"--import {zeros} was not stored: line 1: the header must be")


def test_import_of_a_latin_1_file_is_refused(statistician, tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes((PHASE_I_LIST + "# préparé\n").encode("latin-1"))
    assert import_list(latin) == f"--import {latin}: The file is not UTF-8 text."


def test_import_of_an_empty_file_is_refused(statistician, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert import_list(empty) == f"--import {empty}: The submitted file is empty."


def test_import_of_a_file_larger_than_the_web_limit_is_refused(statistician, tmp_path):
    large = tmp_path / "large.csv"
    large.write_text(PHASE_I_LIST + "\n" * 1_000_000)
    assert "larger than 1 MB" in import_list(large)


def test_import_of_a_csv_with_the_wrong_columns_names_the_header(statistician, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("seq,arm\n1,placebo\n")
    assert import_list(wrong) == (
        f"--import {wrong} was not stored: line 1: the header must be exactly "
        "sequence,block,block_size,arm,envelope_code"
    )


def test_import_with_many_faults_shows_the_first_ten_on_one_line(statistician, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "".join(f"{n},1,2,exosome\n" for n in range(1, 16)))
    message = import_list(bad)
    assert message.count("columns expected") == 10
    assert message.endswith("; and 5 more")


def test_import_of_a_file_that_does_not_match_its_sha256_is_refused(statistician, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(PHASE_I_LIST)
    actual = hashlib.sha256(good.read_bytes()).hexdigest()
    expected = "0" * 64
    assert import_list(good, "--sha256", expected) == (
        f"--import {good}: its SHA-256 is {actual}, not the expected {expected}"
    )
    # With the right one (in capitals too) it is stored.
    call_command(
        "randomization_list", "--phase", "I", "--stratum", "A", "--import", str(good),
        "--user", "stat", "--sha256", actual.upper(), stderr=io.StringIO(),
    )  # fmt: skip
    assert RandomizationList.objects.get().slots.count() == 6


def test_a_sha256_that_is_not_one_is_refused(statistician, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(PHASE_I_LIST)
    message = import_list(good, "--sha256", "abc")
    assert message == "--sha256 must be 64 hexadecimal digits, not 'abc'"


def test_a_sha256_without_import_is_refused(statistician):
    message = refused(
        "randomization_list", "--phase", "I", "--stratum", "A", "--seed", "4", "--save",
        "--user", "stat", "--sha256", "0" * 64,
    )  # fmt: skip
    assert message.startswith("--sha256 goes with --import")


def test_an_import_without_user_is_refused_before_the_file_is_read(roles, tmp_path):
    message = refused(
        "randomization_list", "--phase", "I", "--stratum", "A", "--import", str(tmp_path)
    )
    assert message.startswith("--user is required")


# -- randomization_list --seed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "limit"),
    [("0", "greater than or equal to 1"), ("-5", "greater than or equal to 1"),
     (str(2**62 + 1), "less than or equal to")],
)  # fmt: skip
def test_a_seed_outside_the_web_form_limits_is_refused(statistician, seed, limit):
    for more in ((), ("--save", "--user", "stat")):
        message = refused(
            "randomization_list", "--phase", "I", "--stratum", "A", "--seed", seed, *more
        )
        assert message.startswith(f"--seed {seed}: Ensure this value is {limit}")


def test_a_seed_that_is_no_number_is_refused_by_the_parser():
    message = refused("randomization_list", "--phase", "I", "--stratum", "A", "--seed", "x")
    assert "argument --seed: invalid int value: 'x'" in message


def test_an_unknown_phase_is_refused_by_the_parser():
    message = refused("randomization_list", "--phase", "III", "--stratum", "A", "--seed", "1")
    assert "argument --phase: invalid choice: 'III'" in message


# -- export_ipd --out ------------------------------------------------------------------------


@pytest.fixture
def trial(site01, roles):
    from .exports_data import build_trial

    return build_trial(site01)


def export_refused(out, *more) -> str:
    return refused("export_ipd", "--out", str(out), *more)


def test_export_into_a_file_is_refused(trial, tmp_path):
    target = tmp_path / "export.txt"
    target.write_text("kept")
    assert export_refused(target) == f"--out {target}: {target} is a file, not a folder."
    assert target.read_text() == "kept"
    assert files_under(tmp_path) == ["export.txt"]


def test_export_under_a_file_is_refused(trial, tmp_path):
    (tmp_path / "notes").write_text("kept")
    out = tmp_path / "notes" / "ipd" / "2026"
    assert export_refused(out) == (
        f"--out {out}: {tmp_path / 'notes'} is a file: no folder can be made in it."
    )
    assert files_under(tmp_path) == ["notes"]


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder this process may not write in: one without write permission or, for root
    (whom permissions do not stop), /sys, where no folder can be made."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    try:
        probe = tempfile.mkdtemp(dir="/sys")
    except OSError:
        yield Path("/sys")
        return
    os.rmdir(probe)
    pytest.skip("no read-only folder on this machine")


def test_export_into_a_read_only_folder_is_refused(trial, read_only_folder):
    before = files_under(read_only_folder) if read_only_folder != Path("/sys") else None
    out = read_only_folder / "ipd"
    message = export_refused(out)
    assert message.startswith(f"--out {out}: {read_only_folder} cannot be written: ")
    assert message.split(": ")[-1] in ("Permission denied.", "Operation not permitted.")
    assert not out.exists()
    if before is not None:
        assert files_under(read_only_folder) == before


def test_an_existing_read_only_out_folder_is_refused(trial, read_only_folder):
    message = export_refused(read_only_folder)
    assert message.startswith(f"--out {read_only_folder}: {read_only_folder} cannot be written")


def test_an_empty_out_is_refused(trial):
    assert export_refused("") == "--out must name a folder, not an empty text"


def test_export_under_an_unknown_or_unauthorised_user_is_refused(trial, tmp_path, make_user):
    assert export_refused(tmp_path / "a", "--user", "nobody") == (
        "--user 'nobody' is not an active user allowed to export"
    )
    coordinator = make_user(Role.COORDINATOR)
    assert "not an active user allowed" in export_refused(
        tmp_path / "b", "--user", coordinator.username
    )
    assert files_under(tmp_path) == []
    assert not ExportRun.objects.exists()


# -- load_demo, run_schedules -----------------------------------------------------------------


@pytest.mark.parametrize("participants", ["0", "-3"])
def test_load_demo_refuses_no_or_negative_participants(participants):
    message = refused("load_demo", "--participants", participants)
    assert message == f"--participants must be at least 1, not {participants}"


def test_load_demo_refuses_participants_given_as_an_option_too():
    assert refused("load_demo", participants=0) == "--participants must be at least 1, not 0"


def test_load_demo_refuses_a_number_that_is_none():
    assert "argument --participants: invalid int value: 'ten'" in refused(
        "load_demo", "--participants", "ten"
    )


def test_load_demo_refuses_an_empty_password():
    assert refused("load_demo", "--password", "  ") == "--password must not be empty"


def test_run_schedules_refuses_a_negative_loop():
    message = refused("run_schedules", "--loop", "-1")
    assert message == "--loop must be 0 (run once) or a number of seconds, not -1"


# -- the real command line -------------------------------------------------------------------


def the_tests_database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{quote(s['HOST'] or '', safe='')}:{s['PORT'] or 5432}/{s['NAME']}"


def manage(*args: str, database_url: str = "") -> subprocess.CompletedProcess:
    """`python manage.py ARGS` in its own process, on the test database, logging at the
    production level (INFO: a start-up banner would be a second line)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url or the_tests_database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_LOG_LEVEL": "INFO",
    }
    return subprocess.run(  # noqa: S603 — our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def one_line_refusal(*args: str, status: int = 1, database_url: str = "") -> str:
    before = row_counts()
    result = manage(*args, database_url=database_url)
    assert row_counts() == before
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.django_db(transaction=True)
def test_the_command_line_import_of_a_missing_file_is_one_line(roles, tmp_path):
    UserFactory(username="stat", role=Role.STATISTICIAN)
    missing = tmp_path / "list.csv"
    line = one_line_refusal(
        "randomization_list", "--phase", "I", "--stratum", "A", "--import", str(missing),
        "--user", "stat",
    )  # fmt: skip
    assert line == f"CommandError: --import {missing}: no such file"


@pytest.mark.django_db(transaction=True)
def test_the_command_line_import_of_a_binary_file_is_one_line(roles, tmp_path):
    UserFactory(username="stat", role=Role.STATISTICIAN)
    binary = tmp_path / "list.xlsx"
    binary.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\xff\xfe" + bytes(range(128, 256)))
    line = one_line_refusal(
        "randomization_list", "--phase", "I", "--stratum", "A", "--import", str(binary),
        "--user", "stat",
    )  # fmt: skip
    assert line == f"CommandError: --import {binary}: The file is not UTF-8 text."


@pytest.mark.django_db(transaction=True)
def test_the_command_line_export_under_a_file_is_one_line_and_writes_nothing(site01, tmp_path):
    (tmp_path / "notes").write_text("kept")
    out = tmp_path / "notes" / "ipd"
    line = one_line_refusal("export_ipd", "--out", str(out))
    notes = tmp_path / "notes"
    assert line == f"CommandError: --out {out}: {notes} is a file: no folder can be made in it."
    assert files_under(tmp_path) == ["notes"]


@pytest.mark.django_db(transaction=True)
def test_the_command_line_load_demo_of_no_participants_is_one_line():
    line = one_line_refusal("load_demo", "--participants", "0")
    assert line == "CommandError: --participants must be at least 1, not 0"


@pytest.mark.django_db(transaction=True)
def test_a_parser_error_is_one_line_with_the_usage_status():
    line = one_line_refusal(
        "randomization_list", "--phase", "III", "--stratum", "A", "--seed", "1", status=2
    )
    assert line.startswith("manage.py randomization_list: error: argument --phase: invalid choice")
    assert line.endswith("(see --help)")
    line = one_line_refusal("data_dictionary", "--bogus", status=2)
    assert line == "manage.py data_dictionary: error: unrecognized arguments: --bogus (see --help)"


@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_be_reached_is_one_line():
    line = one_line_refusal(
        "load_demo", "--participants", "4", database_url="postgres://edc@127.0.0.1:9/trialedc"
    )
    assert line.startswith("CommandError: database error: connection failed: ")
    assert "127.0.0.1" in line
