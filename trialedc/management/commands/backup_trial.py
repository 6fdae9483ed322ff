"""Back up the trial: the database, the media folder and a manifest, in one folder.

    python manage.py backup_trial --out DIR

Writes DIR/trialedc-backup-<UTC time>/ with database.dump (pg_dump, custom format), media/
(a copy of the files the EDC wrote: MEDIA_ROOT, or the object store's bucket when
STORAGE_S3_BUCKET is set, read through the storage API) and manifest.json (time, code version,
migrations, row counts, the append-only triggers, randomization list checksums, SHA-256 of every
file). Restore it with `restore_trial`, check it with `verify_restore`; docs/deployment.md,
"Backup and restore".
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kernel.exceptions import BackupError
from trialedc import backup


class Command(BaseCommand):
    help = "Write one self-describing backup (database, media, manifest) into a new folder in DIR."

    def add_arguments(self, parser):
        parser.add_argument(
            "--out", required=True, type=Path, help="folder to write the backup folder into"
        )
        parser.add_argument(
            "--media-root",
            type=Path,
            help="media folder to back up (default: the object store if set, else MEDIA_ROOT)",
        )

    def handle(self, *args, out: Path, media_root: Path | None, **options):
        try:
            result = backup.backup_create(out=out, media_root=media_root)
        except BackupError as error:
            raise CommandError(str(error)) from error
        manifest = result.manifest
        database = manifest["database"]
        files = manifest["files"]
        media = {name: entry for name, entry in files.items() if name != backup.DUMP}
        counts = manifest["row_counts"]
        self.stdout.write(f"Backup written to {result.path}")
        self.stdout.write(
            f"  database  {database['name']} on PostgreSQL {database['server_version']}, "
            f"dumped with {result.pg_dump}: {_size(files[backup.DUMP]['bytes'])}"
        )
        summary = ", ".join(f"{n} {label}" for label, n in backup.summary_counts(manifest).items())
        self.stdout.write(
            f"  rows      {len(counts)} tables, {sum(counts.values())} rows ({summary})"
        )
        media_bytes = sum(entry["bytes"] for entry in media.values())
        self.stdout.write(
            f"  media     {backup.counted(len(media), 'file')}, {_size(media_bytes)}, "
            f"from {manifest['media_root']}"
        )
        migrations = len(backup.ungrouped(manifest["migrations"]))
        self.stdout.write(
            f"  manifest  {backup.MANIFEST}: {migrations} migrations, "
            f"{len(manifest['randomization_lists'])} randomization lists, SHA-256 of every file"
        )
        missing = backup.required_triggers() - backup.ungrouped(manifest["audit_triggers"])
        if missing:
            self.stderr.write(
                self.style.WARNING(
                    f"WARNING: {len(missing)} audit tables have no append-only trigger in this "
                    "database (run manage.py migrate); a restore of this backup will fail "
                    "verification until they do"
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Backup complete. It holds identifying data: keep it encrypted, and a copy off "
                "this server."
            )
        )


def _size(count: int) -> str:
    units = ("bytes", "kB", "MB", "GB", "TB")
    size, unit = float(count), 0
    while size >= 1000 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    return f"{count} bytes" if unit == 0 else f"{size:.1f} {units[unit]}"
