"""Export the de-identified individual participant data into a directory (SPEC §8).

    python manage.py export_ipd --out DIR [--new-release] [--user USERNAME]

Writes one CSV per CRF (<crf>.csv), participants.csv, adverse_events.csv, data_dictionary.csv,
odm.xml and README.txt (with the SHA-256 of every file). The export is logged like one started
from the sponsor page. A folder that cannot be used, or a --user who may not export, is refused
before anything is logged or written; an export that fails on the way is logged as failed, with
its reason, and leaves DIR as it was.
"""

from pathlib import Path

from django.core.management.base import CommandError

from exports import services
from exports.exceptions import ExportDirectoryError, ExportFailed
from kernel.management.base import TrialCommand
from kernel.models import User


class Command(TrialCommand):
    help = "Write the de-identified IPD export (CSV, dictionary, ODM 1.3.2, README) into DIR."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="directory to write into")
        parser.add_argument(
            "--new-release",
            action="store_true",
            help="start a new release: every participant gets a new export ID",
        )
        parser.add_argument(
            "--user", help="username to log the export under (a user allowed to export)"
        )

    def handle(self, *args, out, new_release: bool, user: str | None, **options):
        if not str(out).strip():
            raise CommandError("--out must name a folder, not an empty text")
        out = Path(out)
        account = None
        if user:
            account = User.objects.filter(username=user, is_active=True).first()
            if account is None or not account.has_perm("exports.add_exportrun"):
                raise CommandError(f"--user {user!r} is not an active user allowed to export")
        try:
            run = services.export_to_directory(directory=out, user=account, new_release=new_release)
        except ExportDirectoryError as error:
            raise CommandError(f"--out {out}: {error}") from error
        except ExportFailed as error:
            raise CommandError(
                f"export {error.run_id} failed (logged as failed): {error}"
            ) from error
        for name, count in run.row_counts.items():
            self.stdout.write(f"{name:<24} {count:>8} rows")
        self.stdout.write(
            self.style.SUCCESS(
                f"Export {run.pk} (release {run.release.number}, "
                f"{'with' if run.unblinded else 'without'} the arm) written to {out}"
            )
        )
