"""Restore a backup made by `backup_trial` into a new or empty database, then verify it.

    python manage.py restore_trial BACKUP_DIR --database NAME [--media-root DIR] [--force]

The database NAME is on the server of DATABASE_URL; it is created if it does not exist. Nothing
is changed if the backup is damaged (a file's SHA-256 differs from the manifest), if the server
is older than the backup's, or if the database or the media folder is not empty — unless --force,
which drops and re-creates the database (stop the web server, worker and beat first) and writes
over media files of the same name. Then prints the verification of `verify_restore`.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kernel.exceptions import BackupError
from trialedc import backup

from .verify_restore import write_report


class Command(BaseCommand):
    help = "Restore a backup folder into a new or empty database and media folder, then verify."

    def add_arguments(self, parser):
        parser.add_argument(
            "backup_dir",
            metavar="BACKUP_DIR",
            type=Path,
            help="the backup folder (trialedc-backup-…)",
        )
        parser.add_argument(
            "--database",
            required=True,
            help="database to restore into, on the server of DATABASE_URL (created if absent)",
        )
        parser.add_argument(
            "--media-root",
            type=Path,
            help=(
                "media folder to restore into (default: the object store's bucket if configured, "
                "else MEDIA_ROOT)"
            ),
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database that is not empty, and media files of the same name",
        )

    def handle(self, *args, backup_dir: Path, database: str, media_root, force: bool, **options):
        try:
            report = backup.backup_restore(
                path=backup_dir, database=database, media_root=media_root, force=force
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Restored {backup_dir} into database {database!r}.")
        write_report(self, report)
