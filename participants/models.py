"""Screening, eligibility, consent, identifying data and enrolled participants (SPEC §2).

A patient is first a `Screening` (a screening number, eligible or not: the top of the CONSORT
diagram). Identifying data (PHI) belong to the screening and live apart in `IdentifyingData`.
An eligible, consented screening becomes a `Participant` at enrollment, with a study ID; study
data in every other app refer to the `Participant` only (docs/decisions/0004-screening-first.md).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from kernel.limits import VITAL_SIGN_MEASURES
from kernel.trial import SCREENING_VITALS, TRIAL
from kernel.validation import OneQueryCheckConstraints, within_hard_limit

STUDY_ID_PATTERN = r"^\d{2}-\d{4}$"
SCREENING_NUMBER_PATTERN = rf"^{TRIAL.screening_number_prefix}\d{{2}}-\d{{4}}$"


class ParticipantStatus(models.TextChoices):
    """Where a person stands. A `Screening` passes through screened → eligible → consented;
    a `Participant` starts at enrolled. Only participants/services and randomization/services
    write it."""

    SCREENED = "screened", _("Screened")
    ELIGIBLE = "eligible", _("Eligible")
    CONSENTED = "consented", _("Consented")
    ENROLLED = "enrolled", _("Enrolled")
    RANDOMIZED = "randomized", _("Randomized")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    COMPLETED = "completed", _("Completed")
    DIED = "died", _("Died")


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class NotEnrolledReason(models.TextChoices):
    """Why a screened patient was not enrolled (CONSORT: excluded, with reasons)."""

    INELIGIBLE = "ineligible", _("Criterion failed")
    DECLINED = "declined", _("Declined consent")
    OTHER = "other", _("Other")


class SiteSequence(models.Model):
    """The last number handed out per site and kind, so a number is never reused.

    Incremented only under a row lock on the site (services._next_number).
    """

    SCREENING = "screening"
    STUDY_ID = "study_id"

    site = models.ForeignKey("trialedc.Site", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "kind"], name="site_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at site {self.site_id}: {self.last_value}"


class Screening(models.Model):
    """One screening of one patient: the screening log's row."""

    site = models.ForeignKey(
        "trialedc.Site", on_delete=models.PROTECT, related_name="screenings", verbose_name=_("site")
    )
    screening_number = models.CharField(
        _("screening number"),
        max_length=8,
        unique=True,
        validators=[RegexValidator(SCREENING_NUMBER_PATTERN)],
    )
    sequence = models.PositiveIntegerField(_("sequence at the site"))
    screened_on = models.DateField(_("screening date"))
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("screened by"),
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # The same person screened before (warned at screening; the user confirmed it is a re-screen).
    previous_screening = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("earlier screening of the same person"),
    )
    not_enrolled_reason = models.CharField(
        _("reason not enrolled"), max_length=12, choices=NotEnrolledReason.choices, blank=True
    )
    not_enrolled_detail = models.CharField(_("details"), max_length=300, blank=True)
    # One form, one record: a double submit carries the same token (unique).
    submission_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "sequence"]
        verbose_name = _("screening")
        verbose_name_plural = _("screenings")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "sequence"], name="screening_sequence_per_site"
            ),
            models.CheckConstraint(
                condition=models.Q(screening_number__regex=SCREENING_NUMBER_PATTERN),
                name="screening_number_format",
            ),
        ]

    def __str__(self) -> str:
        return self.screening_number


