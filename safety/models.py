"""Adverse events, SAE reports and the alert outbox (SPEC §5).

An `AdverseEvent` is the current state of one event; each `SAEReport` is a frozen version of a
serious one as it was reported (initial, follow-up 1, 2, ...), and the CIOMS form prints from it.
The e-mails about them that must never be lost go through the kernel's outbox
(`kernel.models.Alert`, kernel/alerts.py): written in the same transaction as the event,
delivered by Celery, re-sent by a periodic sweep until delivered.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kernel.trial import TRIAL

from . import rules


class CtcaeGrade(models.IntegerChoices):
    # CTCAE v5.0 general definitions of the grades.
    MILD = 1, _("1 · Mild: asymptomatic or mild symptoms; intervention not indicated")
    MODERATE = 2, _("2 · Moderate: minimal, local or non-invasive intervention indicated")
    SEVERE = 3, _("3 · Severe or medically significant, not immediately life-threatening")
    LIFE_THREATENING = 4, _("4 · Life-threatening consequences; urgent intervention indicated")
    DEATH = 5, _("5 · Death related to the adverse event")


class Relationship(models.TextChoices):
    UNRELATED = rules.UNRELATED, _("Unrelated")
    UNLIKELY = rules.UNLIKELY, _("Unlikely")
    POSSIBLE = rules.POSSIBLE, _("Possible")
    PROBABLE = rules.PROBABLE, _("Probable")
    DEFINITE = rules.DEFINITE, _("Definite")


class Outcome(models.TextChoices):
    RECOVERED = rules.RECOVERED, _("Recovered / resolved")
    RECOVERING = rules.RECOVERING, _("Recovering / resolving")
    NOT_RECOVERED = rules.NOT_RECOVERED, _("Not recovered / not resolved")
    RECOVERED_WITH_SEQUELAE = rules.RECOVERED_WITH_SEQUELAE, _("Recovered with sequelae")
    FATAL = rules.FATAL, _("Fatal")
    UNKNOWN = rules.UNKNOWN, _("Unknown")


class ActionTaken(models.TextChoices):
    # The product is one infusion on day 0: the actions are about that infusion.
    NONE = "none", _("None")
    INFUSION_SLOWED = "infusion_slowed", _("Infusion slowed")
    INFUSION_INTERRUPTED = "infusion_interrupted", _("Infusion interrupted, then completed")
    INFUSION_STOPPED = "infusion_stopped", _("Infusion stopped")
    NOT_APPLICABLE = "not_applicable", _("Not applicable (after the infusion)")


CRITERIA_LABELS = {
    "death": _("Results in death"),
    "life_threatening": _("Life-threatening"),
    "hospitalization": _("Requires hospitalisation or prolongs it"),
    "disability": _("Persistent or significant disability or incapacity"),
    "congenital_anomaly": _("Congenital anomaly or birth defect"),
    "important_medical_event": _("Other important medical event"),
}

# What each consistency check says (codes from safety.rules.consistency_problems).
CONSISTENCY_MESSAGES = {
    "grade5_needs_fatal": _("CTCAE grade 5 means death: the outcome must be “Fatal”."),
    "grade5_needs_death": _("CTCAE grade 5 needs the date of death."),
    "fatal_needs_grade5": _("A fatal outcome is CTCAE grade 5; choose grade 5 or another outcome."),
    "death_needs_fatal": _("A date of death is given: the outcome must be “Fatal”."),
    "fatal_needs_death_criterion": _(
        "A fatal event is serious: tick “Serious” and the criterion “Results in death”."
    ),
    "death_criterion_needs_fatal": _(
        "The criterion “Results in death” needs the outcome “Fatal” and grade 5."
    ),
    "serious_needs_criterion": _("A serious event needs at least one seriousness criterion."),
    "criterion_needs_serious": _(
        "Seriousness criteria are ticked: mark the event as serious, or untick them."
    ),
    "serious_needs_awareness": _(
        "A serious event needs the date and time the site became aware of it (the 24-hour "
        "reporting clock starts there)."
    ),
    "onset_in_future": _("The onset date is in the future."),
    "ongoing_and_ended": _("The event is marked ongoing: leave the end date empty, or untick it."),
    "end_or_ongoing": _("Give the end date, or tick “Ongoing”."),
    "end_before_onset": _("The end date is before the onset date."),
    "end_in_future": _("The end date is in the future."),
    "aware_in_future": _("The awareness date is in the future."),
    "ongoing_but_outcome_final": _(
        "An ongoing event cannot have the outcome recovered, recovered with sequelae or fatal."
    ),
    "ended_but_not_recovered": _(
        "An event with an end date cannot be “recovering” or “not recovered”."
    ),
    "death_before_onset": _("The date of death is before the onset date."),
    "fatal_end_is_death": _("A fatal event ends on the date of death."),
    "aware_before_onset": _("The site cannot have become aware before the onset date."),
}


class AdverseEvent(models.Model):
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="adverse_events",
        verbose_name=_("participant"),
    )
    number = models.PositiveIntegerField(_("AE number"))
    visit = models.CharField(
        _("reported at visit"),
        max_length=8,
        blank=True,
        help_text=_("The AE-assessment visit it was reported from; empty if reported between."),
    )
    verbatim_term = models.CharField(
        _("verbatim term"), max_length=200, help_text=_("The event in the reporter's words.")
    )
    preferred_term = models.CharField(
        _("coded term"),
        max_length=200,
        blank=True,
        help_text=_(
            "Pick from the list of preferred terms. Free text is accepted and flagged for coding."
        ),
    )
    system_organ_class = models.CharField(_("system organ class"), max_length=200, blank=True)
    needs_coding = models.BooleanField(_("to be coded"), default=True)
    onset_date = models.DateField(_("onset date"))
    ongoing = models.BooleanField(_("ongoing"), default=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    ctcae_grade = models.PositiveSmallIntegerField(
        _("CTCAE v5 grade"),
        choices=CtcaeGrade.choices,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    serious = models.BooleanField(_("serious"), default=False)
    criterion_death = models.BooleanField(CRITERIA_LABELS["death"], default=False)
    criterion_life_threatening = models.BooleanField(
        CRITERIA_LABELS["life_threatening"], default=False
    )
    criterion_hospitalization = models.BooleanField(
        CRITERIA_LABELS["hospitalization"], default=False
    )
    criterion_disability = models.BooleanField(CRITERIA_LABELS["disability"], default=False)
    criterion_congenital_anomaly = models.BooleanField(
        CRITERIA_LABELS["congenital_anomaly"], default=False
    )
    criterion_important_medical_event = models.BooleanField(
        CRITERIA_LABELS["important_medical_event"], default=False
    )
    aware_at = models.DateTimeField(
        _("site aware at"),
        null=True,
        blank=True,
        help_text=_("When the site learnt that the event is serious; the clocks start here."),
    )
    relationship = models.CharField(
        _("relationship to the study product"), max_length=12, choices=Relationship.choices
    )
    expected = models.BooleanField(
        _("expected"),
        default=False,
        help_text=_("Set from the reference safety information (term and grade)."),
    )
    action_taken = models.CharField(
        _("action taken with the study product"),
        max_length=24,
        choices=ActionTaken.choices,
        default=ActionTaken.NOT_APPLICABLE,
    )
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices)
    death_date = models.DateField(_("date of death"), null=True, blank=True)
    death_cause = models.CharField(_("cause of death"), max_length=300, blank=True)
    description = models.TextField(
        _("description"),
        blank=True,
        help_text=_("What happened, treatment given. No names or other identifying data."),
    )
    concomitant_medications = models.TextField(
        _("concomitant medications"), blank=True, help_text=_("With dates of administration.")
    )
    relevant_history = models.TextField(
        _("relevant history"), blank=True, help_text=_("Diagnoses, allergies, pregnancy, ...")
    )
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("reported by"),
    )
    causality_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("causality signed by"),
    )
    causality_signed_at = models.DateTimeField(_("causality signed at"), null=True, blank=True)
    causality_signature_meaning = models.CharField(
        _("meaning of the signature"), max_length=300, blank=True
    )
    expedited_report_submitted_at = models.DateTimeField(
        _("expedited report submitted at"), null=True, blank=True
    )
    expedited_report_reference = models.CharField(
        _("expedited report reference"), max_length=100, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["participant__study_id", "number"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        permissions = [
            ("sign_causality", _("Can assess and sign the causality of an adverse event")),
            ("record_expedited_report", _("Can record that a SUSAR was reported (expedited)")),
            ("view_safety_overview", _("Can see the safety page with open clocks")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "number"],
                name="adverseevent_one_number_per_participant",
                violation_error_message=_("This AE number is taken for this participant."),
            ),
            models.CheckConstraint(
                condition=Q(ctcae_grade__gte=1, ctcae_grade__lte=5),
                name="adverseevent_ctcae_grade_1_to_5",
                violation_error_message=_("The CTCAE grade is 1 to 5."),
            ),
            # CTCAE v5: grade 5 is death, and a fatal outcome is grade 5.
            models.CheckConstraint(
                condition=Q(ctcae_grade=5, outcome=rules.FATAL)
                | (~Q(ctcae_grade=5) & ~Q(outcome=rules.FATAL)),
                name="adverseevent_grade5_iff_fatal",
                violation_error_message=CONSISTENCY_MESSAGES["grade5_needs_fatal"],
            ),
            models.CheckConstraint(
                condition=Q(ongoing=True, end_date__isnull=True)
                | Q(ongoing=False, end_date__isnull=False),
                name="adverseevent_end_date_or_ongoing",
                violation_error_message=CONSISTENCY_MESSAGES["end_or_ongoing"],
            ),
            models.CheckConstraint(
                condition=Q(serious=True, aware_at__isnull=False)
                | Q(
                    serious=False,
                    criterion_death=False,
                    criterion_life_threatening=False,
                    criterion_hospitalization=False,
                    criterion_disability=False,
                    criterion_congenital_anomaly=False,
                    criterion_important_medical_event=False,
                ),
                name="adverseevent_criteria_only_when_serious",
                violation_error_message=CONSISTENCY_MESSAGES["criterion_needs_serious"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} AE {self.number}"

    # -- derived, from safety.rules --------------------------------------------------------
    @property
    def criteria(self) -> set[str]:
        return {c for c in rules.SERIOUSNESS_CRITERIA if getattr(self, f"criterion_{c}")}

    @property
    def criteria_labels(self) -> list[str]:
        return [str(CRITERIA_LABELS[c]) for c in rules.SERIOUSNESS_CRITERIA if c in self.criteria]

    @property
    def is_susar(self) -> bool:
        return rules.is_susar(
            serious=self.serious, relationship=self.relationship, expected=self.expected
        )

    @property
    def fatal_or_life_threatening(self) -> bool:
        return bool(self.criteria & {"death", "life_threatening"}) or self.outcome == rules.FATAL

    @property
    def susar_clock_days(self) -> int:
        return rules.susar_clock_days(
            fatal_or_life_threatening=self.fatal_or_life_threatening,
            days_fatal_or_life_threatening=TRIAL.susar_clock_days_fatal_or_life_threatening,
            days_other=TRIAL.susar_clock_days_other,
        )

    @property
    def susar_deadline(self) -> datetime | None:
        if not self.is_susar or self.aware_at is None:
            return None
        return rules.susar_deadline(aware_at=self.aware_at, clock_days=self.susar_clock_days)

    @property
    def susar_case_or_none(self) -> SusarCase | None:
        try:
            return self.susar_case
        except SusarCase.DoesNotExist:
            return None

    @property
    def susar_clock_open(self) -> bool:
        """The clock blinded roles see: a suspected SUSAR not yet unblinded by the sponsor's
        safety physician. After the case unblinding both outcomes look the same to them."""
        return self.is_susar and self.susar_case_or_none is None

    @property
    def susar_case_assessed(self) -> bool:
        return self.is_susar and self.susar_case_or_none is not None

    @property
    def initial_report_deadline(self) -> datetime | None:
        if self.aware_at is None:
            return None
        return rules.initial_report_deadline(
            aware_at=self.aware_at, hours=TRIAL.sae_initial_report_hours
        )

    @property
    def follow_up_open(self) -> bool:
        """An SAE is followed up until its outcome is final."""
        return self.serious and self.outcome not in rules.FINAL_OUTCOMES

    @property
    def causality_signed(self) -> bool:
        return self.causality_signed_at is not None

    def local_date(self, moment: datetime) -> date:
        try:
            return moment.astimezone(zoneinfo.ZoneInfo(self.participant.site.time_zone)).date()
        except OverflowError:
            # A typed year 9999 (or 0001) cannot be shifted to the site's zone: keep it at the
            # edge, so the date checks refuse it with their message instead of a server error.
            return date.max if moment.year == date.max.year else date.min

    def clean(self) -> None:
        today = self.local_date(timezone.now())
        problems = rules.consistency_problems(
            grade=self.ctcae_grade,
            outcome=self.outcome,
            serious=self.serious,
            criteria=self.criteria,
            onset_date=self.onset_date,
            end_date=self.end_date,
            ongoing=self.ongoing,
            death_date=self.death_date,
            aware_on=self.local_date(self.aware_at) if self.aware_at else None,
            today=today,
        )
        errors: dict[str, list] = {}
        for problem in problems:
            errors.setdefault(problem.field, []).append(CONSISTENCY_MESSAGES[problem.code])
        if errors:
            raise ValidationError(errors)


class ReportKind(models.TextChoices):
    INITIAL = "initial", _("Initial report")
    FOLLOW_UP = "follow_up", _("Follow-up report")


class SAEReport(models.Model):
    """One version of a serious adverse event as reported: frozen, printed as CIOMS I."""

    adverse_event = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        related_name="reports",
        verbose_name=_("adverse event"),
    )
    number = models.PositiveSmallIntegerField(
        _("report number"), help_text=_("0 is the initial report, then follow-up 1, 2, ...")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ReportKind.choices)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    narrative = models.TextField(_("narrative / new information"), blank=True)
    outcome_final = models.BooleanField(_("final report"), default=False)
    # The event as it stood when reported (the fields of AdverseEvent, JSON-ready).
    snapshot = models.JSONField(_("event as reported"), default=dict)
    history = HistoricalRecords()

    class Meta:
        ordering = ["adverse_event", "number"]
        verbose_name = _("SAE report")
        verbose_name_plural = _("SAE reports")
        constraints = [
            models.UniqueConstraint(
                fields=["adverse_event", "number"], name="saereport_one_number_per_event"
            ),
            models.CheckConstraint(
                condition=Q(number=0, kind="initial") | Q(number__gt=0, kind="follow_up"),
                name="saereport_zero_is_initial",
            ),
        ]

    def __str__(self) -> str:
        if self.number == 0:
            return f"{self.adverse_event} · {_('initial report')}"
        return f"{self.adverse_event} · {_('follow-up')} {self.number}"


class SusarOutcome(models.TextChoices):
    # ICH E2A III.C: the blind is broken for the case; only the active product's case is a SUSAR.
    REPORTABLE = "reportable", _("Study product: a SUSAR, reported (expedited)")
    NOT_A_SUSAR = "not_a_susar", _("Placebo: not a SUSAR, closed without an expedited report")


NOT_A_SUSAR_REASON = (
    "The participant received placebo: the event cannot be a reaction to the study product, so "
    "it is not a SUSAR (ICH E2A III.C). Closed without an expedited report; it stays an SAE."
)


class SusarCase(models.Model):
    """The sponsor's safety physician's unblinding of one suspected SUSAR (ICH E2A III.C).

    Arm-bearing: the outcome says the arm. Only the safety physician reads it; it is not
    registered with kernel.audit (no blinded history page, no trial audit log) and nothing of it
    is written back on the AdverseEvent, whose history blinded roles read. Audited by its own
    history. Every expedited-report date lives here for the same reason.
    """

    adverse_event = models.OneToOneField(
        AdverseEvent,
        on_delete=models.PROTECT,
        related_name="susar_case",
        verbose_name=_("adverse event"),
    )
    outcome = models.CharField(
        _("outcome of the case unblinding"), max_length=16, choices=SusarOutcome.choices
    )
    reason = models.TextField(_("reason"), blank=True)
    assessed_at = models.DateTimeField(_("unblinded and assessed at"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("safety physician"),
    )
    second_factor = models.CharField(_("second factor given"), max_length=20)
    expedited_report_submitted_at = models.DateTimeField(
        _("expedited report submitted at"), null=True, blank=True
    )
    expedited_report_reference = models.CharField(
        _("expedited report reference"), max_length=100, blank=True
    )
    completion_report_submitted_at = models.DateTimeField(
        _("completing report submitted at"),
        null=True,
        blank=True,
        help_text=_("7-day SUSARs: the complete report, within 8 more days (ICH E2A III.A.1)."),
    )
    completion_report_reference = models.CharField(
        _("completing report reference"), max_length=100, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("SUSAR case unblinding")
        verbose_name_plural = _("SUSAR case unblindings")
        ordering = ["assessed_at"]
        permissions = [
            ("assess_susar", _("Can unblind one suspected SUSAR and assess it (sponsor)")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="reportable")
                | Q(
                    expedited_report_submitted_at__isnull=True,
                    completion_report_submitted_at__isnull=True,
                ),
                name="susarcase_placebo_never_reported",
                violation_error_message=_("A placebo case is not a SUSAR: it is not reported."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.adverse_event} · {_('SUSAR case')}"

    @property
    def reportable(self) -> bool:
        return self.outcome == SusarOutcome.REPORTABLE

    @property
    def ae(self) -> AdverseEvent:
        return self.adverse_event

    @property
    def deadline(self) -> datetime | None:
        return self.adverse_event.susar_deadline if self.reportable else None

    @property
    def needs_completion(self) -> bool:
        """A 7-day (fatal or life-threatening) SUSAR is completed within 8 more days."""
        return self.reportable and self.adverse_event.fatal_or_life_threatening

    @property
    def completion_deadline(self) -> datetime | None:
        if not self.needs_completion or self.adverse_event.aware_at is None:
            return None
        return rules.susar_completion_deadline(
            aware_at=self.adverse_event.aware_at,
            clock_days=self.adverse_event.susar_clock_days,
            completion_days=TRIAL.susar_completion_days,
        )

    @property
    def clock_open(self) -> bool:
        return self.reportable and self.expedited_report_submitted_at is None

    @property
    def completion_open(self) -> bool:
        return self.needs_completion and self.completion_report_submitted_at is None
