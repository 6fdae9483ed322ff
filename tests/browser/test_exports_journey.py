"""The sponsor's export journey in a real browser: start an export, watch its progress while a
worker builds it, download the ZIP and open it."""

import hashlib
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from exports import tasks
from exports.models import ExportRun

from ..factories import PASSWORD
from .menu import follow_menu

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", "--participants", "4", "--password", PASSWORD)


@pytest.fixture
def queued(monkeypatch):
    """A broker that accepts the task; the test plays the worker."""
    runs: list[int] = []
    monkeypatch.setattr(tasks.export_build_task, "delay", lambda *, run_id: runs.append(run_id))
    return runs


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# The export reads from the replica when DATABASE_REPLICA_URL is set (issue 25): allowed here.
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_the_sponsor_starts_an_export_watches_it_build_and_opens_the_zip(
    demo, queued, sign_in, live_server, tmp_path
):
    page = sign_in("sponsor", PASSWORD)
    follow_menu(page, "Exports")
    expect(page.get_by_role("heading", name="De-identified IPD exports")).to_be_visible()
    page.get_by_role("link", name="New export").click()
    page.get_by_role("button", name="Start the export").click()

    # Queued: the status page polls (htmx) while the worker has not run yet.
    expect(page.get_by_test_id("export-status")).to_have_text("Queued")
    _shot(page, "exports-queued")
    assert len(queued) == 1
    tasks.export_build_task(run_id=queued[0])  # the worker
    expect(page.get_by_test_id("export-status")).to_have_text("Ready", timeout=10_000)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    _shot(page, "exports-ready")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the ZIP").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    run = ExportRun.objects.get(pk=queued[0])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == run.checksum
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
        participants = archive.read("participants.csv").decode().splitlines()
    assert {"participants.csv", "adverse_events.csv", "data_dictionary.csv", "odm.xml"} <= names
    assert "BLINDED" in readme
    assert len(participants) == 1 + 4
    assert "Shirin Sponsor" not in readme  # the file says nothing of who exported it

    page.get_by_role("link", name="All exports").click()
    expect(page.get_by_test_id("export-log")).to_contain_text(run.checksum[:14])
