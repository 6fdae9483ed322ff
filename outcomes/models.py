"""Visits, outcome CRFs and unscheduled events (SPEC §4).

A participant's visits are created from `TRIAL.visits` at randomization (services.
visit_schedule_create). Each visit has the CRFs its configuration lists, one row per CRF, each
draft until marked complete. Computed values (P/F, Murray components, sum and mean) are stored
beside their inputs so that what the investigator saw is what the analysis reads. Ranges that
are impossible are refused twice: by the form, with a message, and by a check constraint.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kernel import trial
from kernel.limits import VITAL_SIGN_MEASURES
from kernel.trial import TRIAL
from kernel.validation import OneQueryCheckConstraints, within_hard_limit

from .checks import VENTILATED_SUPPORTS

_within = within_hard_limit


class VisitState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    MISSED = "missed", _("Missed")


class Visit(models.Model):
    """One scheduled visit of one participant, with its target date and window (clinicedc's
    `rlower`/`rupper` as dates). Whether it is upcoming, open, due or overdue depends on today
    and is computed (outcomes.schedule.visit_status), not stored."""

    # No index of its own: visit_once_each (participant, code) serves every lookup by
    # participant, and one index less is written 12 times per randomization (issue 24).
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("participant"),
        db_index=False,
    )
    code = models.CharField(_("visit"), max_length=8)
    day = models.SmallIntegerField(_("study day"))
    target_date = models.DateField(_("target date"))
    window_start = models.DateField(_("window opens"))
    window_end = models.DateField(_("window closes"))
    state = models.CharField(
        _("state"), max_length=10, choices=VisitState.choices, default=VisitState.SCHEDULED
    )
    missed_reason = models.TextField(_("reason the visit was missed"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["participant", "day"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        permissions = [
            ("enter_outcome_data", _("Can enter and correct visit CRFs and outcome events")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="visit_once_each"),
            models.CheckConstraint(
                condition=Q(window_start__lte=models.F("target_date"))
                & Q(target_date__lte=models.F("window_end")),
                name="visit_target_within_window",
            ),
            models.CheckConstraint(
                condition=~Q(state="missed") | ~Q(missed_reason=""),
                name="visit_missed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.code}"

    @property
    def config(self) -> trial.VisitConfig:
        return TRIAL.visit(self.code)

    @property
    def crf_codes(self) -> tuple[str, ...]:
        return self.config.crfs


class CrfStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    COMPLETE = "complete", _("Complete")


class Crf(OneQueryCheckConstraints, models.Model):
    """What every CRF has: its visit, draft or complete, the assessment date, the soft-limit
    warnings the user confirmed and why, and its audit trail."""

    crf_code: str = ""
    # Fields that must be filled before the CRF can be marked complete.
    required_for_complete: tuple[str, ...] = ()

    visit = models.OneToOneField(
        Visit, on_delete=models.PROTECT, related_name="%(class)s", verbose_name=_("visit")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CrfStatus.choices, default=CrfStatus.DRAFT
    )
    assessed_on = models.DateField(_("date of assessment"), null=True, blank=True)
    warnings_confirmed = models.TextField(_("soft-limit warnings confirmed"), blank=True)
    warning_reason = models.TextField(_("reason the warnings were confirmed"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("entered by"),
    )
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.visit} {TRIAL.crfs[self.crf_code]}"

    @property
    def is_complete(self) -> bool:
        return self.status == CrfStatus.COMPLETE

    def missing_for_complete(self) -> list[str]:
        """The verbose names of the fields still empty that completion needs."""
        return [
            str(self._meta.get_field(name).verbose_name)
            for name in ("assessed_on", *self.required_for_complete)
            if getattr(self, name) in (None, "")
        ]


# Respiratory support as the trial names it (kernel.trial), on the CRFs that record it.
SUPPORT_CHOICES = list(TRIAL.respiratory_support_labels.items())


class PreDoseCrf(Crf):
    """A CRF that is a Day-0 baseline assessment, made before the infusion (issue 18): it
    records the time of the assessment, needed at Day 0 to complete it, and checked against the
    infusion's start (outcomes.checks.pre_dose_errors, from either save)."""

    assessed_time = models.TimeField(
        _("time of assessment"),
        null=True,
        blank=True,
        help_text=_(
            "Day 0: the site's local time of the assessment, needed to complete; it must be "
            "before the infusion starts (a later time is refused and queried). Exported as "
            "HH:MM beside the study day."
        ),
    )

    class Meta:
        abstract = True

    def missing_for_complete(self) -> list[str]:
        missing = super().missing_for_complete()
        if self.assessed_time is None and self.visit.day == 0:
            missing.append(str(self._meta.get_field("assessed_time").verbose_name))
        return missing


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Baseline(PreDoseCrf):
    crf_code = trial.BASELINE
    required_for_complete = ("sex", "age_years", "weight_kg", "height_cm", "respiratory_support")

    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices, blank=True)
    age_years = models.PositiveSmallIntegerField(_("age"), null=True, blank=True)
    weight_kg = models.DecimalField(
        _("weight"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    height_cm = models.PositiveSmallIntegerField(_("height"), null=True, blank=True)
    hypertension = models.BooleanField(_("hypertension"), default=False)
    cardiovascular_disease = models.BooleanField(_("cardiovascular disease"), default=False)
    chronic_lung_disease = models.BooleanField(_("chronic lung disease"), default=False)
    obesity = models.BooleanField(_("obesity (BMI ≥ 30)"), default=False)
    other_comorbidities = models.CharField(_("other comorbidities"), max_length=300, blank=True)
    respiratory_support = models.CharField(
        _("respiratory support"), max_length=30, choices=SUPPORT_CHOICES, blank=True
    )

    class Meta:
        verbose_name = _("baseline CRF")
        verbose_name_plural = _("baseline CRFs")
        constraints = [
            models.CheckConstraint(condition=_within("weight_kg", "weight_kg"), name="bl_weight"),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__range=(100, 230)),
                name="bl_height",
            ),
        ]


