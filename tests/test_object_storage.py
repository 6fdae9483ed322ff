"""Files in an object store (issue 25): with STORAGE_S3_* set, the export ZIP a worker builds is
put in the S3 bucket, and a web process on another machine (another MEDIA_ROOT) serves it
through its download view, after the same permission checks; the retention sweep deletes it from
the bucket. The store is moto's S3 server (tests/object_store.py), started by the test."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from exports import services
from exports.models import ExportRun, ExportStatus
from kernel.roles import Role

from .exports_data import build_trial
from .object_store import OwnObjectStore

# Committed rows: the worker is another process, with its own connection.
pytestmark = pytest.mark.django_db(transaction=True)

WORKER = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.conf import settings
from django.core.files.storage import default_storage
from exports.tasks import export_build_task
print(export_build_task.apply(kwargs={"run_id": int(sys.argv[1])}).get())
print(type(default_storage._wrapped).__name__, settings.MEDIA_ROOT)
"""


@pytest.fixture
def store():
    server = OwnObjectStore()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def trial(site01, roles):
    return build_trial(site01)


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def run_worker(run_id: int, *, media_root: Path, environment: dict[str, str]) -> str:
    """The worker host: another process, its own MEDIA_ROOT, the test database, and the
    variables given (none: local files)."""
    db = connection.settings_dict
    url = "postgres://{user}{password}@{host}:{port}/{name}".format(
        user=quote(db["USER"] or "", safe=""),
        password=f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "",
        host=quote(db["HOST"] or "127.0.0.1", safe=""),
        port=db["PORT"] or 5432,
        name=db["NAME"],
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STORAGE_S3_", "AWS_", "DATABASE_REPLICA"))
    }
    env.update(environment)
    env.update(DATABASE_URL=url, DJANGO_MEDIA_ROOT=str(media_root), DJANGO_DEBUG="true")
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(run_id)],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_worker_host_writes_to_the_store_and_a_web_host_serves_it(
    store, trial, client, make_user, login, settings, tmp_path
):
    worker_media, web_media = tmp_path / "worker-media", tmp_path / "web-media"
    run = services.export_run_start(user=None)

    output = run_worker(run.pk, media_root=worker_media, environment=store.environment())
    assert "S3Storage" in output
    run.refresh_from_db()
    assert run.status == ExportStatus.DONE, run.error
    key = f"exports/{run.file_path}"
    assert store.keys() == [key]
    assert _files_under(worker_media) == []  # nothing left on the worker's disk
    assert hashlib.sha256(store.read(key)).hexdigest() == run.checksum

    # The web host: another MEDIA_ROOT (empty), the same store.
    settings.MEDIA_ROOT = web_media
    settings.STORAGES = store.storages()
    login(make_user(Role.SPONSOR))
    page = client.get(f"/exports/{run.pk}/").content.decode()
    assert "Download the ZIP" in page
    assert store.endpoint not in page
    assert store.bucket not in page
    download = client.get(f"/exports/{run.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    body = b"".join(download.streaming_content)
    assert hashlib.sha256(body).hexdigest() == run.checksum
    assert _files_under(web_media) == []


def test_without_a_store_two_hosts_do_not_share_the_file(
    trial, client, make_user, login, settings, tmp_path
):
    """The problem the store solves, and proof that the test above can fail: on local disks
    the web host does not have the worker's ZIP."""
    worker_media, web_media = tmp_path / "worker-media", tmp_path / "web-media"
    run = services.export_run_start(user=None)
    output = run_worker(run.pk, media_root=worker_media, environment={})
    assert "FileSystemStorage" in output
    run.refresh_from_db()
    assert run.status == ExportStatus.DONE, run.error
    assert [p.name for p in _files_under(worker_media)] == [run.file_path]

    settings.MEDIA_ROOT = web_media
    login(make_user(Role.SPONSOR))
    assert client.get(f"/exports/{run.pk}/download/").status_code == 404


def test_the_store_keeps_the_permission_checks_and_the_sweep_deletes_from_it(
    store, trial, client, make_user, login, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = store.storages()
    run = services.export_run_build(run_id=services.export_run_start(user=None).pk)
    assert run.status == ExportStatus.DONE
    key = f"exports/{run.file_path}"
    assert store.keys() == [key]
    assert _files_under(tmp_path / "media") == []

    # A role without the export permission gets no file, from the store or anywhere.
    login(make_user(Role.COORDINATOR))
    assert client.get(f"/exports/{run.pk}/download/").status_code in (403, 404)
    client.logout()

    # The retention sweep: not yet, then removed from the bucket; the run's record stays.
    settings.EXPORT_FILE_RETENTION_DAYS = 7
    assert services.exports_sweep(now=timezone.now() + timedelta(days=6))["removed"] == 0
    assert store.keys() == [key]
    assert services.exports_sweep(now=timezone.now() + timedelta(days=8))["removed"] == 1
    assert store.keys() == []
    run = ExportRun.objects.get(pk=run.pk)
    assert run.status == ExportStatus.DONE
    assert run.file_path == ""
    assert run.checksum

    login(make_user(Role.SPONSOR))
    assert client.get(f"/exports/{run.pk}/download/").status_code == 404
    page = client.get(f"/exports/{run.pk}/").content.decode()
    assert "removed after its retention period" in page
