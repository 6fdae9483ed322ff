"""Export the de-identified individual participant data into a directory (SPEC §8).

    python manage.py export_ipd --out DIR [--new-release] [--user USERNAME]

Writes one CSV per CRF (<crf>.csv), participants.csv, adverse_events.csv, data_dictionary.csv,
odm.xml and README.txt (with the SHA-256 of every file). The export is logged like one started
from the sponsor page.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exports import services
from trialedc.models import User


class Command(BaseCommand):
    help = "Write the de-identified IPD export (CSV, dictionary, ODM 1.3.2, README) into DIR."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="directory to write into")
        parser.add_argument(
            "--new-release",
            action="store_true",
            help="start a new release: every participant gets a new export ID",
        )
        parser.add_argument("--user", help="username to log the export under")

    def handle(self, *args, out: Path, new_release: bool, user: str | None, **options):
        account = None
        if user:
            account = User.objects.filter(username=user).first()
            if account is None:
                raise CommandError(f"no user {user!r}")
        run = services.export_to_directory(directory=out, user=account, new_release=new_release)
        for name, count in run.row_counts.items():
            self.stdout.write(f"{name:<24} {count:>8} rows")
        self.stdout.write(
            self.style.SUCCESS(
                f"Export {run.pk} (release {run.release.number}, "
                f"{'with' if run.unblinded else 'without'} the arm) written to {out}"
            )
        )