class Infusion(Crf):
    crf_code = trial.INFUSION
    required_for_complete = ("started_at", "ended_at", "volume_ml", "completed", "reaction")

    started_at = models.DateTimeField(_("infusion started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("infusion ended"), null=True, blank=True)
    volume_ml = models.DecimalField(
        _("volume given"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    completed = models.BooleanField(_("full dose given"), null=True, blank=True)
    reaction = models.BooleanField(_("infusion reaction"), null=True, blank=True)
    reaction_details = models.TextField(_("reaction details"), blank=True)

    class Meta:
        verbose_name = _("infusion CRF")
        verbose_name_plural = _("infusion CRFs")
        constraints = [
            models.CheckConstraint(
                condition=Q(started_at__isnull=True)
                | Q(ended_at__isnull=True)
                | Q(ended_at__gte=models.F("started_at")),
                name="inf_end_after_start",
            ),
        ]


class AeAssessment(Crf):
    crf_code = trial.AE_ASSESSMENT
    required_for_complete = ("new_ae",)

    new_ae = models.BooleanField(_("any new AE since the last assessment"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("AE assessment CRF")
        verbose_name_plural = _("AE assessment CRFs")


class BloodGas(PreDoseCrf):
    crf_code = trial.BLOOD_GAS
    required_for_complete = ("pao2_mmhg", "fio2")

    pao2_mmhg = models.DecimalField(
        _("PaO₂"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    fio2 = models.DecimalField(_("FiO₂"), max_digits=4, decimal_places=3, null=True, blank=True)
    pf_ratio = models.DecimalField(
        _("PaO₂/FiO₂"), max_digits=5, decimal_places=1, null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("arterial blood gas CRF")
        verbose_name_plural = _("arterial blood gas CRFs")
        constraints = [
            models.CheckConstraint(condition=_within("fio2", "fio2"), name="abg_fio2"),
            models.CheckConstraint(condition=_within("pao2_mmhg", "pao2_mmhg"), name="abg_pao2"),
        ]


class Murray(PreDoseCrf):
    crf_code = trial.MURRAY
    required_for_complete = ("respiratory_support", "cxr_quadrants", "pao2_mmhg", "fio2")

    # PEEP and compliance apply to a ventilated patient only (Murray 1988, Table 2): the support
    # is recorded with them, pre-filled from the same day's data (issue 18).
    respiratory_support = models.CharField(
        _("respiratory support"), max_length=30, choices=SUPPORT_CHOICES, blank=True
    )
    pao2_mmhg = models.DecimalField(
        _("PaO₂"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    fio2 = models.DecimalField(_("FiO₂"), max_digits=4, decimal_places=3, null=True, blank=True)
    peep_cmh2o = models.DecimalField(
        _("PEEP"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    compliance_ml_cmh2o = models.DecimalField(
        _("static compliance"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    cxr_quadrants = models.PositiveSmallIntegerField(
        _("chest X-ray quadrants with consolidation"), null=True, blank=True
    )
    # Computed by outcomes.scores.murray_score and stored with the inputs.
    pf_ratio = models.DecimalField(
        _("PaO₂/FiO₂"), max_digits=5, decimal_places=1, null=True, blank=True, editable=False
    )
    pf_points = models.PositiveSmallIntegerField(_("P/F points"), null=True, editable=False)
    peep_points = models.PositiveSmallIntegerField(_("PEEP points"), null=True, editable=False)
    compliance_points = models.PositiveSmallIntegerField(
        _("compliance points"), null=True, editable=False
    )
    cxr_points = models.PositiveSmallIntegerField(
        _("chest X-ray points"), null=True, editable=False
    )
    # The analysed score is the mean (Murray 1988: the sum divided by the number of components
    # used); the sum alone mixes patients scored on 2, 3 or 4 components (docs/outcomes.md).
    total = models.PositiveSmallIntegerField(_("Murray sum (0–16)"), null=True, editable=False)
    n_components = models.PositiveSmallIntegerField(_("components used"), null=True, editable=False)
    score = models.DecimalField(
        _("Murray score, mean of the components (0–4)"),
        max_digits=3,
        decimal_places=2,
        null=True,
        editable=False,
    )

    class Meta:
        verbose_name = _("Murray lung injury score CRF")
        verbose_name_plural = _("Murray lung injury score CRFs")
        constraints = [
            models.CheckConstraint(condition=_within("fio2", "fio2"), name="mur_fio2"),
            models.CheckConstraint(condition=_within("pao2_mmhg", "pao2_mmhg"), name="mur_pao2"),
            models.CheckConstraint(condition=_within("peep_cmh2o", "peep_cmh2o"), name="mur_peep"),
            models.CheckConstraint(
                condition=_within("compliance_ml_cmh2o", "compliance_ml_cmh2o"),
                name="mur_compliance",
            ),
            models.CheckConstraint(
                condition=Q(cxr_quadrants__isnull=True) | Q(cxr_quadrants__lte=4),
                name="mur_cxr",
            ),
            # PEEP and compliance only for a ventilated patient (checks.murray_support_errors).
            models.CheckConstraint(
                condition=Q(peep_cmh2o__isnull=True, compliance_ml_cmh2o__isnull=True)
                | Q(respiratory_support__in=sorted(VENTILATED_SUPPORTS)),
                name="mur_peep_compliance_ventilated",
            ),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | Q(total__lte=16), name="mur_total"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=4), name="mur_score"
            ),
        ]


class CrpUnit(models.TextChoices):
    MG_L = "mg/L", "mg/L"
    MG_DL = "mg/dL", "mg/dL"


class Crp(PreDoseCrf):
    crf_code = trial.CRP
    required_for_complete = ("crp_mg_l",)

    crp_mg_l = models.DecimalField(_("CRP"), max_digits=5, decimal_places=1, null=True, blank=True)
    # What was typed, and in which unit, before the explicit conversion to mg/L.
    entered_value = models.DecimalField(
        _("CRP as entered"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    entered_unit = models.CharField(
        _("unit as entered"), max_length=6, choices=CrpUnit.choices, default=CrpUnit.MG_L
    )

    class Meta:
        verbose_name = _("CRP CRF")
        verbose_name_plural = _("CRP CRFs")
        constraints = [
            models.CheckConstraint(condition=_within("crp_mg_l", "crp_mg_l"), name="crp_range"),
        ]


class ClinicalStatus(PreDoseCrf):
    crf_code = trial.CLINICAL_STATUS
    required_for_complete = ("status_score",)

    status_score = models.PositiveSmallIntegerField(
        _("clinical status"),
        choices=[
            (score, _(TRIAL.clinical_status_scale.source(score)))  # noqa: INT001 (configured text)
            for score in sorted(TRIAL.clinical_status_scale)
        ],
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("clinical status CRF")
        verbose_name_plural = _("clinical status CRFs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status_score__isnull=True) | Q(status_score__range=(1, 6)),
                name="cs_scale",
            ),
        ]


class VitalStatus(models.TextChoices):
    ALIVE = "alive", _("Alive")
    DEAD = "dead", _("Dead")
    UNKNOWN = "unknown", _("Unknown (lost to follow-up)")


class Day60FollowUp(Crf):
    crf_code = trial.DAY60_FOLLOW_UP
    required_for_complete = ("vital_status", "icu_stays_confirmed")

    vital_status = models.CharField(
        _("vital status at day 60"), max_length=8, choices=VitalStatus.choices, blank=True
    )
    icu_stays_confirmed = models.BooleanField(
        _("every ICU stay up to day 60 is recorded"), null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("day-60 follow-up CRF")
        verbose_name_plural = _("day-60 follow-up CRFs")


# -- safety data (issue 19): vital signs, safety laboratory ------------------------------------


# The measures of every vital-signs CRF, in the CRF's order: kernel.limits.VITAL_SIGN_MEASURES
# (the screening's vital signs have the same; the DSMB's infusion tables read them from here).


class VitalSignsBase(Crf):
    """Temperature, heart rate, blood pressure, respiratory rate and SpO₂ with the FiO₂ and
    support it was measured on. One model per time point, so each is a CRF with its own SDV,
    queries, signature and lock: daily and at each visit (VitalSigns), and on D0 before the
    infusion and at 15, 30, 60 minutes and 4 hours after its start (infusion-reaction
    monitoring). Limits: TRIAL.hard_limits (refused) and TRIAL.vital_sign_soft_ranges."""

    required_for_complete = (*VITAL_SIGN_MEASURES, "respiratory_support")

    measured_at = models.TimeField(_("time measured"), null=True, blank=True)
    temperature_c = models.DecimalField(
        _("temperature"), max_digits=3, decimal_places=1, null=True, blank=True
    )
    heart_rate_bpm = models.PositiveSmallIntegerField(_("heart rate"), null=True, blank=True)
    systolic_mmhg = models.PositiveSmallIntegerField(
        _("systolic blood pressure"), null=True, blank=True
    )
    diastolic_mmhg = models.PositiveSmallIntegerField(
        _("diastolic blood pressure"), null=True, blank=True
    )
    respiratory_rate = models.PositiveSmallIntegerField(
        _("respiratory rate"), null=True, blank=True
    )
    spo2_percent = models.PositiveSmallIntegerField(_("SpO₂"), null=True, blank=True)
    fio2 = models.DecimalField(
        _("FiO₂ at the SpO₂"), max_digits=4, decimal_places=3, null=True, blank=True
    )
    respiratory_support = models.CharField(
        _("respiratory support at the SpO₂"),
        max_length=30,
        choices=list(TRIAL.respiratory_support_labels.items()),
        blank=True,
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=_within("temperature_c", "temperature_c"), name="%(class)s_temp"
            ),
            models.CheckConstraint(
                condition=_within("heart_rate_bpm", "heart_rate_bpm"), name="%(class)s_hr"
            ),
            models.CheckConstraint(
                condition=_within("systolic_mmhg", "systolic_mmhg"), name="%(class)s_sbp"
            ),
            models.CheckConstraint(
                condition=_within("diastolic_mmhg", "diastolic_mmhg"), name="%(class)s_dbp"
            ),
            models.CheckConstraint(
                condition=Q(systolic_mmhg__isnull=True)
                | Q(diastolic_mmhg__isnull=True)
                | Q(diastolic_mmhg__lt=models.F("systolic_mmhg")),
                name="%(class)s_dbp_below_sbp",
            ),
            models.CheckConstraint(
                condition=_within("respiratory_rate", "respiratory_rate"), name="%(class)s_rr"
            ),
            models.CheckConstraint(
                condition=_within("spo2_percent", "spo2_percent"), name="%(class)s_spo2"
            ),
            models.CheckConstraint(condition=_within("fio2", "fio2"), name="%(class)s_fio2"),
        ]


class VitalSigns(VitalSignsBase):
    """Vital signs, daily to D7 and at each later visit (issue 19)."""

    crf_code = trial.VITAL_SIGNS

    class Meta(VitalSignsBase.Meta):
        verbose_name = _("vital signs CRF")
        verbose_name_plural = _("vital signs CRFs")


class InfusionVitalSigns(VitalSignsBase):
    """A time point of the infusion-reaction monitoring: the time measured is required."""

    required_for_complete = ("measured_at", *VitalSignsBase.required_for_complete)

    class Meta(VitalSignsBase.Meta):
        abstract = True


class VitalSignsPreInfusion(InfusionVitalSigns):
    """Vital signs on D0 before the infusion (issue 19)."""

    crf_code = trial.VITALS_PRE_INFUSION

    class Meta(InfusionVitalSigns.Meta):
        verbose_name = _("pre-infusion vital signs CRF")
        verbose_name_plural = _("pre-infusion vital signs CRFs")


class VitalSigns15Min(InfusionVitalSigns):
    """Vital signs 15 minutes after the infusion starts (issue 19)."""

    crf_code = trial.VITALS_15_MIN

    class Meta(InfusionVitalSigns.Meta):
        verbose_name = _("15-minute vital signs CRF")
        verbose_name_plural = _("15-minute vital signs CRFs")


class VitalSigns30Min(InfusionVitalSigns):
    """Vital signs 30 minutes after the infusion starts (issue 19)."""

    crf_code = trial.VITALS_30_MIN

    class Meta(InfusionVitalSigns.Meta):
        verbose_name = _("30-minute vital signs CRF")
        verbose_name_plural = _("30-minute vital signs CRFs")


class VitalSigns60Min(InfusionVitalSigns):
    """Vital signs 60 minutes after the infusion starts (issue 19)."""

    crf_code = trial.VITALS_60_MIN

    class Meta(InfusionVitalSigns.Meta):
        verbose_name = _("60-minute vital signs CRF")
        verbose_name_plural = _("60-minute vital signs CRFs")


class VitalSigns4H(InfusionVitalSigns):
    """Vital signs 4 hours after the infusion starts (issue 19)."""

    crf_code = trial.VITALS_4_H

    class Meta(InfusionVitalSigns.Meta):
        verbose_name = _("4-hour vital signs CRF")
        verbose_name_plural = _("4-hour vital signs CRFs")


def _lab_number(label, *, editable: bool = True) -> models.DecimalField:
    return models.DecimalField(
        label, max_digits=12, decimal_places=4, null=True, blank=True, editable=editable
    )


def _lab_fields() -> dict[str, models.Field]:
    """The fields of each analyte of TRIAL.lab_analytes (SafetyLab)."""
    fields: dict[str, models.Field] = {}
    for analyte in TRIAL.lab_analytes:
        label = gettext_lazy(analyte.label)  # noqa: INT001 (configured text)
        code = analyte.code
        fields[code] = _lab_number(format_lazy("{} ({})", label, analyte.unit))
        fields[f"{code}_entered"] = _lab_number(format_lazy("{}, {}", label, _("as entered")))
        fields[f"{code}_unit"] = models.CharField(
            format_lazy("{}, {}", label, _("unit as entered")),
            max_length=12,
            choices=[(unit, unit) for unit in analyte.units],
            blank=True,
        )
        fields[f"{code}_lln"] = _lab_number(
            format_lazy("{}, {}", label, _("lower limit of normal")), editable=False
        )
        fields[f"{code}_uln"] = _lab_number(
            format_lazy("{}, {}", label, _("upper limit of normal")), editable=False
        )
        if analyte.ctcae_term:
            fields[f"{code}_grade"] = models.PositiveSmallIntegerField(
                format_lazy("{}, {} ({})", label, _("CTCAE v5.0 grade"), analyte.ctcae_term),
                null=True,
                editable=False,
            )
    return fields


class SafetyLab(Crf):
    """Safety laboratory of a visit: each result as entered, canonical, ranged, CTCAE-graded.

    Per analyte (TRIAL.lab_analytes, fields made by _lab_fields): the value as entered and its
    unit, the value in the canonical unit (stored by the service, an explicit conversion), the
    site's normal range it was judged against (LLN, ULN) and its CTCAE v5.0 grade
    (outcomes.ctcae), computed and stored beside it."""

    crf_code = trial.SAFETY_LAB
    required_for_complete = ()

    # The analytes' fields, in the class body so that the audit trail's historical model
    # (made when the class is created) has them too.
    locals().update(_lab_fields())

    class Meta:
        verbose_name = _("safety laboratory CRF")
        verbose_name_plural = _("safety laboratory CRFs")


# A CRF model picked by its code is one of these: each has its table and its `objects` manager,
# which the abstract `Crf` has not, so CRF_MODELS is typed with the union rather than `type[Crf]`.
ConcreteCrf = (
    Baseline
    | Infusion
    | AeAssessment
    | Murray
    | BloodGas
    | Crp
    | ClinicalStatus
    | Day60FollowUp
    | VitalSigns
    | VitalSignsPreInfusion
    | VitalSigns15Min
    | VitalSigns30Min
    | VitalSigns60Min
    | VitalSigns4H
    | SafetyLab
)

CRF_MODELS: dict[str, type[ConcreteCrf]] = {
    model.crf_code: model
    for model in (Baseline, Infusion, AeAssessment, Murray, BloodGas, Crp, ClinicalStatus)
}
CRF_MODELS[trial.DAY60_FOLLOW_UP] = Day60FollowUp
for _model in (
    VitalSigns,
    VitalSignsPreInfusion,
    VitalSigns15Min,
    VitalSigns30Min,
    VitalSigns60Min,
    VitalSigns4H,
    SafetyLab,
):
    CRF_MODELS[_model.crf_code] = _model
VITALS_MODELS = tuple(CRF_MODELS[code] for code in trial.VITALS_CRFS)


class IcuStay(models.Model):
    """One ICU episode: admission and discharge dates (discharge empty while ongoing)."""

    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="icu_stays",
        verbose_name=_("participant"),
    )
    admitted_on = models.DateField(_("admitted to ICU"))
    discharged_on = models.DateField(_("discharged from ICU"), null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["participant", "admitted_on"]
        verbose_name = _("ICU stay")
        verbose_name_plural = _("ICU stays")
        constraints = [
            models.CheckConstraint(
                condition=Q(discharged_on__isnull=True)
                | Q(discharged_on__gte=models.F("admitted_on")),
                name="icu_discharge_after_admission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} ICU {self.admitted_on}"


class EventKind(models.TextChoices):
    HOSPITAL_DISCHARGE = "hospital_discharge", _("Hospital discharge (alive)")
    DEATH = "death", _("Death")
    WITHDRAWAL = "withdrawal", _("Early termination: withdrawal of consent")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Early termination: lost to follow-up")


# Events after which no further visit applies (SPEC §4: "not applicable after death or
# withdrawal").
ENDING_EVENTS = (EventKind.DEATH, EventKind.WITHDRAWAL, EventKind.LOST_TO_FOLLOW_UP)


class StudyEvent(models.Model):
    """An unscheduled event: hospital discharge, death, or early termination. At most one of
    each kind per participant."""

    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="study_events",
        verbose_name=_("participant"),
    )
    kind = models.CharField(_("event"), max_length=20, choices=EventKind.choices)
    occurred_on = models.DateField(_("date"))
    details = models.TextField(_("details"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["participant", "occurred_on"]
        verbose_name = _("study event")
        verbose_name_plural = _("study events")
        constraints = [
            models.UniqueConstraint(fields=["participant", "kind"], name="event_once_each"),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.get_kind_display()} {self.occurred_on}"


class ConcomitantMedication(models.Model):
    """One line of a participant's concomitant-medications log, across the trial (issue 19).

    The COVID-19 therapies of interest are quick picks (TRIAL.conmed_quick_picks, `category`);
    any other drug is typed."""

    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="concomitant_medications",
        verbose_name=_("participant"),
    )
    category = models.CharField(
        _("therapy of interest"),
        max_length=20,
        choices=[(k, _(v)) for k, v in TRIAL.conmed_quick_picks.items()],  # noqa: INT001
        blank=True,
    )
    drug = models.CharField(_("drug name"), max_length=120)
    indication = models.CharField(_("indication"), max_length=200)
    dose = models.DecimalField(_("dose"), max_digits=9, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(
        _("dose unit"),
        max_length=12,
        choices=[(u, u) for u in TRIAL.conmed_dose_units],
        blank=True,
    )
    route = models.CharField(
        _("route"),
        max_length=8,
        choices=[(k, _(v)) for k, v in TRIAL.conmed_routes.items()],  # noqa: INT001, blank=True
    )
    frequency = models.CharField(
        _("frequency"),
        max_length=12,
        choices=[(k, _(v)) for k, v in TRIAL.conmed_frequencies.items()],  # noqa: INT001, blank=True
    )
    started_on = models.DateField(_("start date"))
    stopped_on = models.DateField(_("stop date"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("entered by"),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["participant", "started_on", "pk"]
        verbose_name = _("concomitant medication")
        verbose_name_plural = _("concomitant medications")
        constraints = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True) | Q(stopped_on__gte=models.F("started_on")),
                name="conmed_stop_after_start",
            ),
            models.CheckConstraint(
                condition=~(Q(ongoing=True) & Q(stopped_on__isnull=False)),
                name="conmed_ongoing_or_stopped",
            ),
            models.CheckConstraint(
                condition=Q(dose__isnull=True) | Q(dose__gt=0), name="conmed_dose_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.drug} {self.started_on}"


# --- end of study: disposition, vital status; the daily status (issue 18 points 2 and 3) ----


class DispositionOutcome(models.TextChoices):
    COMPLETED = "completed", _("Completed follow-up to day 60")
    WITHDREW_CONSENT = "withdrew_consent", _("Withdrew consent")
    LOST_TO_FOLLOW_UP = "lost_to_follow_up", _("Lost to follow-up")
    DIED = "died", _("Died")
    INVESTIGATOR_DECISION = "investigator_decision", _("Investigator decision")


# Follow-up ended early, alive: TTIC is censored at the last contact and ICU-free days are
# unknown (outcomes.scores, SPEC §10).
ENDED_EARLY_ALIVE = (
    DispositionOutcome.WITHDREW_CONSENT,
    DispositionOutcome.LOST_TO_FOLLOW_UP,
    DispositionOutcome.INVESTIGATOR_DECISION,
)


class VitalStatusSource(models.TextChoices):
    SEEN = "seen", _("Seen at the site (visit or hospital stay)")
    MEDICAL_RECORD = "medical_record", _("Hospital medical record")
    PHONE_PARTICIPANT = "phone_participant", _("Telephone call with the participant")
    PHONE_RELATIVE = "phone_relative", _("Telephone call with a relative or carer")
    DEATH_RECORD = "death_record", _("Death certificate or civil registry")
    OTHER = "other", _("Other source (say which in the notes)")


# What the coordinator enters on the end-of-study CRF (its form's fields, the service's values).
DISPOSITION_FIELDS = (
    "outcome",
    "last_contact_on",
    "vital_status_d28",
    "vital_status_d28_on",
    "vital_status_d28_source",
    "vital_status_d60",
    "vital_status_d60_on",
    "vital_status_d60_source",
    "notes",
)


class Disposition(models.Model):
    """The end-of-study CRF: one per participant (not per visit: follow-up can end on any day,
    before any visit), filled when follow-up ends — at the day-60 visit, or when the participant
    dies, withdraws or is lost. It says how follow-up ended, the last contact, and the vital
    status at days 28 and 60 with its date and source (CDISC CDASH DS and SS domains)."""

    participant = models.OneToOneField(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="disposition",
        verbose_name=_("participant"),
    )
    outcome = models.CharField(
        _("how follow-up ended"),
        max_length=24,
        choices=DispositionOutcome.choices,
        help_text=_(
            "Withdrew consent, lost to follow-up or investigator decision: time to clinical "
            "improvement is censored at the last contact and ICU-free days are unknown. Died: "
            "TTIC is censored at day 28 and ICU-free days are 0 (SPEC §10; docs/outcomes.md)."
        ),
    )
    last_contact_on = models.DateField(
        _("date of last contact"),
        help_text=_(
            "Not before randomization (Day 0), not in the future, not after a recorded death. "
            "Its study day is the censoring day when follow-up ended early alive."
        ),
    )
    vital_status_d28 = models.CharField(
        _("vital status at day 28"), max_length=8, choices=VitalStatus.choices
    )
    vital_status_d28_on = models.DateField(_("day-28 vital status known on"), null=True, blank=True)
    vital_status_d28_source = models.CharField(
        _("source of the day-28 vital status"),
        max_length=20,
        choices=VitalStatusSource.choices,
        blank=True,
    )
    vital_status_d60 = models.CharField(
        _("vital status at day 60"), max_length=8, choices=VitalStatus.choices
    )
    vital_status_d60_on = models.DateField(_("day-60 vital status known on"), null=True, blank=True)
    vital_status_d60_source = models.CharField(
        _("source of the day-60 vital status"),
        max_length=20,
        choices=VitalStatusSource.choices,
        blank=True,
    )
    notes = models.TextField(_("notes"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("end-of-study disposition")
        verbose_name_plural = _("end-of-study dispositions")

    def __str__(self) -> str:
        return f"{self.participant.study_id} {self.get_outcome_display()}"


class DailyStatus(models.Model):
    """The 6-point ordinal clinical status of one study day (Wang et al., Lancet 2020), entered
    on the daily page, D1 to D28 or the day of discharge or death. Day 0 is the D0 visit's
    clinical-status CRF (the pre-dose baseline), not repeated here."""

    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        related_name="daily_statuses",
        verbose_name=_("participant"),
    )
    day = models.PositiveSmallIntegerField(_("study day"))
    status_score = models.PositiveSmallIntegerField(
        _("clinical status"),
        choices=[
            (score, _(TRIAL.clinical_status_scale.source(score)))  # noqa: INT001 (configured text)
            for score in sorted(TRIAL.clinical_status_scale)
        ],
        help_text=_(
            "6-point ordinal scale (Wang et al., Lancet 2020). TTIC is the first day 2 points "
            "below the Day-0 status, or discharge alive; where a visit CRF gives the same day, "
            "the worse of the two counts."
        ),
    )
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["participant", "day"]
        verbose_name = _("daily clinical status")
        verbose_name_plural = _("daily clinical statuses")
        constraints = [
            models.UniqueConstraint(fields=["participant", "day"], name="daily_status_once_a_day"),
            models.CheckConstraint(
                condition=Q(day__gte=1) & Q(day__lte=TRIAL.ttic_horizon_day),
                name="daily_status_day_range",
            ),
            models.CheckConstraint(
                condition=Q(status_score__range=(1, 6)), name="daily_status_scale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant.study_id} D{self.day} {self.status_score}"