class IdentifyingData(models.Model):
    """Protected health information: seen only with participants.view_identifyingdata, own site.

    Study data never hold these fields; exports and blinded views cannot join them by accident.
    """

    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="identity", verbose_name=_("screening")
    )
    full_name = models.CharField(_("full name"), max_length=200)
    national_id = models.CharField(_("national ID"), max_length=10, blank=True, db_index=True)
    hospital_record_number = models.CharField(
        _("hospital record number"), max_length=40, blank=True
    )
    date_of_birth = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.TextField(_("address"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("identifying data")
        verbose_name_plural = _("identifying data")

    def __str__(self) -> str:
        return f"{self.screening.screening_number} identifying data"


class Eligibility(models.Model):
    """The eligibility form. The answers are typed; I2, I4 and the verdict are computed
    (participants.rules) by the service and stored with the answers, for the audit trail."""

    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="eligibility", verbose_name=_("screening")
    )
    # Inclusion answers (yes = met).
    i1 = models.BooleanField("I1", null=True)
    i3 = models.BooleanField("I3", null=True)
    i5 = models.BooleanField("I5", null=True)
    # Exclusion answers (yes = excluded). E2 is asked of women only (null for men).
    e1 = models.BooleanField("E1", null=True)
    e2 = models.BooleanField("E2", null=True, blank=True)
    e3 = models.BooleanField("E3", null=True)
    e4 = models.BooleanField("E4", null=True)
    e5 = models.BooleanField("E5", null=True)
    e6 = models.BooleanField("E6", null=True)
    e7 = models.BooleanField("E7", null=True)
    e8 = models.BooleanField("E8", null=True)
    e9 = models.BooleanField("E9", null=True)
    e10 = models.BooleanField("E10", null=True)
    e11 = models.BooleanField("E11", null=True)
    e12 = models.BooleanField("E12", null=True)
    e13 = models.BooleanField("E13", null=True)
    # The pregnancy test at screening (issue 19), women only (None / "" for men): E2 reads them
    # (participants.rules.pregnancy_met).
    childbearing_potential = models.BooleanField(
        _("woman of childbearing potential"), null=True, blank=True
    )
    pregnancy_test = models.CharField(
        _("pregnancy test at screening"),
        max_length=8,
        choices=[
            ("negative", _("Negative")),
            ("positive", _("Positive")),
            ("not_done", _("Not done")),
        ],
        blank=True,
    )
    pao2_mmhg = models.DecimalField(_("PaO2 (mmHg)"), max_digits=4, decimal_places=1)
    fio2_entered = models.DecimalField(_("FiO2 as entered"), max_digits=5, decimal_places=2)
    fio2_unit = models.CharField(
        _("FiO2 entered as"),
        max_length=8,
        choices=[("fraction", _("fraction")), ("percent", _("percent"))],
    )
    fio2 = models.DecimalField(_("FiO2 (fraction)"), max_digits=4, decimal_places=3)
    # Computed, never typed.
    pf_ratio = models.DecimalField(_("PaO2/FiO2 (mmHg)"), max_digits=6, decimal_places=1)
    age_years = models.PositiveSmallIntegerField(_("age on the screening date (years)"))
    eligible = models.BooleanField(_("eligible"))
    failed_criteria = models.CharField(_("criteria not met"), max_length=100, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    assessed_at = models.DateTimeField(_("assessed at"), auto_now=True)
    # Investigator's confirmation; voided by any later change to the answers.
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    history = HistoricalRecords()

    ANSWER_FIELDS = (
        "i1", "i3", "i5", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9", "e10", "e11",
        "e12", "e13",
    )  # fmt: skip
    PREGNANCY_FIELDS = ("childbearing_potential", "pregnancy_test")

    class Meta:
        verbose_name = _("eligibility")
        verbose_name_plural = _("eligibility")
        permissions = [("confirm_eligibility", _("Can confirm eligibility (investigator)"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fio2__gte="0.21", fio2__lte="1.00"), name="eligibility_fio2"
            ),
            models.CheckConstraint(
                condition=models.Q(pao2_mmhg__gte=20, pao2_mmhg__lte=700),
                name="eligibility_pao2",
            ),
            models.CheckConstraint(
                condition=models.Q(confirmed_by__isnull=True, confirmed_at__isnull=True)
                | models.Q(confirmed_by__isnull=False, confirmed_at__isnull=False),
                name="eligibility_confirmation_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.screening.screening_number} eligibility"

    @property
    def failed_codes(self) -> list[str]:
        return [c for c in self.failed_criteria.split(",") if c]


class ScreeningVitalSigns(OneQueryCheckConstraints, models.Model):
    """Vital signs at screening (issue 19), one per screening; audited, verified, queried, signed.

    Once the screening is enrolled, a record of its casebook with no visit (`screening_vitals`).

    The same measures, units and limits as the visits' vital-signs CRFs (kernel.limits checks
    both; TRIAL.hard_limits also bounds the columns here), recorded with the screening, before
    the person is a participant. For a randomized participant they are the first vital signs
    of the casebook and of participants.csv in the export, before Day 0's. Data management
    names the record by its participant and `crf_code` (no visit): SDV marks, queries,
    signatures and locks as a CRF's (datamanagement.selectors.VISITLESS_RECORDS)."""

    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="vital_signs", verbose_name=_("screening")
    )
    measured_on = models.DateField(_("date measured"))
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
    # Values outside TRIAL.vital_sign_soft_ranges, saved once confirmed with a reason.
    warnings_confirmed = models.TextField(_("soft-limit warnings confirmed"), blank=True)
    warning_reason = models.TextField(_("reason the warnings were confirmed"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now=True)
    history = HistoricalRecords()

    # Its code where data management names records (queries, SDV marks, signatures, locks):
    # the casebook's record of no visit (datamanagement.selectors.VISITLESS_RECORDS).
    crf_code = SCREENING_VITALS
    MEASURES = VITAL_SIGN_MEASURES
    VALUE_FIELDS = (
        "measured_on",
        "measured_at",
        *VITAL_SIGN_MEASURES,
        "fio2",
        "respiratory_support",
    )

    class Meta:
        verbose_name = _("vital signs at screening")
        verbose_name_plural = _("vital signs at screening")
        constraints = [
            *(
                models.CheckConstraint(
                    condition=within_hard_limit(name, name), name=f"screening_vitals_{name}"
                )
                for name in (*VITAL_SIGN_MEASURES, "fio2")
            ),
            models.CheckConstraint(
                condition=models.Q(systolic_mmhg__isnull=True)
                | models.Q(diastolic_mmhg__isnull=True)
                | models.Q(diastolic_mmhg__lt=models.F("systolic_mmhg")),
                name="screening_vitals_dbp_below_sbp",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.screening.screening_number} vital signs"


class ConsentSigner(models.TextChoices):
    PARTICIPANT = "participant", _("The participant")
    REPRESENTATIVE = "representative", _("A legal representative")


class Consent(models.Model):
    """Written informed consent (criterion I6), recorded once per screening."""

    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="consent", verbose_name=_("screening")
    )
    consented_at = models.DateTimeField(_("date and time of consent"))
    form_version = models.CharField(_("consent-form version"), max_length=20)
    signer = models.CharField(_("signed by"), max_length=14, choices=ConsentSigner.choices)
    representative_name = models.CharField(_("representative's name"), max_length=200, blank=True)
    representative_relationship = models.CharField(
        _("representative's relationship"), max_length=20, blank=True
    )
    obtained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("person obtaining consent"),
    )
    witness_name = models.CharField(_("witness"), max_length=200)
    scanned_form_reference = models.CharField(_("scanned-form reference"), max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signer="participant")
                | (~models.Q(representative_name="") & ~models.Q(representative_relationship="")),
                name="consent_representative_named",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.screening.screening_number} consent"

    @property
    def relationship_label(self) -> str:
        relationships = TRIAL.consent_representative_relationships
        label = relationships.get(self.representative_relationship)
        return gettext(label) if label else self.representative_relationship


class Participant(models.Model):
    """An enrolled participant: what every other app's study data refer to, by study ID."""

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
    screening = models.OneToOneField(
        Screening, on_delete=models.PROTECT, related_name="participant", verbose_name=_("screening")
    )
    # The screening's identifying data, so study-data lists can select_related("identity") for
    # the roles allowed to see it. Always screening.identity (set by participant_enroll).
    identity = models.OneToOneField(
        IdentifyingData,
        on_delete=models.PROTECT,
        related_name="participant",
        verbose_name=_("identifying data"),
    )
    enrolled_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("enrolled by"),
    )
    # The audit rows keep an index on what a query of them reads (the record's id, its study
    # ID, its site, the date and the user: the audit trail's filters and order), none on the
    # screening, the identifying data and the enrolling user: no query looks audit rows up by
    # them, and each index is one more entry per audit row written (issue 24,
    # docs/performance.md "Randomization, fifth step").
    history = HistoricalRecords(no_db_index=["screening", "identity", "enrolled_by"])

    class Meta:
        ordering = ["study_id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        permissions = [("enroll_participant", _("Can enroll an eligible, consented patient"))]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(study_id__regex=STUDY_ID_PATTERN),
                name="participant_study_id_format",
            ),
        ]

    def __str__(self) -> str:
        return self.study_id


class WithdrawalScope(models.TextChoices):
    ALL_FURTHER_DATA = "all_data", _("All further data collection")
    FOLLOW_UP_ONLY = "follow_up", _("Study follow-up only (routine records may still be used)")


class ConsentWithdrawal(models.Model):
    """Withdrawal of consent: no further study data from `withdrawn_on` (SPEC §2)."""

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="withdrawal",
        verbose_name=_("participant"),
    )
    withdrawn_on = models.DateField(_("date of withdrawal"))
    scope = models.CharField(_("scope"), max_length=10, choices=WithdrawalScope.choices)
    reason = models.CharField(_("reason (optional)"), max_length=300, blank=True)
    status_before = models.CharField(max_length=12, choices=ParticipantStatus.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("withdrawal of consent")
        verbose_name_plural = _("withdrawals of consent")

    def __str__(self) -> str:
        return f"{self.participant.study_id} withdrawal"
