"""PDFs prepared in the background (SPEC §9 "built as a Celery task where slow"; issue 9).

The reports page queues a report; the Celery task (in-process here, as without a broker)
builds it into a `PreparedReport` row; its page says "being prepared" and then offers the
download. Access is checked when asked, when built and at every look and download; a report
that shows the allocation never reaches a blinded user.
"""

import hashlib
import re
from io import BytesIO
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from pypdf import PdfReader

from dashboards.models import PreparedReport, ReportKind, ReportStatus
from dashboards.tasks import report_build_task
from kernel.roles import BLINDED_ROLES, Role

from .dashboards_randomization import randomize
from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


@pytest.fixture
def randomized(site01, make_user):
    participant = ParticipantFactory(site=site01)
    randomize(participant, user=make_user(Role.COORDINATOR, username="prep-coordinator"))
    return participant


@pytest.fixture
def queue_only():
    """A broker that takes the task and runs nothing yet (a busy or absent worker)."""
    with mock.patch.object(report_build_task, "delay") as delay:
        yield delay


def _prepare(client, kind, **data):
    return client.post(f"/dashboards/reports/prepare/{kind}/", data)


def test_the_reports_page_offers_to_prepare_each_pdf(client, make_user, login):
    login(make_user(Role.DATA_MANAGER))
    body = client.get("/dashboards/reports/").content.decode()
    for kind in ("blank-crfs", "casebook", "dsmb-open"):
        assert f'action="/dashboards/reports/prepare/{kind}/"' in body
    assert "dsmb-closed" not in body


def test_a_report_is_built_by_the_task_and_downloaded_when_ready(client, make_user, login):
    user = make_user(Role.MONITOR)
    login(user)
    response = _prepare(client, ReportKind.BLANK_CRFS)
    report = PreparedReport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/dashboards/reports/{report.pk}/"
    assert report.requested_by == user
    assert report.status == ReportStatus.DONE
    assert report.checksum == hashlib.sha256(bytes(report.content)).hexdigest()
    page = client.get(response["Location"]).content.decode()
    assert "Ready" in page
    assert f'href="/dashboards/reports/{report.pk}/download/"' in page
    download = client.get(f"/dashboards/reports/{report.pk}/download/")
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="blank-annotated-crfs.pdf"'
    assert download["Cache-Control"] == "private, no-store"
    text = _text(download.content)
    assert "Blank annotated CRFs" in text
    assert "by Test Monitor (monitor)" in text


