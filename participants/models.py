"""Participants and their identifying data, kept apart (SPEC §2).

Study data refers to a participant by `Participant` only; names, national IDs and the like live
in `IdentifyingData`, which exports and blinded-sponsor views never join. Screening, consent and
enrollment (issue 4) extend this module.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

STUDY_ID_PATTERN = r"^\d{2}-\d{4}$"


class ParticipantStatus(models.TextChoices):
    """Where a participant stands. Other apps read it; only participants/services and
    randomization/services write it (issue 4 fills the screening → enrollment steps)."""

    SCREENED = "screened", _("Screened")
    ELIGIBLE = "eligible", _("Eligible")
    CONSENTED = "consented", _("Consented")
    ENROLLED = "enrolled", _("Enrolled")
    RANDOMIZED = "randomized", _("Randomized")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    COMPLETED = "completed", _("Completed")
    DIED = "died", _("Died")


class Participant(models.Model):
    site = models.ForeignKey(
        "trialedc.Site",
        on_delete=models.PROTECT,
        related_name="participants",
        verbose_name=_("site"),
    )
    study_id = models.CharField(
        _("study ID"),
        max_length=7,
        unique=True,
        validators=[
            RegexValidator(
                STUDY_ID_PATTERN, _("A study ID is <site code>-<4 digits>, e.g. 01-0007.")
            )
        ],
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ParticipantStatus.choices,
        default=ParticipantStatus.ENROLLED,
    )
    registered_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("registered by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["study_id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(study_id__regex=STUDY_ID_PATTERN),
                name="participant_study_id_format",
            ),
        ]

    def __str__(self) -> str:
        return self.study_id


class IdentifyingData(models.Model):
    """Protected health information: seen only by roles with participants.view_identifyingdata."""

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="identity",
        verbose_name=_("participant"),
    )
    full_name = models.CharField(_("full name"), max_length=200)
    national_id = models.CharField(_("national ID"), max_length=20, blank=True)
    hospital_record_number = models.CharField(
        _("hospital record number"), max_length=40, blank=True
    )
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("identifying data")
        verbose_name_plural = _("identifying data")

    def __str__(self) -> str:
        return f"{self.participant.study_id} identifying data"
