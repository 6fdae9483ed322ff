"""Every write of the dashboards app: the PDFs prepared in the background (SPEC §9: "built as a
Celery task where slow").

`report_request` records what was asked for, by whom; the task `dashboards.build_report`
(dashboards.tasks) calls `report_build`, which checks access again (the requester may have lost
the role since), renders the PDF on the shared frame (dashboards.pdf) and keeps it in the row
for download. The blinding gates are the ones of the direct PDF views: the closed DSMB report
is refused to any blinded user at every step.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.models import Site
from kernel.replica import reading_from_replica

from . import pdf, selectors
from .exceptions import ReportRefused
from .models import PreparedReport, ReportKind, ReportStatus

logger = logging.getLogger(__name__)

_FILENAMES: dict[str, str] = {
    ReportKind.BLANK_CRFS: "blank-annotated-crfs.pdf",
    ReportKind.DSMB_OPEN: "dsmb-open-report.pdf",
    ReportKind.DSMB_CLOSED: "dsmb-closed-report.pdf",
}


def report_request(*, user, kind: str, participant=None, site_code: str = "") -> PreparedReport:
    """Record a report to prepare (queued). The caller hands its id to the task."""
    error = selectors.report_access_error(
        user, kind=kind, participant=participant, site_code=site_code
    )
    if error:
        raise ReportRefused(error)
    if kind == ReportKind.CASEBOOK:
        sites = [participant.site.code]
        filename = f"casebook-{participant.study_id}.pdf"
    elif kind == ReportKind.BLANK_CRFS:
        sites, filename = [], _FILENAMES[kind]
    else:
        scope = selectors.scope_for(user, site_code=site_code)
        sites = sorted(Site.objects.filter(pk__in=scope.site_ids).values_list("code", flat=True))
        filename = _FILENAMES[kind]
    report = PreparedReport(
        kind=kind,
        participant=participant if kind == ReportKind.CASEBOOK else None,
        site_code=site_code,
        sites=sites,
        unblinded=kind == ReportKind.DSMB_CLOSED,
        requested_by=user,
        filename=filename,
    )
    with transaction.atomic():
        report.full_clean()
        report.save()
    return report


def _render(report: PreparedReport) -> bytes:
    user = report.requested_by
    if report.kind == ReportKind.BLANK_CRFS:
        return pdf.blank_crfs_pdf(user=user)
    if report.kind == ReportKind.CASEBOOK:
        return pdf.casebook_pdf(participant=report.participant, user=user)
    closed = report.kind == ReportKind.DSMB_CLOSED
    scope = selectors.scope_for(user, site_code=report.site_code, by_arm=closed)
    return pdf.dsmb_pdf(scope=scope, user=user, closed=closed)


def report_build(*, report_id: int) -> PreparedReport:
    """Build a queued report. A report already started (a redelivered task) is left alone."""
    with transaction.atomic():
        report = (
            PreparedReport.objects.select_for_update(of=("self",))
            .select_related("requested_by", "participant__site")
            .get(pk=report_id)
        )
        if report.status != ReportStatus.QUEUED:
            return report
        report.status = ReportStatus.RUNNING
        report.started_at = timezone.now()
        report.save(update_fields=["status", "started_at"])
    try:
        error = selectors.prepared_report_access_error(report.requested_by, report)
        if error:
            raise ReportRefused(error)
        # The reading, from the replica when there is one and it has replayed the report's
        # row (kernel/replica.py).
        with reading_from_replica(wait_seconds=2):
            content = _render(report)
    except Exception as error:  # recorded on the report and shown to the user; logged here
        if not isinstance(error, ReportRefused):
            logger.exception("report %s could not be built", report.pk)
        PreparedReport.objects.filter(pk=report.pk).update(
            status=ReportStatus.FAILED,
            finished_at=timezone.now(),
            error=str(error)[:2000] if isinstance(error, ReportRefused) else repr(error)[:2000],
        )
    else:
        PreparedReport.objects.filter(pk=report.pk).update(
            status=ReportStatus.DONE,
            finished_at=timezone.now(),
            content=content,
            checksum=hashlib.sha256(content).hexdigest(),
        )
    report.refresh_from_db()
    return report


# A report still queued this long was never taken by a worker (the broker was down when it was
# asked for, or the message was lost): hand it to Celery again.
REQUEUE_AFTER = timedelta(minutes=2)
# A report 'being prepared' this long lost its worker (a PDF takes seconds): acks_late hands the
# task again, but report_build leaves a running report alone, so it is marked failed here.
RUNNING_LIMIT = timedelta(minutes=30)


def reports_sweep(*, now=None) -> dict:
    """The beat job (every five minutes): requeue reports no worker took, fail reports whose
    worker died, and remove the PDFs of reports older than PREPARED_REPORT_RETENTION_DAYS.

    A prepared PDF is a copy of data kept in the database: removing it loses nothing, the row
    (who asked for what, when, the checksum) stays, and the report can be prepared again."""
    from .tasks import report_build_task

    now = now or timezone.now()
    waiting = list(
        PreparedReport.objects.filter(
            status=ReportStatus.QUEUED, requested_at__lt=now - REQUEUE_AFTER
        ).values_list("pk", flat=True)
    )
    requeued = 0
    for report_id in waiting:
        try:
            report_build_task.delay(report_id=report_id)
        except Exception:  # noqa: BLE001 - still no broker: the next sweep tries again
            logger.exception("report %s could not be handed to Celery", report_id)
        else:
            requeued += 1
    interrupted = PreparedReport.objects.filter(
        status=ReportStatus.RUNNING, started_at__lt=now - RUNNING_LIMIT
    ).update(
        status=ReportStatus.FAILED,
        finished_at=now,
        error=_("The preparation was interrupted; prepare the report again."),
    )
    retention = timedelta(days=settings.PREPARED_REPORT_RETENTION_DAYS)
    expired = PreparedReport.objects.filter(
        status=ReportStatus.DONE, finished_at__lt=now - retention
    ).update(status=ReportStatus.EXPIRED, content=None)
    return {"requeued": requeued, "interrupted": interrupted, "expired": expired}
