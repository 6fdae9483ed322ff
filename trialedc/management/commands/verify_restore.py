"""Verify a restored trial database and media folder against the backup they came from.

    python manage.py verify_restore BACKUP_DIR [--database NAME] [--media-root DIR]

Checks, and prints PASS or FAIL for each: the backup's files match their SHA-256; the migrations
applied equal the backup's and none of this code's is unapplied; every table's row count equals
the manifest's; the append-only audit and security-log triggers are present and refuse an UPDATE;
every randomization list passes the randomization verifier with the backup's checksum; the media
files match their SHA-256. Exits with status 1 if any check fails. Changes nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kernel.exceptions import BackupError
from trialedc import backup

# Problems listed under a failed check; the rest are counted.
SHOWN_PROBLEMS = 10


def write_report(command: BaseCommand, report: backup.Report) -> None:
    """Print the report; raise CommandError (exit status 1) if a check failed."""
    command.stdout.write(
        f"Verification of {report.backup} against database {report.database!r} and media "
        f"folder {report.media_root}:"
    )
    for check in report.checks:
        if check.passed:
            mark = command.style.SUCCESS("PASS")
        else:
            mark = command.style.ERROR("FAIL")
        command.stdout.write(f"  {mark}  {check.name}: {check.summary}")
        for problem in check.problems[:SHOWN_PROBLEMS]:
            command.stdout.write(f"          - {problem}")
        if len(check.problems) > SHOWN_PROBLEMS:
            command.stdout.write(f"          … and {len(check.problems) - SHOWN_PROBLEMS} more")
    total = len(report.checks)
    if not report.passed:
        names = ", ".join(check.name for check in report.failed)
        raise CommandError(f"verification FAILED: {len(report.failed)} of {total} checks ({names})")
    command.stdout.write(command.style.SUCCESS(f"Verification PASSED: {total} of {total} checks."))


class Command(BaseCommand):
    help = "Compare a restored database and media folder with a backup's manifest (PASS/FAIL)."

    def add_arguments(self, parser):
        parser.add_argument(
            "backup_dir",
            metavar="BACKUP_DIR",
            type=Path,
            help="the backup folder (trialedc-backup-…)",
        )
        parser.add_argument(
            "--database",
            help="database to verify, on the server of DATABASE_URL (default: DATABASE_URL's)",
        )
        parser.add_argument(
            "--media-root",
            type=Path,
            help="media folder to verify (default: the object store if set, else MEDIA_ROOT)",
        )

    def handle(
        self, *args, backup_dir: Path, database: str | None, media_root: Path | None, **opts
    ):
        try:
            report = backup.restore_verify(
                path=backup_dir, database=database, media_root=media_root
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        write_report(self, report)
