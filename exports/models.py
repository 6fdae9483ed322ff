"""Sponsor exports of de-identified individual participant data (SPEC §8).

An `ExportRelease` holds the secret key from which participants' export IDs are made: the same
release gives the same IDs, a new release new ones, and without the key (stored here, on the
server, never exported) an export ID cannot be linked to a study ID. `ExportPseudonym` keeps the
IDs of a release in the database so that every file can be sorted by export ID there. An
`ExportRun` is the log of one export: who, when, options, progress, row counts and checksums;
a failed export keeps its reason and finish time, and one whose worker or command died is found
by the sweep (`services.exports_sweep`) from its last sign of life (`heartbeat_at`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExportRelease(models.Model):
    number = models.PositiveIntegerField(_("release"), unique=True)
    # HMAC key of the export IDs: secret, server-side only (never in an export or a page).
    key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["-number"]
        verbose_name = _("export release")
        verbose_name_plural = _("export releases")

    def __str__(self) -> str:
        return f"release {self.number}"


class ExportPseudonym(models.Model):
    """The export ID of one participant in one release: the re-identification key, so it is
    never shown, exported or registered in the admin."""

    release = models.ForeignKey(ExportRelease, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="+"
    )
    export_id = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "participant"], name="pseudonym_once_per_release"
            ),
            models.UniqueConstraint(fields=["release", "export_id"], name="pseudonym_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.release} pseudonym"


# Where an export was started (ExportRun.via).
VIA_WEB = "web"
VIA_COMMAND_LINE = "command line"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Building")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportRun(models.Model):
    """One export and its log entry (who, when, options, row counts, checksums)."""

    release = models.ForeignKey(
        ExportRelease, on_delete=models.PROTECT, related_name="runs", verbose_name=_("release")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    via = models.CharField(_("started from"), max_length=20, default=VIA_WEB)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Written when the build starts and with every progress step: the sweep fails a run that
    # has been silent too long (its worker or command was killed and can no longer say so).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    unblinded = models.BooleanField(_("with the arm (trial unblinded)"), default=False)
    row_counts = models.JSONField(_("rows per file"), default=dict, blank=True)
    file_checksums = models.JSONField(_("SHA-256 per file"), default=dict, blank=True)
    checksum = models.CharField(_("SHA-256 of the ZIP"), max_length=64, blank=True)
    file_path = models.CharField(_("file"), max_length=300, blank=True)
    # Why it failed: a short message naming what went wrong, never a traceback and never a
    # value from the data (the traceback is in the server log).
    error = models.TextField(_("reason of the failure"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("export run")
        verbose_name_plural = _("export runs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="exportrun_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.release})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())
