"""Print, store or import a randomization list (the statistician's and external checks' contract).

python manage.py randomization_list --phase I|II --stratum A|B --seed N
    prints the list as CSV (sequence,block,block_size,arm,envelope_code); writes nothing
... --seed N --save --user USERNAME
    stores it (refused if the list of that phase and stratum already holds assignments)
python manage.py randomization_list --phase I --stratum A --import FILE [--sha256 HEX] --user U
    validates and stores an externally generated list; errors name the line; with --sha256 the
    file must have that SHA-256 (as `sha256sum FILE` prints it)

The arguments go through the same forms as the statistician's pages (seed 1 to 2^62; a UTF-8
file of at most 1 MB). A bad argument is refused with one line naming it, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from django import forms
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import CommandError

from kernel.management.base import TrialCommand
from kernel.trial import TRIAL
from randomization import blocks, services
from randomization.exceptions import InvalidList, RandomizationError
from randomization.forms import ListGenerateForm, ListImportForm

# The forms' fields, as the command line names them.
ARGUMENTS = {"phase": "--phase", "stratum": "--stratum", "seed": "--seed", "file": "--import"}
# A list with more faults than this is shown in part: the line stays readable.
FAULTS_SHOWN = 10


class Command(TrialCommand):
    help = "Print (default), --save or --import the randomization list of one phase and stratum."

    def add_arguments(self, parser):
        parser.add_argument("--phase", required=True, choices=[p.code for p in TRIAL.phases])
        parser.add_argument("--stratum", required=True, choices=[s.code for s in TRIAL.strata])
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--seed", type=int, help="the recorded integer seed (1 to 2^62)")
        source.add_argument("--import", dest="import_path", help="CSV file to validate and store")
        parser.add_argument(
            "--sha256",
            metavar="HEX",
            help="with --import: the SHA-256 the file must have (as `sha256sum FILE` prints it)",
        )
        parser.add_argument("--save", action="store_true", help="store the generated list")
        parser.add_argument("--user", help="username of the statistician storing the list")

    def handle(self, *args, phase, stratum, seed, import_path, sha256, save, user, **options):
        if sha256 is not None:
            if import_path is None:
                raise CommandError("--sha256 goes with --import (the SHA-256 of the file)")
            if not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
                raise CommandError(f"--sha256 must be 64 hexadecimal digits, not {sha256!r}")
        if import_path is None:
            _valid(ListGenerateForm({"phase": phase, "stratum": stratum, "seed": seed}))
            if not save:
                rows = services.list_generate_rows(phase=phase, stratum=stratum, seed=seed)
                self.stdout.write(blocks.to_csv(rows), ending="")
                return
        statistician = self._statistician(user)
        try:
            if import_path is not None:
                text = _list_text(Path(import_path), phase=phase, stratum=stratum, sha256=sha256)
                rlist = services.list_import(
                    phase=phase, stratum=stratum, csv_text=text, user=statistician
                )
            else:
                rlist = services.list_generate(
                    phase=phase, stratum=stratum, seed=seed, user=statistician
                )
        except InvalidList as error:
            what = f"--import {import_path}" if import_path else f"the list of --seed {seed}"
            faults = error.errors or [str(error)]
            shown = "; ".join(faults[:FAULTS_SHOWN])
            more = len(faults) - FAULTS_SHOWN
            raise CommandError(
                f"{what} was not stored: {shown}" + (f"; and {more} more" if more > 0 else "")
            ) from error
        except RandomizationError as error:
            raise CommandError(str(error)) from error
        self.stderr.write(
            f"Stored phase {phase}, stratum {stratum}: {rlist.slots.count()} slots, "
            f"checksum {rlist.checksum}"
        )

    def _statistician(self, username):
        if not username:
            raise CommandError("--user is required to store a list (who made it is recorded)")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None or not user.has_perm("randomization.add_randomizationlist"):
            raise CommandError(f"{username!r} is not an active user allowed to store lists")
        return user


def _valid(form: forms.Form) -> dict:
    """The form's cleaned data, or its first error as one line naming the argument."""
    if form.is_valid():
        return form.cleaned_data
    field, messages = next(iter(form.errors.items()))
    argument = ARGUMENTS.get(field, field)
    value = form.data.get(field, form.files.get(field))
    shown = getattr(value, "path", value)
    raise CommandError(f"{argument} {shown}: {messages[0]}")


class _ListFile(UploadedFile):
    """A file on disk handed to the web import's form as if it were uploaded."""

    def __init__(self, handle, path: Path):
        size = os.fstat(handle.fileno()).st_size
        super().__init__(handle, name=path.name, content_type="text/csv", size=size)
        self.path = path


def _list_text(path: Path, *, phase: str, stratum: str, sha256: str | None) -> str:
    """The text of the list file, checked as the web import checks an upload (empty, larger
    than 1 MB, not UTF-8) and, with --sha256, against the SHA-256 it must have."""
    where = f"--import {path}"
    try:
        if path.is_dir():
            raise CommandError(f"{where}: is a folder, not a file")
        if not path.exists():
            raise CommandError(f"{where}: no such file")
        if not path.is_file():
            raise CommandError(f"{where}: not a regular file")
        handle = path.open("rb")
    except OSError as error:
        raise CommandError(f"{where}: cannot be read ({error.strerror})") from error
    with handle:
        if sha256 is not None:
            actual = hashlib.file_digest(handle, "sha256").hexdigest()
            if actual != sha256.lower():
                raise CommandError(
                    f"{where}: its SHA-256 is {actual}, not the expected {sha256.lower()}"
                )
            handle.seek(0)
        form = ListImportForm(
            {"phase": phase, "stratum": stratum}, {"file": _ListFile(handle, path)}
        )
        return _valid(form)["file"]
