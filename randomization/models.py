"""Randomization lists, assignments, pharmacy, unblinding (SPEC §3).

What carries the arm: `Slot.arm` only. Every other row here is arm-free, so a page built from
them cannot leak the allocation; pages that read `Slot.arm` need `randomization.view_allocation`,
which only unblinded roles hold. None of these models is registered for the generic audit-history
page, and the admin shows only the arm-free ones (randomization/admin.py).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kernel.trial import TRIAL

PHASE_CHOICES = [(p.code, p.label) for p in TRIAL.phases]
STRATUM_CHOICES = [(s.code, s.label) for s in TRIAL.strata]
ARM_CHOICES = [(a.code, a.label) for a in TRIAL.arms]
SUPPORT_CHOICES = list(TRIAL.respiratory_support_labels.items())


class ListSource(models.TextChoices):
    GENERATED = "generated", _("Generated here from a seed")
    IMPORTED = "imported", _("Imported from a CSV file")


class RandomizationList(models.Model):
    """One list per (phase, stratum), made before enrollment by the unblinded statistician."""

    phase = models.CharField(_("phase"), max_length=4, choices=PHASE_CHOICES)
    stratum = models.CharField(_("stratum"), max_length=2, choices=STRATUM_CHOICES)
    source = models.CharField(_("source"), max_length=10, choices=ListSource.choices)
    seed = models.BigIntegerField(_("seed"), null=True, blank=True)
    checksum = models.CharField(_("checksum (SHA-256)"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Who made, and who replaced (deleted) an unused list, with its seed and checksum. Never
    # shown on the generic history page (not registered with kernel.audit).
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("randomization list")
        verbose_name_plural = _("randomization lists")
        ordering = ["phase", "stratum"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "stratum"], name="one_list_per_phase_stratum")
        ]
        permissions = [
            ("view_allocation", _("Can see the arm of randomized participants (unblinded)")),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} · {self.get_stratum_display()}"


class Slot(models.Model):
    """One line of a list. Immutable once stored: the list's checksum covers every field, and a
    database trigger refuses any UPDATE, and any DELETE but the replacement of an unused list
    (migration 0005; docs/randomization.md, the verifier)."""

    # No index of its own: the unique (randomization_list, sequence) index one_slot_per_sequence
    # begins with the column and serves every lookup by list (docs/performance.md, issue 24,
    # randomization seventh step: the assignment's slot lookup used the single-column index and
    # filtered the list's slots one by one for the sequence).
    randomization_list = models.ForeignKey(
        RandomizationList, on_delete=models.CASCADE, related_name="slots", db_index=False
    )
    sequence = models.PositiveIntegerField(_("sequence"))
    block = models.PositiveIntegerField(_("block"))
    block_size = models.PositiveSmallIntegerField(_("block size"))
    arm = models.CharField(_("arm"), max_length=20, choices=ARM_CHOICES)
    envelope_code = models.CharField(_("envelope code"), max_length=12, unique=True)
    number = models.CharField(_("randomization number"), max_length=12, unique=True)
    # SHA-256 of the list's checksum, the number and the slot's CSV line (blocks.slot_seal):
    # checked for the slot an assignment takes, so a slot or checksum edited behind the trigger
    # is refused there without re-hashing the whole list.
    seal = models.CharField(_("seal (SHA-256)"), max_length=64, default="", editable=False)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["randomization_list", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["randomization_list", "sequence"], name="one_slot_per_sequence"
            ),
            models.CheckConstraint(
                condition=Q(block_size__in=TRIAL.block_sizes), name="slot_block_size_allowed"
            ),
            models.CheckConstraint(
                condition=Q(arm__in=[a.code for a in TRIAL.arms]), name="slot_arm_known"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class AssignmentCounter(models.Model):
    """How many slots are given: one row per phase (stratum blank) and one per (phase, stratum).

    Kept by a database trigger on every insert or delete of a Randomization (migration 0005),
    whatever inserts it. An assignment (`services.slot_assign`, in its database function
    `randomization_assign`) locks its phase's row and its stratum's row as the only
    serialization of assignments: the phase cap is the phase row's count, the next
    slot is the stratum row's count + 1."""

    phase = models.CharField(_("phase"), max_length=4, choices=PHASE_CHOICES)
    stratum = models.CharField(_("stratum"), max_length=2, choices=STRATUM_CHOICES, blank=True)
    assigned = models.PositiveIntegerField(_("slots given"), default=0)

    class Meta:
        verbose_name = _("assignment counter")
        verbose_name_plural = _("assignment counters")
        constraints = [
            models.UniqueConstraint(
                fields=["phase", "stratum"], name="one_counter_per_phase_stratum"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phase} {self.stratum or '*'}: {self.assigned}"


class Randomization(models.Model):
    """A participant given a slot. Arm-free: the arm is reached only through `slot`."""

    participant = models.OneToOneField(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="randomization",
        verbose_name=_("participant"),
    )
    slot = models.OneToOneField(
        Slot, on_delete=models.PROTECT, related_name="randomization", verbose_name=_("slot")
    )
    respiratory_support = models.CharField(
        _("respiratory support at randomization"), max_length=32, choices=SUPPORT_CHOICES
    )
    day0 = models.DateField(_("Day 0"))
    randomized_at = models.DateTimeField(_("randomized at"))
    randomized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("randomization")
        verbose_name_plural = _("randomizations")
        ordering = ["participant__study_id"]
        permissions = [
            ("randomize_participant", _("Can randomize an enrolled participant")),
        ]
        # One slot per participant and one participant per slot: the two OneToOne columns are
        # unique in the database, the backstop behind the row locks of services.slot_assign.

    def __str__(self) -> str:
        return f"{self.participant.study_id} · {self.slot.number}"


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", _("Approved: the next phase may start")
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", _("Approved with conditions")
    NOT_APPROVED = "not_approved", _("Not approved: the next phase stays closed")


OPENING_DECISIONS = (ReviewDecision.APPROVED, ReviewDecision.APPROVED_WITH_CONDITIONS)


class PhaseReview(models.Model):
    """The DSMB's safety review of a phase; an approval opens the gated phase (SPEC §3, §10).

    Recorded by the statistician/DSMB with the password and a current second factor; an
    approval only when the gate's checklist is complete (services.phase_review_record)."""

    phase = models.CharField(_("phase reviewed"), max_length=4, choices=PHASE_CHOICES)
    review_date = models.DateField(_("review date"))
    decision = models.CharField(_("decision"), max_length=32, choices=ReviewDecision.choices)
    document_reference = models.CharField(_("DSMB minutes reference"), max_length=200)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # How the recorder confirmed who they are, beside the password: "app" or "backup code".
    second_factor = models.CharField(_("second factor given"), max_length=20, blank=True)
    # The gate's checklist as it stood when the decision was recorded (slots used per stratum,
    # each participant's safety window): what the decision was taken on, kept with it.
    readiness = models.JSONField(_("readiness when recorded"), default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("phase safety review")
        verbose_name_plural = _("phase safety reviews")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} · {self.get_decision_display()}"


class Preparation(models.Model):
    """The pharmacist's preparation and hand-over of one participant's syringe.

    Arm-free by construction: the product fields are blank for placebo, so this row is never
    shown to blinded staff either (only through pharmacy pages).
    """

    randomization = models.OneToOneField(
        Randomization, on_delete=models.PROTECT, related_name="preparation"
    )
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1)
    lot_number = models.CharField(_("lot number"), max_length=40, blank=True)
    concentration_million_per_ml = models.DecimalField(
        _("lot concentration (million exosomes per ml)"),
        max_digits=10,
        decimal_places=1,
        null=True,
        blank=True,
    )
    lot_expiry = models.DateField(_("lot expiry date"), null=True, blank=True)
    product_volume_ml = models.DecimalField(
        _("volume drawn from the lot (ml)"), max_digits=5, decimal_places=2
    )
    saline_volume_ml = models.DecimalField(_("normal saline (ml)"), max_digits=5, decimal_places=2)
    prepared_at = models.DateTimeField(_("prepared at"))
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    checked_by = models.CharField(_("checked by (second person)"), max_length=120)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    handed_over_to = models.CharField(_("handed over to (nurse)"), max_length=120, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Unblinded pharmacy record: its history is for the pharmacy and inspectors, never blinded
    # staff (not registered with kernel.audit).
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("preparation")
        verbose_name_plural = _("preparations")
        permissions = [("view_pharmacy", _("Can open the unblinded pharmacy pages"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__gte=TRIAL.hard_limits["weight_kg"].minimum)
                & Q(weight_kg__lte=TRIAL.hard_limits["weight_kg"].maximum),
                name="preparation_weight_in_limits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.randomization.participant.study_id} preparation"


class EmergencyUnblinding(models.Model):
    """An investigator's emergency unblinding of one participant: kept forever, arm-free."""

    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="emergency_unblindings",
        verbose_name=_("participant"),
    )
    reason = models.TextField(_("reason (severe complication)"))
    # SPEC §10: the unblinding names the triggering event, chosen from the participant's AEs, or
    # says that none is recorded yet, with a justification (and the medical monitor is alerted).
    adverse_event = models.ForeignKey(
        "safety.AdverseEvent",
        on_delete=models.PROTECT,
        related_name="emergency_unblindings",
        null=True,
        blank=True,
        verbose_name=_("triggering adverse event"),
    )
    no_event_justification = models.TextField(
        _("why no event is recorded yet"),
        blank=True,
    )
    sae_reference = models.CharField(
        _("event it concerns"),
        max_length=300,
        help_text=_("As shown when it was recorded: the AE's number and term, or “no event”."),
    )
    requested_at = models.DateTimeField(_("unblinded at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()  # "audited forever": even a deletion leaves its trace

    class Meta:
        verbose_name = _("emergency unblinding")
        verbose_name_plural = _("emergency unblindings")
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"{self.participant.study_id} · {self.requested_at:%Y-%m-%d %H:%M}"


class TrialUnblinding(models.Model):
    """Trial-level unblinding: the data manager and the statistician each confirm, separately."""

    data_manager_confirmed_at = models.DateTimeField(null=True, blank=True)
    data_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    statistician_confirmed_at = models.DateTimeField(null=True, blank=True)
    statistician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("trial-level unblinding")
        verbose_name_plural = _("trial-level unblindings")
        permissions = [("confirm_trial_unblinding", _("Can confirm trial-level unblinding"))]

    def __str__(self) -> str:
        return "trial unblinded" if self.complete else "trial unblinding pending"

    @property
    def complete(self) -> bool:
        return bool(self.data_manager_confirmed_at and self.statistician_confirmed_at)
