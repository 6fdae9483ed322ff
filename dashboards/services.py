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

from django.db import transaction
from django.utils import timezone

from trialedc.models import Site

from . import pdf, selectors
from .exceptions import ReportRefused
from .models import PreparedReport, ReportKind, ReportStatus

logger = logging.getLogger(__name__)

_FILENAMES = {
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
