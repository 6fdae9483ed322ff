"""The sponsor page: start an export (a Celery task), follow its progress, download the ZIP;
the data manager's log of every export."""

from __future__ import annotations

import errno
import io
import os
import zipfile

import pytest

from exports import services
from exports.models import ExportRun, ExportStatus
from kernel.roles import Role

from .exports_data import build_trial

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(site01, roles, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_trial(site01)


def test_the_sponsor_starts_an_export_and_downloads_the_zip(client, make_user, login, trial):
    sponsor = make_user(Role.SPONSOR)
    login(sponsor)
    assert client.get("/exports/new/").status_code == 200
    assert not ExportRun.objects.exists()  # opening the form starts nothing
    response = client.post("/exports/new/", {})
    run = ExportRun.objects.get()
    assert response["Location"] == f"/exports/{run.pk}/"
    assert run.requested_by == sponsor
    assert run.status == ExportStatus.DONE  # eager Celery in the tests
    page = client.get(f"/exports/{run.pk}/").content.decode()
    assert "Download the ZIP" in page
    assert run.checksum in page
    download = client.get(f"/exports/{run.pk}/download/")
    assert download["Content-Type"] == "application/zip"
    body = b"".join(download.streaming_content)
    names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert {"participants.csv", "baseline.csv", "odm.xml", "README.txt"} <= names
    import hashlib

    assert hashlib.sha256(body).hexdigest() == run.checksum


def test_the_progress_panel_polls_while_the_export_builds(client, make_user, login, trial):
    login(make_user(Role.SPONSOR))
    run = services.export_run_start(user=None)
    panel = client.get(f"/exports/{run.pk}/progress/").content.decode()
    assert "hx-trigger" in panel
    assert "Queued" in panel
    services.export_run_build(run_id=run.pk)
    panel = client.get(f"/exports/{run.pk}/progress/").content.decode()
    assert "hx-trigger" not in panel
    assert "100%" in panel


def test_a_re_run_keeps_the_release_and_a_new_release_is_logged(client, make_user, login, trial):
    login(make_user(Role.SPONSOR))
    client.post("/exports/new/", {})
    client.post("/exports/new/", {})
    client.post("/exports/new/", {"new_release": "on"})
    releases = list(ExportRun.objects.order_by("pk").values_list("release__number", flat=True))
    assert releases == [1, 1, 2]


def test_the_data_manager_sees_every_export_in_the_log(client, make_user, login, trial):
    sponsor_run = services.export_run_start(user=make_user(Role.SPONSOR))
    services.export_run_build(run_id=sponsor_run.pk)
    login(make_user(Role.DATA_MANAGER))
    page = client.get("/exports/").content.decode()
    assert f'href="/exports/{sponsor_run.pk}/"' in page
    assert "sponsor" in page.lower()
    assert sponsor_run.checksum[:10] in page


def test_a_failed_build_is_recorded_on_the_run(client, make_user, login, trial, monkeypatch):
    def broken(**kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "odm.xml")

    monkeypatch.setattr(services, "export_write", broken)
    login(make_user(Role.SPONSOR))
    response = client.post("/exports/new/", {})
    run = ExportRun.objects.get()
    assert response.status_code == 302
    assert run.status == ExportStatus.FAILED
    assert "No space left on device" in run.error
    assert run.finished_at is not None
    page = client.get(f"/exports/{run.pk}/").content.decode()
    assert "The export failed" in page
    assert run.error in page
    assert client.get(f"/exports/{run.pk}/download/").status_code == 404


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR])
def test_site_roles_cannot_start_an_export(client, make_user, login, trial, role):
    login(make_user(role))
    assert client.post("/exports/new/", {}).status_code == 403
    assert not ExportRun.objects.exists()