def test_while_it_is_prepared_the_page_says_so_and_there_is_nothing_to_download(
    client, make_user, login, queue_only
):
    login(make_user(Role.SPONSOR))
    response = _prepare(client, ReportKind.DSMB_OPEN)
    report = PreparedReport.objects.get()
    queue_only.assert_called_once_with(report_id=report.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Waiting to be prepared" in page
    assert "The PDF is being prepared" in page
    assert f'hx-get="/dashboards/reports/{report.pk}/status/"' in page  # polls until ready
    assert "/download/" not in page
    assert client.get(f"/dashboards/reports/{report.pk}/download/").status_code == 404
    report_build_task.apply(kwargs={"report_id": report.pk})  # the worker gets to it
    status = client.get(f"/dashboards/reports/{report.pk}/status/").content.decode()
    assert "Ready" in status
    assert "hx-get" not in status  # finished: no more polling
    text = _text(client.get(f"/dashboards/reports/{report.pk}/download/").content)
    assert "open part (blinded, pooled)" in text
    assert "CONSORT flow diagram · pooled (blinded)" in text


def test_a_task_delivered_twice_builds_the_report_once(client, make_user, login, queue_only):
    login(make_user(Role.MONITOR))
    _prepare(client, ReportKind.BLANK_CRFS)
    report = PreparedReport.objects.get()
    report_build_task.apply(kwargs={"report_id": report.pk})
    first = PreparedReport.objects.get().finished_at
    report_build_task.apply(kwargs={"report_id": report.pk})
    assert PreparedReport.objects.get().finished_at == first


def test_the_casebook_is_prepared_for_a_study_id_of_the_users_sites(
    client, make_user, login, randomized
):
    login(make_user(Role.INVESTIGATOR))
    response = _prepare(client, ReportKind.CASEBOOK, study_id=randomized.study_id)
    report = PreparedReport.objects.get()
    assert report.participant == randomized
    assert report.sites == ["01"]
    text = _text(client.get(f"/dashboards/reports/{report.pk}/download/").content)
    assert f"Casebook {randomized.study_id}" in text
    assert "Electronic signatures" in text
    assert response["Location"] == f"/dashboards/reports/{report.pk}/"


def test_an_unknown_study_id_gets_a_clear_message_and_keeps_what_was_typed(
    client, make_user, login, site02
):
    other_site = ParticipantFactory(site=site02)
    login(make_user(Role.INVESTIGATOR))
    for typed in ("01-9999", other_site.study_id):
        response = _prepare(client, ReportKind.CASEBOOK, study_id=typed)
        body = response.content.decode()
        assert response.status_code == 200
        assert f"No participant {typed} among your sites: check the study ID." in body
        assert f'value="{typed}"' in body
    response = _prepare(client, ReportKind.CASEBOOK, study_id="")
    assert "Enter the study ID" in response.content.decode()
    assert not PreparedReport.objects.exists()


def test_the_old_casebook_shortcut_leads_to_its_preparation(client, make_user, login, randomized):
    login(make_user(Role.MONITOR))
    response = client.get(f"/dashboards/reports/?casebook={randomized.study_id}")
    assert response["Location"] == (
        f"/dashboards/reports/prepare/casebook/?study_id={randomized.study_id}"
    )
    page = client.get(response["Location"]).content.decode()
    # The study ID isolated for right-to-left headings (issue 21): <bdi dir="ltr">.
    assert re.search(rf"Participant casebook · <bdi[^>]*>{randomized.study_id}</bdi>", page)


def test_access_is_checked_again_at_every_look_and_download(
    client, make_user, login, randomized, site02
):
    investigator = make_user(Role.INVESTIGATOR)
    login(investigator)
    _prepare(client, ReportKind.CASEBOOK, study_id=randomized.study_id)
    report = PreparedReport.objects.get()
    download = f"/dashboards/reports/{report.pk}/download/"
    assert client.get(download).status_code == 200
    investigator.sites.set([site02])  # moved to another hospital after asking
    for path in (download, f"/dashboards/reports/{report.pk}/"):
        # Another site's report answers as one that does not exist (issue 20).
        assert client.get(path).status_code == 404


def test_a_requester_who_lost_the_role_before_the_build_gets_no_pdf(
    client, make_user, login, queue_only
):
    sponsor = make_user(Role.SPONSOR)
    login(sponsor)
    _prepare(client, ReportKind.DSMB_OPEN)
    sponsor.groups.clear()
    report_build_task.apply(kwargs={"report_id": PreparedReport.objects.get().pk})
    report = PreparedReport.objects.get()
    assert report.status == ReportStatus.FAILED
    assert report.content is None
    assert "does not allow" in report.error


@pytest.fixture
def closed_report(client, make_user, login, randomized):
    statistician = make_user(Role.STATISTICIAN)
    login(statistician)
    _prepare(client, ReportKind.DSMB_CLOSED)
    report = PreparedReport.objects.get()
    assert report.unblinded
    assert "UNBLINDED" in _text(client.get(f"/dashboards/reports/{report.pk}/download/").content)
    client.logout()
    return report


@pytest.mark.parametrize("role", sorted(BLINDED_ROLES, key=lambda r: r.value))
def test_no_blinded_role_reaches_a_prepared_closed_report(
    client, make_user, login, closed_report, role
):
    login(make_user(role, username=f"blinded-{role.value}"))
    for path in ("", "status/", "download/"):
        response = client.get(f"/dashboards/reports/{closed_report.pk}/{path}")
        assert response.status_code == 403, path
    assert _prepare(client, ReportKind.DSMB_CLOSED).status_code == 403
    assert "dsmb-closed" not in client.get("/dashboards/reports/").content.decode()
    assert PreparedReport.objects.count() == 1


def test_the_closed_report_is_refused_to_a_blinded_user_even_with_the_permission(
    client, make_user, login, closed_report
):
    """Two gates, as for the direct PDF: the statistician's role plus a blinded one."""
    two_hats = make_user(Role.STATISTICIAN, username="two-hats")
    two_hats.groups.add(Group.objects.get(name=Role.SPONSOR.value))
    login(two_hats)
    assert client.get(f"/dashboards/reports/{closed_report.pk}/download/").status_code == 403
    assert _prepare(client, ReportKind.DSMB_CLOSED).status_code == 403


def test_the_statistician_downloads_the_closed_report_by_arm(
    client, make_user, login, closed_report
):
    login(make_user(Role.STATISTICIAN, username="second-statistician"))
    text = _text(client.get(f"/dashboards/reports/{closed_report.pk}/download/").content)
    assert "CONSORT flow diagram · by arm (unblinded)" in text


def test_a_blinded_report_flagged_unblinded_is_still_refused(
    client, make_user, login, closed_report
):
    """The row's flag is a gate of its own, whatever its kind says."""
    PreparedReport.objects.filter(pk=closed_report.pk).update(kind=ReportKind.BLANK_CRFS)
    login(make_user(Role.MONITOR))
    assert client.get(f"/dashboards/reports/{closed_report.pk}/download/").status_code == 403


# -- the sweep (beat, every five minutes) -------------------------------------------------------


def test_a_report_asked_for_while_the_broker_was_down_is_handed_over_by_the_sweep(
    client, make_user, login, queue_only
):
    from datetime import timedelta

    from django.utils import timezone

    from dashboards.services import reports_sweep

    login(make_user(Role.MONITOR))
    queue_only.side_effect = ConnectionError("broker down")
    _prepare(client, ReportKind.BLANK_CRFS)
    report = PreparedReport.objects.get()
    assert report.status == ReportStatus.QUEUED
    queue_only.side_effect = None
    queue_only.reset_mock()
    # Not yet: a worker may simply be busy.
    assert reports_sweep()["requeued"] == 0
    later = timezone.now() + timedelta(minutes=3)
    assert reports_sweep(now=later)["requeued"] == 1
    queue_only.assert_called_once_with(report_id=report.pk)


def test_the_sweep_fails_a_report_whose_worker_died_and_expires_old_pdfs(client, make_user, login):
    from datetime import timedelta

    from django.utils import timezone

    from dashboards.services import reports_sweep

    login(make_user(Role.MONITOR))
    _prepare(client, ReportKind.BLANK_CRFS)
    _prepare(client, ReportKind.BLANK_CRFS)
    old, recent = PreparedReport.objects.order_by("pk")
    assert old.status == recent.status == ReportStatus.DONE
    now = timezone.now()
    PreparedReport.objects.filter(pk=old.pk).update(finished_at=now - timedelta(days=31))
    stuck = PreparedReport.objects.create(
        kind=ReportKind.BLANK_CRFS,
        requested_by=old.requested_by,
        status=ReportStatus.RUNNING,
        started_at=now - timedelta(hours=1),
    )
    assert reports_sweep(now=now) == {"requeued": 0, "interrupted": 1, "expired": 1}
    old.refresh_from_db()
    assert old.status == ReportStatus.EXPIRED
    assert old.content is None
    assert old.checksum  # the record of what was made stays
    assert PreparedReport.objects.get(pk=recent.pk).content is not None
    stuck.refresh_from_db()
    assert stuck.status == ReportStatus.FAILED
    assert "interrupted" in stuck.error
    page = client.get(f"/dashboards/reports/{old.pk}/").content.decode()
    assert "Prepared PDFs are removed after 30 days" in page
    assert client.get(f"/dashboards/reports/{old.pk}/download/").status_code == 404


def test_the_sweep_is_scheduled_every_five_minutes():
    from importlib import import_module

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # (A transactional test elsewhere may have flushed the rows the migration made.)
    import_module("dashboards.migrations.0003_report_expiry_and_sweep").schedule(apps, None)

    task = PeriodicTask.objects.get(task="dashboards.reports_sweep")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (5, "minutes")
