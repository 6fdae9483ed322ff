"""The dashboards app stores no trial data: `Dashboard` (unmanaged) only carries its
permissions, and `PreparedReport` keeps the PDFs prepared in the background until downloaded.

Every number on a dashboard is computed from the other apps' tables when asked (selectors.py),
so there is no second copy of trial data to drift from the source.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("dashboard")
        permissions = [
            ("view_dashboard", _("Can read the investigator dashboard and the CONSORT flow")),
            ("print_blank_crfs", _("Can print the blank annotated CRFs")),
            ("print_casebook", _("Can print a participant casebook")),
            ("view_dsmb_open_report", _("Can print the DSMB report, open part (blinded)")),
            (
                "view_dsmb_closed_report",
                _("Can print the DSMB report, closed part (by arm; unblinded only)"),
            ),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class ReportKind(models.TextChoices):
    BLANK_CRFS = "blank-crfs", _("Blank annotated CRFs")
    CASEBOOK = "casebook", _("Participant casebook")
    DSMB_OPEN = "dsmb-open", _("DSMB safety report — open part (blinded, pooled)")
    DSMB_CLOSED = "dsmb-closed", _("DSMB safety report — closed part (by arm)")


# What a user must hold to ask for, watch and download each report (checked again at download).
KIND_PERMISSIONS: dict[str, tuple[str, ...]] = {
    ReportKind.BLANK_CRFS: ("dashboards.print_blank_crfs",),
    ReportKind.CASEBOOK: ("dashboards.print_casebook", "outcomes.view_visit"),
    ReportKind.DSMB_OPEN: ("dashboards.view_dsmb_open_report",),
    ReportKind.DSMB_CLOSED: ("dashboards.view_dsmb_closed_report",),
}


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to be prepared")
    RUNNING = "running", _("Being prepared")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Removed after its retention period")


class PreparedReport(models.Model):
    """A PDF asked for on the reports page, built by a Celery task, downloaded when ready.

    The file is kept in the row (`content`): the PDFs are small, web and worker share only the
    database, and the file cannot outlive or lose its record. Who may open it is decided again
    at every download (dashboards.selectors.report_access_error); `unblinded` marks a report
    that shows the allocation, never served to a blinded user.
    """

    kind = models.CharField(_("report"), max_length=20, choices=ReportKind.choices)
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("participant"),
    )
    site_code = models.CharField(_("site chosen"), max_length=10, blank=True)
    sites = models.JSONField(_("sites covered"), default=list, blank=True)
    unblinded = models.BooleanField(_("shows the allocation"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    filename = models.CharField(_("file name"), max_length=100, blank=True)
    content = models.BinaryField(_("PDF"), null=True, blank=True, editable=False)
    checksum = models.CharField(_("SHA-256 of the PDF"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("prepared report")
        verbose_name_plural = _("prepared reports")
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="casebook", participant__isnull=False)
                | ~Q(kind="casebook") & Q(participant__isnull=True),
                name="preparedreport_casebook_has_participant",
            ),
            models.CheckConstraint(
                condition=~Q(kind="dsmb-closed") | Q(unblinded=True),
                name="preparedreport_closed_report_is_unblinded",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(content__isnull=False),
                name="preparedreport_ready_has_content",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def retention_days(self) -> int:
        return settings.PREPARED_REPORT_RETENTION_DAYS

    @property
    def is_finished(self) -> bool:
        return self.status in (ReportStatus.DONE, ReportStatus.FAILED, ReportStatus.EXPIRED)
