"""A failed export is recorded as failed — its reason (short, no traceback, no data), its finish
time, a line in the security log — whether it failed on the command line, in the web process, in
a worker, or because its worker died (the sweep); and it leaves no partial file behind."""

from __future__ import annotations

import errno
import io
import os
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone

from exports import services, tasks
from exports.models import ExportRun, ExportStatus
from kernel.models import SecurityEvent, SecurityEventKind
from kernel.roles import Role

from .exports_data import PEOPLE, build_trial


def stored_exports() -> list[str]:
    """The export ZIPs in the file store (disk or object store)."""
    try:
        return default_storage.listdir(services.EXPORTS_FOLDER)[1]
    except FileNotFoundError:
        return []


pytestmark = pytest.mark.django_db

DISK_FULL = "No space left on device"


@pytest.fixture
def trial(site01, roles, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_trial(site01)


def disk_full_after(*, files: int):
    """export_write that writes `files` files into the folder, then finds the disk full."""

    def write(*, run, directory, **kwargs):
        for n in range(files):
            (directory / f"part-{n}.csv").write_text("export_id\n")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(directory / "odm.xml"))

    return write


def assert_failed(run: ExportRun, *, reason: str) -> None:
    run.refresh_from_db()
    assert run.status == ExportStatus.FAILED
    assert reason in run.error
    assert "Traceback" not in run.error
    assert run.finished_at is not None
    assert run.started_at <= run.finished_at <= timezone.now()
    event = SecurityEvent.objects.get(kind=SecurityEventKind.EXPORT_FAILED)
    assert event.detail["run"] == run.pk
    assert event.detail["reason"] == run.error


# -- the command line ------------------------------------------------------------------------


def test_a_failed_command_line_export_is_recorded_failed_and_leaves_no_folder(
    trial, tmp_path, monkeypatch
):
    monkeypatch.setattr(services, "export_write", disk_full_after(files=2))
    out = tmp_path / "ipd" / "2026"
    with pytest.raises(CommandError) as error:
        call_command("export_ipd", "--out", str(out), stdout=io.StringIO())
    run = ExportRun.objects.get()
    assert str(error.value) == (
        f"export {run.pk} failed (logged as failed): "
        f"A file could not be written (odm.xml): {DISK_FULL}."
    )
    assert_failed(run, reason=DISK_FULL)
    assert run.via == "command line"
    assert not (tmp_path / "ipd").exists()  # the folders it made are removed again


def _files(folder) -> dict[str, bytes]:
    """Every file in the folder and its sub-folders (stata/, spss/, sas/, r/), by path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_a_failed_export_into_an_existing_folder_leaves_it_as_it_was(trial, tmp_path, monkeypatch):
    out = tmp_path / "ipd"
    call_command("export_ipd", "--out", str(out), stdout=io.StringIO())
    before = _files(out)
    monkeypatch.setattr(services, "export_write", disk_full_after(files=3))
    with pytest.raises(CommandError, match="failed"):
        call_command("export_ipd", "--out", str(out), stdout=io.StringIO())
    assert _files(out) == before
    assert list(ExportRun.objects.order_by("pk").values_list("status", flat=True)) == [
        ExportStatus.DONE,
        ExportStatus.FAILED,
    ]


def test_the_reason_never_quotes_the_data_of_the_failing_exception(trial, tmp_path, monkeypatch):
    name = PEOPLE[0][0]

    def broken(**kwargs):
        raise ValueError(f"cannot write row of {name}")

    monkeypatch.setattr(services, "export_write", broken)
    with pytest.raises(CommandError) as error:
        call_command("export_ipd", "--out", str(tmp_path / "out"), stdout=io.StringIO())
    run = ExportRun.objects.get()
    assert_failed(run, reason="Unexpected error (ValueError)")
    assert name not in run.error
    assert name not in str(error.value)
    assert name not in str(SecurityEvent.objects.get(kind=SecurityEventKind.EXPORT_FAILED).detail)


def test_an_interrupted_command_line_export_is_recorded_failed(trial, tmp_path, monkeypatch):
    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(services, "export_write", interrupted)
    with pytest.raises(CommandError, match="Stopped by the user"):
        call_command("export_ipd", "--out", str(tmp_path / "out"), stdout=io.StringIO())
    assert_failed(ExportRun.objects.get(), reason="Stopped by the user (interrupted).")
    assert not (tmp_path / "out").exists()


def test_a_statistical_file_that_cannot_be_written_fails_the_export(trial, tmp_path, monkeypatch):
    """The Stata, SPSS and SAS files are written by a child process while the CSVs and the
    ODM are written (issue 24): a failure there fails the export all the same, with its reason,
    and leaves no folder."""
    import pyreadstat

    def disk_full(frame, path, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(pyreadstat, "write_sav", disk_full)
    out = tmp_path / "ipd"
    with pytest.raises(CommandError) as error:
        call_command("export_ipd", "--out", str(out), stdout=io.StringIO())
    run = ExportRun.objects.get()
    assert "A file could not be written (" in str(error.value)
    assert ".sav)" in str(error.value)
    assert_failed(run, reason=DISK_FULL)
    assert not out.exists()


def test_a_successful_command_line_export_leaves_only_its_files(trial, tmp_path):
    out = tmp_path / "ipd"
    call_command("export_ipd", "--out", str(out), stdout=io.StringIO())
    names = sorted(path.name for path in out.iterdir())
    assert "README.txt" in names
    assert not [name for name in names if name.startswith(".")]  # no private folder left
    run = ExportRun.objects.get()
    assert run.status == ExportStatus.DONE
    assert run.heartbeat_at is not None
    assert run.options["out"] == str(out)
    assert not SecurityEvent.objects.filter(kind=SecurityEventKind.EXPORT_FAILED).exists()


def test_an_export_in_a_celery_prefork_worker_writes_its_statistical_files(
    trial, tmp_path, monkeypatch
):
    """Celery's prefork workers are daemonic processes, and billiard says so to the standard
    library's multiprocessing too: `multiprocessing.Process.start()` there refuses ("daemonic
    processes are not allowed to have children"). The export's child process for the
    statistical files must start all the same, as it does in the worker in production."""
    import multiprocessing

    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)
    out = tmp_path / "ipd"
    call_command("export_ipd", "--out", str(out), stdout=io.StringIO())
    assert ExportRun.objects.get().status == ExportStatus.DONE
    assert {p.suffix for p in out.rglob("*")} >= {".dta", ".sav", ".xpt"}


# -- the web page and the worker -------------------------------------------------------------


@pytest.mark.skipif(
    bool(django_settings.STORAGE_S3_BUCKET), reason="the files go to the object store"
)
def test_an_unwritable_media_folder_fails_the_web_export_with_its_reason(
    client, make_user, login, trial, settings, tmp_path
):
    media = tmp_path / "media-is-a-file"
    media.write_text("")
    settings.MEDIA_ROOT = media
    login(make_user(Role.SPONSOR))
    response = client.post("/exports/new/", {})
    run = ExportRun.objects.get()
    assert response["Location"] == f"/exports/{run.pk}/"
    assert_failed(run, reason="A file could not be written (exports): ")
    page = client.get(f"/exports/{run.pk}/").content.decode()
    assert "The export failed" in page
    assert run.error in page.replace("&#x27;", "'")
    assert "Stopped at" in page
    log = client.get("/exports/").content.decode()
    assert "Failed" in log
    assert "A file could not be written" in log
    assert client.get(f"/exports/{run.pk}/download/").status_code == 404


def test_a_zip_left_half_written_is_removed(trial, monkeypatch):
    real_write = zipfile.ZipFile.write

    def write_one_then_fail(archive, filename, *args, **kwargs):
        if archive.namelist():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), archive.filename)
        return real_write(archive, filename, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "write", write_one_then_fail)
    before = stored_exports()  # a bucket set for the whole suite holds other tests' ZIPs
    run = services.export_run_start(user=None)
    with pytest.raises(OSError, match=DISK_FULL):
        services.export_run_build(run_id=run.pk)
    assert_failed(run, reason=f"A file could not be written (EXO-ARDS-ipd-r1-{run.pk}.zip)")
    assert stored_exports() == before
    # The ZIP is built in a temporary folder, removed with what it held.
    assert list(Path(tempfile.gettempdir()).glob(f"export-{run.pk}-*")) == []


def test_a_broker_that_refuses_the_task_fails_the_run_at_once(
    client, make_user, login, trial, monkeypatch
):
    from kombu.exceptions import OperationalError

    def refuse(**kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    monkeypatch.setattr(tasks.export_build_task, "delay", refuse)
    login(make_user(Role.SPONSOR))
    client.post("/exports/new/", {})
    run = ExportRun.objects.get()
    run.refresh_from_db()
    assert run.status == ExportStatus.FAILED
    assert run.error == "The export could not be handed to a worker (OperationalError)."
    assert run.finished_at is not None


def test_a_run_that_is_not_queued_is_left_alone_by_a_redelivered_task(trial):
    stored = stored_exports()
    failed = services.export_run_start(user=None)
    services.export_run_fail(run_id=failed.pk, reason="stopped")
    building = services.export_run_start(user=None)
    ExportRun.objects.filter(pk=building.pk).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    for run in (failed, building):
        before = ExportRun.objects.values().get(pk=run.pk)
        services.export_run_build(run_id=run.pk)
        assert ExportRun.objects.values().get(pk=run.pk) == before
    assert stored_exports() == stored


def test_a_finished_run_is_never_marked_failed(trial):
    run = services.export_run_build(run_id=services.export_run_start(user=None).pk)
    assert services.export_run_fail(run_id=run.pk, reason="late") is False
    run.refresh_from_db()
    assert (run.status, run.error) == (ExportStatus.DONE, "")


# -- the sweep -------------------------------------------------------------------------------


def test_the_sweep_fails_a_run_whose_worker_died_and_keeps_a_live_one(
    client, make_user, login, trial
):
    now = timezone.now()
    dead, live = (services.export_run_start(user=make_user(Role.SPONSOR)) for _ in range(2))
    ExportRun.objects.filter(pk=dead.pk).update(
        status=ExportStatus.RUNNING,
        started_at=now - timedelta(hours=2),
        heartbeat_at=now - timedelta(minutes=16),
    )
    ExportRun.objects.filter(pk=live.pk).update(
        status=ExportStatus.RUNNING,
        started_at=now - timedelta(hours=2),
        heartbeat_at=now - timedelta(minutes=1),
    )
    assert services.exports_sweep(now=now) == {
        "interrupted": 1,
        "abandoned": 0,
        "requeued": 0,
        "removed": 0,
    }
    dead.refresh_from_db()
    assert dead.status == ExportStatus.FAILED
    assert dead.finished_at == now
    assert "no sign of life for 15 minutes" in dead.error
    assert ExportRun.objects.get(pk=live.pk).status == ExportStatus.RUNNING
    login(make_user(Role.DATA_MANAGER))
    assert "no sign of life" in client.get(f"/exports/{dead.pk}/").content.decode()


def test_the_sweep_fails_a_command_line_run_killed_before_its_first_heartbeat(trial):
    now = timezone.now()
    run = services.export_run_start(user=None, via="command line")
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportStatus.RUNNING, started_at=now - timedelta(minutes=20), heartbeat_at=None
    )
    assert services.exports_sweep(now=now)["interrupted"] == 1


def test_the_sweep_requeues_a_web_export_no_worker_took_and_fails_it_after_an_hour(
    trial, monkeypatch
):

    handed: list[int] = []
    monkeypatch.setattr(tasks.export_build_task, "delay", lambda *, run_id: handed.append(run_id))
    now = timezone.now()
    waiting = services.export_run_start(user=None)
    command_line = services.export_run_start(user=None, via="command line")
    assert services.exports_sweep(now=now)["requeued"] == 0  # a worker may simply be busy
    later = now + timedelta(minutes=3)
    assert services.exports_sweep(now=later) == {
        "interrupted": 0,
        "abandoned": 0,
        "requeued": 1,
        "removed": 0,
    }
    assert handed == [waiting.pk]  # a command-line run is never built by a worker
    much_later = now + timedelta(hours=1, minutes=1)
    assert services.exports_sweep(now=much_later)["abandoned"] == 2
    waiting.refresh_from_db()
    assert waiting.status == ExportStatus.FAILED
    assert "No worker took the export within 60 minutes" in waiting.error
    assert ExportRun.objects.get(pk=command_line.pk).status == ExportStatus.FAILED


def test_the_sweep_is_scheduled_every_five_minutes():
    from importlib import import_module

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # (A transactional test elsewhere may have flushed the rows the migration made.)
    import_module("exports.migrations.0002_run_heartbeat_and_sweep").schedule(apps, None)
    task = PeriodicTask.objects.get(task="exports.sweep")
    assert (task.interval.every, task.interval.period, task.enabled) == (5, "minutes", True)
