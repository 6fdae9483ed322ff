"""The trial configuration: every number, list and mapping the product uses, as data.

Source: the registry record IRCT20201202049568N3 (../shared/protocol/) and SPEC.md. Where the two
differ, the record wins and docs/protocol-differences.md says so. The rest of the code reads the
trial from `TRIAL`; no app writes a protocol number of its own. Plain Python, no Django import,
so the clinical rules that read it stay testable with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol, TypeVar


@dataclass(frozen=True)
class SiteConfig:
    code: str  # two digits; the prefix of every study ID at the site (`01-0007`)
    name: str
    time_zone: str


@dataclass(frozen=True)
class ArmConfig:
    code: str
    label: str
    description: str


@dataclass(frozen=True)
class StratumConfig:
    code: str
    label: str
    description: str


@dataclass(frozen=True)
class PhaseConfig:
    code: str
    label: str
    target_total: int
    slots_per_stratum: int | None  # fixed list length per stratum (phase I); None = open
    per_stratum_per_arm: int | None  # exact arm count per stratum (phase I: 3 of 6)


@dataclass(frozen=True)
class VisitConfig:
    code: str
    day: int
    window_before: int  # days the visit may be early (clinicedc's `rlower`)
    window_after: int  # days it may be late (`rupper`)
    crfs: tuple[str, ...]


@dataclass(frozen=True)
class Limit:
    """A hard edit-check limit: values outside [minimum, maximum] are impossible and refused."""

    label: str
    unit: str
    minimum: Decimal
    maximum: Decimal


@dataclass(frozen=True)
class LabAnalyteConfig:
    """One safety-laboratory analyte (issue 19): stored in one canonical `unit`; each unit a
    site may report in, with its factor to the canonical one (value × factor); its hard limits
    in the canonical unit; a default normal range (LLN, ULN) the site's own replaces
    (TrialConfig.lab_normal_ranges); and the CTCAE v5.0 term graded from it ("" if CTCAE
    grades none from a value: D-dimer, ferritin, LDH, troponin)."""

    code: str  # the field of the safety-lab CRF holding the canonical value
    label: str
    unit: str
    unit_factors: tuple[tuple[str, Decimal], ...]
    minimum: Decimal
    maximum: Decimal
    normal_range: tuple[Decimal, Decimal]
    ctcae_term: str = ""

    def factor(self, unit: str) -> Decimal:
        return dict(self.unit_factors)[unit]

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(unit for unit, _ in self.unit_factors)


@dataclass(frozen=True)
class CriterionConfig:
    """One eligibility criterion (SPEC §2; wording from the registry record's detailed list).

    `source` says how the answer is obtained: "answer" (a yes/no question on the form),
    "computed" (I2 from PaO2/FiO2, I4 from the date of birth), or "consent" (I6, met by the
    consent record). An inclusion criterion is met by "yes"; an exclusion criterion by "no".
    """

    code: str
    kind: str  # "inclusion" | "exclusion"
    wording: str  # the registry record's own words
    question: str  # how the form asks it at the bedside
    source: str = "answer"
    women_only: bool = False


@dataclass(frozen=True)
class ConsentFormVersion:
    """An ethics-approved consent form; usable for a consent dated within its validity."""

    code: str
    label: str
    valid_from: date
    valid_until: date | None = None  # None: still current

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


def gettext_noop(message: str) -> str:
    """Marks a configuration text for `makemessages` without importing Django; the pages
    translate it when they show it. The registry's own wording is quoted, never translated."""
    return message


def _untranslated(message: str) -> str:
    return message


_translator: Callable[[str], str] = _untranslated


def translator_install(function: Callable[[str], str]) -> None:
    """Django's gettext, installed by the kernel app when Django starts (kernel.apps): this
    module and the rule modules built on it import no Django, and outside Django (a pure unit
    test) a message stays in English."""
    global _translator
    _translator = function


def translate(message: str) -> str:
    """The message in the reader's language (the installed translator)."""
    return _translator(message)


Key = TypeVar("Key")


class TranslatedNames(Mapping[Key, str]):
    """Names written in English in the configuration and read in the reader's language: every
    read translates (through `translate`, Django's gettext once the kernel app is ready).
    `source(key)` is the English, for exports and the data dictionary, which stay in the source
    language."""

    def __init__(self, names: dict[Key, str]) -> None:
        self._names = dict(names)

    @staticmethod
    def _shown(text: str) -> str:
        return translate(text)

    def __getitem__(self, key: Key) -> str:
        return self._shown(self._names[key])

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __iter__(self) -> Iterator[Key]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def source(self, key: Key) -> str:
        return self._names[key]


INCLUSION = "inclusion"
EXCLUSION = "exclusion"

ELIGIBILITY_CRITERIA: tuple[CriterionConfig, ...] = (
    CriterionConfig(
        "I1",
        INCLUSION,
        "Definitive infection with COVID-19 confirmed by PCR",
        gettext_noop("Is COVID-19 infection confirmed by PCR?"),
    ),
    CriterionConfig(
        "I2",
        INCLUSION,
        "Acute respiratory distress Syndrome of moderate to severe type (PaO2/ FiO2 <200mmHg)",
        gettext_noop("PaO2/FiO2 below 200 mmHg (computed from PaO2 and FiO2)"),
        source="computed",
    ),
    CriterionConfig(
        "I3",
        INCLUSION,
        "Chest X-ray showed bilateral infiltration with pulmonary edema",
        gettext_noop("Does the chest X-ray show bilateral infiltration with pulmonary oedema?"),
    ),
    CriterionConfig(
        "I4",
        INCLUSION,
        "Age range between 18 to 65 years",
        gettext_noop("Age 18 to 65 years on the screening date (computed from the date of birth)"),
        source="computed",
    ),
    CriterionConfig(
        "I5",
        INCLUSION,
        "No participation in another clinical trial during this study",
        gettext_noop("Is the patient free of participation in any other clinical trial?"),
    ),
    CriterionConfig(
        "I6",
        INCLUSION,
        "Patients who have given themselves and their families a full explanation of the study "
        "process and have obtained informed written consent",
        gettext_noop("Written informed consent (met by the consent record)"),
        source="consent",
    ),
    CriterionConfig(
        "E1",
        EXCLUSION,
        "Cancer or malignant diseases",
        gettext_noop("Cancer or malignant disease?"),
    ),
    CriterionConfig(
        "E2",
        EXCLUSION,
        "Pregnant women or planning to become pregnant",
        gettext_noop("Pregnant or planning to become pregnant?"),
        women_only=True,
    ),
    CriterionConfig(
        "E3", EXCLUSION, "Inflammatory diseases", gettext_noop("Inflammatory disease?")
    ),
    CriterionConfig(
        "E4",
        EXCLUSION,
        "Symptoms or history of liver or kidney failure",
        gettext_noop("Symptoms or history of liver or kidney failure?"),
    ),
    CriterionConfig(
        "E5",
        EXCLUSION,
        "History of lung surgery or Lung transplantation",
        gettext_noop("History of lung surgery or lung transplantation?"),
    ),
    CriterionConfig(
        "E6", EXCLUSION, "Having an autoimmune disease", gettext_noop("Autoimmune disease?")
    ),
    CriterionConfig(
        "E7",
        EXCLUSION,
        "Metabolic disorders (such as diabetes)",
        gettext_noop("Metabolic disorder (such as diabetes)?"),
    ),
    CriterionConfig(
        "E8",
        EXCLUSION,
        "Infectious viral infection",
        gettext_noop("Another active viral infection (besides COVID-19)?"),
    ),
    CriterionConfig(
        "E9",
        EXCLUSION,
        "Proven blood clotting disorders",
        gettext_noop("Proven blood-clotting disorder?"),
    ),
    CriterionConfig(
        "E10",
        EXCLUSION,
        "Severe trauma occurred within 14 days before screening",
        gettext_noop("Severe trauma within the 14 days before screening?"),
    ),
    CriterionConfig(
        "E11",
        EXCLUSION,
        "They are undergoing hemodialysis or peritoneal dialysis",
        gettext_noop("Undergoing haemodialysis or peritoneal dialysis?"),
    ),
    CriterionConfig(
        "E12",
        EXCLUSION,
        "Bone marrow transplantation",
        gettext_noop("Bone-marrow transplantation?"),
    ),
    CriterionConfig(
        "E13",
        EXCLUSION,
        "Have a history of epilepsy, need continuous anticonvulsant therapy",
        gettext_noop("History of epilepsy, or continuous anticonvulsant therapy?"),
    ),
)

# The record names no consent-form version; these are placeholders until the ethics-approved
# versions are entered (docs/protocol-differences.md). Ethics approval: 2020-11-21.
CONSENT_FORM_VERSIONS: tuple[ConsentFormVersion, ...] = (
    ConsentFormVersion("1.0", "ICF version 1.0 (2020-11-21)", date(2020, 11, 21), date(2021, 3, 4)),
    ConsentFormVersion("1.1", "ICF version 1.1 (2021-03-05)", date(2021, 3, 5)),
)

CONSENT_REPRESENTATIVE_RELATIONSHIPS: dict[str, str] = {
    "spouse": gettext_noop("Spouse"),
    "parent": gettext_noop("Parent"),
    "child": gettext_noop("Adult child"),
    "sibling": gettext_noop("Sibling"),
    "other_relative": gettext_noop("Other relative"),
    "legal_guardian": gettext_noop("Court-appointed legal guardian"),
}


@dataclass(frozen=True)
class TrialConfig:
    registry_id: str
    acronym: str
    public_title: str
    scientific_title: str
    ethics_reference: str
    target_sample_size: int
    sites: tuple[SiteConfig, ...]
    arms: tuple[ArmConfig, ...]
    allocation_ratio: tuple[int, int]
    strata: tuple[StratumConfig, ...]
    respiratory_support_stratum: dict[str, str]
    respiratory_support_labels: dict[str, str]
    block_sizes: tuple[int, ...]
    phases: tuple[PhaseConfig, ...]
    age_min_years: int
    age_max_years: int
    pf_ratio_threshold_mmhg: int
    dose_exosomes_per_kg: int
    dose_volume_ml: Decimal
    visits: tuple[VisitConfig, ...]
    crfs: TranslatedNames[str]
    hard_limits: dict[str, Limit]
    pf_ratio_soft_maximum: int
    clinical_status_scale: TranslatedNames[int]
    ttic_improvement_points: int
    ttic_horizon_day: int
    icu_free_days_horizon_day: int
    sae_initial_report_hours: int
    susar_clock_days_fatal_or_life_threatening: int
    susar_clock_days_other: int
    crp_unit: str
    # Each later issue adds its configuration in its own section below (fields with defaults,
    # so the sections stay independent).
    # --- participants: screening, consent (issue 4) ---
    eligibility_criteria: tuple[CriterionConfig, ...] = ELIGIBILITY_CRITERIA
    consent_form_versions: tuple[ConsentFormVersion, ...] = CONSENT_FORM_VERSIONS
    consent_representative_relationships: dict[str, str] = field(
        default_factory=lambda: dict(CONSENT_REPRESENTATIVE_RELATIONSHIPS)
    )
    # A date of birth giving an age outside [0, this] on the screening date is impossible.
    age_plausible_max_years: int = 120
    # Screening numbers: "<prefix><site code>-<4 digits>", e.g. S01-0003 (study IDs: 01-0003).
    screening_number_prefix: str = "S"
    # --- randomization: lists, pharmacy, unblinding (issue 5) ---
    # Envelope codes: no 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B, so a code read aloud is unambiguous.
    envelope_alphabet: str = "ACDEFHJKMNPQRTUVWXY3479"
    envelope_length: int = 6
    # Phase II opens only after this phase's safety review is approved (SPEC §3 phase gate).
    gated_phase: str = "II"
    gate_review_of_phase: str = "I"
    # ... and only once every slot of the reviewed phase is used and each of its participants
    # has completed the safety window: this visit done, or follow-up ended by death or
    # withdrawal (SPEC §10, phase gate; docs/randomization.md).
    gate_safety_window_visit: str = "D14"
    # The number a blinded user sees: "<stratum>-<NNN>", counted across the phases of a stratum.
    randomization_number_digits: int = 3
    # Whom an emergency unblinding alerts besides the site's investigators and pharmacists.
    sponsor_safety_contact_email: str = "safety@sponsor.example.org"
    # A prepared syringe is used within this many hours (printed on the label, same for both arms).
    syringe_use_within_hours: int = 4
    # --- outcomes: visits, CRFs, edit checks (issue 6) ---
    # Soft limits: a value that moved more than this since the participant's previous visit
    # asks for confirmation with a reason (SPEC §4). Keys are CRF field names.
    soft_limit_deltas: dict[str, Decimal] = field(
        default_factory=lambda: {
            "pf_ratio": Decimal("150"),
            "crp_mg_l": Decimal("150"),
            "murray_score": Decimal("1.5"),
            "clinical_status": Decimal("2"),
        }
    )
    # CRP entry units and their factor to the stored unit, mg/L (1 mg/dL = 10 mg/L).
    crp_unit_factors: dict[str, Decimal] = field(
        default_factory=lambda: {"mg/L": Decimal("1"), "mg/dL": Decimal("10")}
    )
    # --- safety: AE/SAE, alerts, reminders (issue 7) ---
    # Coded terms: (preferred term, system organ class), MedDRA-like; free text is allowed and
    # flagged "to be coded" (docs/safety.md).
    ae_preferred_terms: tuple[tuple[str, str], ...] = ()
    # Reference safety information (the investigator's brochure): preferred term -> the highest
    # CTCAE grade at which it is expected. A listed event that is more severe is unexpected
    # (ICH E2A, II.C: "more specific or severe" than the RSI).
    reference_safety_information: dict[str, int] = field(default_factory=dict)
    # Who receives SAE and SUSAR alerts besides the site's investigators (users with an e-mail).
    sponsor_safety_contacts: tuple[str, ...] = ()
    medical_monitors: tuple[str, ...] = ()
    sae_follow_up_reminder_hours: int = 24
    susar_reminder_days_left: tuple[int, ...] = (2, 1)
    # ICH E2A III.A.1: a fatal or life-threatening SUSAR's 7-day report is followed by as
    # complete a report as possible within 8 additional calendar days.
    susar_completion_days: int = 8
    alert_retry_base_seconds: int = 60  # delivery backoff: 1, 2, 4, ... minutes
    alert_retry_max_seconds: int = 900  # never wait more than 15 minutes between attempts
    # CIOMS I, boxes 1a, 17 and 24a.
    reporting_country: str = ""
    indication: str = ""
    sponsor_name_address: str = ""
    # --- exports (issue 8) ---
    # HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(C)): ages above this are one group, "90+".
    export_age_top_code: int = 89
    # Units of exported numbers that hard_limits does not give (field name -> unit).
    export_units: dict[str, str] = field(default_factory=dict)
    # Rows fetched per round trip while an export streams (QuerySet.iterator chunk_size).
    export_chunk_size: int = 2000
    # --- data management: queries, SDV, signatures, locks (issue 10) ---
    # Source-data verification per CRF code: "all" fields, "none", or the fields to verify.
    sdv_requirements: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    # What an investigator's signature means, by code (21 CFR 11.50(a)(3)).
    signature_meanings: dict[str, str] = field(default_factory=dict)
    # Query ageing bands (days open) shown in the query lists.
    query_ageing_days: tuple[int, ...] = (7, 14, 30)
    # Failed password re-entries at signing before the user must sign in again (11.300(d)).
    signature_attempts_allowed: int = 3
    # The "system security unit" told at once when a signer reaches that limit (11.300(d)),
    # besides every active data manager with an e-mail address.
    security_contacts: tuple[str, ...] = ()
    # --- safety data: vital signs, safety laboratory, medications, pregnancy (issue 19) ---
    # Vital signs: hard limits are in hard_limits (refused); outside this (low, high) range a
    # value asks for confirmation with a reason (None: no bound on that side).
    vital_sign_soft_ranges: dict[str, tuple[Decimal | None, Decimal | None]] = field(
        default_factory=dict
    )
    # Infusion-reaction monitoring: the D0 time points after the infusion starts (CRF code ->
    # minutes after the start), the minutes a measurement may be off that time before it
    # warns, and the changes from the pre-infusion values that suggest a reaction (field ->
    # change; a negative change is a fall).
    infusion_vital_timepoints: dict[str, int] = field(default_factory=dict)
    infusion_vital_time_tolerance_minutes: int = 10
    infusion_reaction_changes: dict[str, Decimal] = field(default_factory=dict)
    # Safety laboratory: the analytes, each site's normal ranges (site code -> analyte ->
    # (LLN, ULN), canonical units; an analyte not listed uses its default range), and the visit
    # whose results are the baseline of the CTCAE shifts.
    lab_analytes: tuple[LabAnalyteConfig, ...] = ()
    lab_normal_ranges: dict[str, dict[str, tuple[Decimal, Decimal]]] = field(default_factory=dict)
    lab_baseline_visit: str = "D0"
    # A lab result prompts an AE (soft check with a query) at a new CTCAE grade of at least
    # this, or a worsening of at least `lab_ae_worsening_grades` from the baseline grade.
    lab_ae_grade: int = 3
    lab_ae_worsening_grades: int = 2
    # Concomitant medications: the COVID-19 therapies of interest offered as quick picks
    # (code -> label), the dose units, routes and frequencies.
    conmed_quick_picks: dict[str, str] = field(default_factory=dict)
    conmed_dose_units: tuple[str, ...] = ()
    conmed_routes: dict[str, str] = field(default_factory=dict)
    conmed_frequencies: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)

    def lab_analyte(self, code: str) -> LabAnalyteConfig:
        return _by_code(self.lab_analytes, code)

    def lab_normal_range(self, site_code: str, analyte: str) -> tuple[Decimal, Decimal]:
        """The site's (LLN, ULN) of an analyte, in its canonical unit."""
        site = self.lab_normal_ranges.get(site_code, {})
        return site.get(analyte) or self.lab_analyte(analyte).normal_range

    # -- lookups used across apps ---------------------------------------------------------
    def site(self, code: str) -> SiteConfig:
        return _by_code(self.sites, code)

    def arm(self, code: str) -> ArmConfig:
        return _by_code(self.arms, code)

    def stratum(self, code: str) -> StratumConfig:
        return _by_code(self.strata, code)

    def phase(self, code: str) -> PhaseConfig:
        return _by_code(self.phases, code)

    def visit(self, code: str) -> VisitConfig:
        return _by_code(self.visits, code)

    def stratum_for_support(self, support_kind: str) -> str:
        return self.respiratory_support_stratum[support_kind]

    def visits_with_crf(self, crf: str) -> tuple[VisitConfig, ...]:
        return tuple(v for v in self.visits if crf in v.crfs)

    def criterion(self, code: str) -> CriterionConfig:
        return _by_code(self.eligibility_criteria, code)

    def consent_form_version(self, code: str) -> ConsentFormVersion:
        return _by_code(self.consent_form_versions, code)


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


Coded = TypeVar("Coded", bound=_Coded)


def _by_code(items: Iterable[Coded], code: str) -> Coded:
    for item in items:
        if item.code == code:
            return item
    raise KeyError(code)


# CRF codes, in the order a visit lists them.
BASELINE = "baseline"
INFUSION = "infusion"
AE_ASSESSMENT = "ae_assessment"
MURRAY = "murray"
BLOOD_GAS = "blood_gas"
CRP = "crp"
CLINICAL_STATUS = "clinical_status"
DAY60_FOLLOW_UP = "day60_follow_up"
# Issue 19: vital signs (daily and at each visit; on D0 before the infusion and at 15, 30, 60
# minutes and 4 hours after it starts) and the safety laboratory.
VITAL_SIGNS = "vital_signs"
VITALS_PRE_INFUSION = "vitals_pre"
VITALS_15_MIN = "vitals_15m"
VITALS_30_MIN = "vitals_30m"
VITALS_60_MIN = "vitals_60m"
VITALS_4_H = "vitals_4h"
SAFETY_LAB = "safety_lab"
INFUSION_VITALS = (VITALS_PRE_INFUSION, VITALS_15_MIN, VITALS_30_MIN, VITALS_60_MIN, VITALS_4_H)
VITALS_CRFS = (VITAL_SIGNS, *INFUSION_VITALS)
# The vital signs at screening: no CRF of a visit but a record of the screening
# (participants.ScreeningVitalSigns), named by this code in queries, SDV marks, signatures and
# locks once the screening is enrolled.
SCREENING_VITALS = "screening_vitals"


def _factor(text: str) -> Decimal:
    """A conversion factor written as a number or as "1/<divisor>" (1 mg/dL = 88.42 µmol/L)."""
    if text.startswith("1/"):
        return Decimal(1) / Decimal(text[2:])
    return Decimal(text)


def _lab(
    code: str,
    label: str,
    unit: str,
    factors: dict[str, str],
    limits: tuple[str, str],
    normal: tuple[str, str],
    ctcae: str = "",
) -> LabAnalyteConfig:
    return LabAnalyteConfig(
        code=code,
        label=label,
        unit=unit,
        unit_factors=((unit, Decimal(1)), *((u, _factor(f)) for u, f in factors.items())),
        minimum=Decimal(limits[0]),
        maximum=Decimal(limits[1]),
        normal_range=(Decimal(normal[0]), Decimal(normal[1])),
        ctcae_term=ctcae,
    )


# The safety laboratory (issue 19). Canonical units are those the CTCAE v5.0 thresholds are
# written in (g/dL, 10⁹/L, mg/dL); factors convert a reported unit to the canonical one:
# creatinine 1 mg/dL = 88.42 µmol/L, bilirubin 1 mg/dL = 17.1 µmol/L, haemoglobin
# 1 g/dL = 10 g/L = 0.6206 mmol/L, enzymes 1 µkat/L = 60 U/L, fibrinogen 1 g/L = 100 mg/dL.
# Default normal ranges are common adult ranges, placeholders until each site's are entered
# (lab_normal_ranges).
LAB_ANALYTES: tuple[LabAnalyteConfig, ...] = (
    _lab("haemoglobin", gettext_noop("Haemoglobin"), "g/dL",
         {"g/L": "0.1", "mmol/L": "1/0.6206"}, ("2", "25"), ("12.0", "17.5"), "Anemia"),
    _lab("wbc", gettext_noop("White blood cells"), "10⁹/L",
         {"/mm³": "0.001"}, ("0", "500"), ("4.0", "11.0"), "White blood cell decreased"),
    _lab("lymphocytes", gettext_noop("Lymphocytes"), "10⁹/L",
         {"/mm³": "0.001"}, ("0", "400"), ("1.0", "4.8"), "Lymphocyte count decreased"),
    _lab("platelets", gettext_noop("Platelets"), "10⁹/L",
         {"/mm³": "0.001"}, ("0", "3000"), ("150", "450"), "Platelet count decreased"),
    _lab("creatinine", gettext_noop("Creatinine"), "mg/dL",
         {"µmol/L": "1/88.42"}, ("0.1", "30"), ("0.6", "1.3"), "Creatinine increased"),
    _lab("alt", gettext_noop("ALT"), "U/L",
         {"µkat/L": "60"}, ("0", "20000"), ("0", "40"), "Alanine aminotransferase increased"),
    _lab("ast", gettext_noop("AST"), "U/L",
         {"µkat/L": "60"}, ("0", "30000"), ("0", "40"), "Aspartate aminotransferase increased"),
    _lab("bilirubin", gettext_noop("Total bilirubin"), "mg/dL",
         {"µmol/L": "1/17.1"}, ("0", "60"), ("0.1", "1.2"), "Blood bilirubin increased"),
    _lab("d_dimer", gettext_noop("D-dimer"), "µg/mL FEU",
         {"ng/mL FEU": "0.001", "mg/L FEU": "1"}, ("0", "200"), ("0", "0.5")),
    _lab("ferritin", gettext_noop("Ferritin"), "ng/mL",
         {"µg/L": "1"}, ("0", "200000"), ("20", "300")),
    _lab("ldh", gettext_noop("LDH"), "U/L",
         {"µkat/L": "60"}, ("0", "30000"), ("120", "246")),
    _lab("troponin", gettext_noop("Troponin I (high-sensitivity)"), "ng/L",
         {"ng/mL": "1000", "pg/mL": "1"}, ("0", "1000000"), ("0", "26")),
    _lab("fibrinogen", gettext_noop("Fibrinogen"), "mg/dL",
         {"g/L": "100"}, ("0", "2000"), ("200", "400"), "Fibrinogen decreased"),
)  # fmt: skip


def _visit(code: str, day: int, window: int, *crfs: str) -> VisitConfig:
    return VisitConfig(code=code, day=day, window_before=window, window_after=window, crfs=crfs)


TRIAL = TrialConfig(
    registry_id="IRCT20201202049568N3",
    acronym="EXO-ARDS",
    public_title="Exosome therapy in ARDS patients",
    scientific_title=(
        "Evaluation of the Safety and Efficiency of human Umbilical Cord Derived Mesenchymal Stem "
        "Cell Exosomes in patients with ARDS of COVID-19; An interventional randomized "
        "double-blind controlled clinical trial: phase I and II"
    ),
    ethics_reference="IR.TUMS.MEDICINE.REC.1399.782",
    target_sample_size=72,
    sites=(
        SiteConfig("01", "Imam Khomeini Hospital Complex, Tehran", "Asia/Tehran"),
        SiteConfig("02", "Second site (demo)", "Asia/Tehran"),
    ),
    arms=(
        ArmConfig(
            "exosome",
            "Exosome",
            "100 million UC-MSC-derived exosomes per kg body weight in 2 ml normal saline, IV",
        ),
        ArmConfig("placebo", "Placebo", "2 ml normal saline, IV"),
    ),
    allocation_ratio=(1, 1),
    strata=(
        StratumConfig("A", "Stratum A", "Respiratory support by mechanical ventilation"),
        StratumConfig("B", "Stratum B", "Nasal cannula or no respiratory support"),
    ),
    # SPEC §3: the record does not say where NIV and high-flow belong; this default puts NIV
    # with mechanical ventilation. Change here, not in code.
    respiratory_support_stratum={
        "invasive_ventilation": "A",
        "non_invasive_ventilation": "A",
        "high_flow_nasal_oxygen": "B",
        "face_mask": "B",
        "nasal_cannula": "B",
        "none": "B",
    },
    respiratory_support_labels={
        "invasive_ventilation": "Invasive mechanical ventilation",
        "non_invasive_ventilation": "Non-invasive ventilation",
        "high_flow_nasal_oxygen": "High-flow nasal oxygen",
        "face_mask": "Face mask",
        "nasal_cannula": "Nasal cannula",
        "none": "No respiratory support",
    },
    block_sizes=(2, 4, 8),
    phases=(
        # Registry: "two groups of 6 with ARDS (each group includes intervention groups of 3)".
        PhaseConfig("I", "Phase I", target_total=12, slots_per_stratum=6, per_stratum_per_arm=3),
        # Registry: "60 patients ... in two groups of 30 controls and intervention".
        PhaseConfig(
            "II", "Phase II", target_total=60, slots_per_stratum=None, per_stratum_per_arm=None
        ),
    ),
    age_min_years=18,
    age_max_years=65,
    pf_ratio_threshold_mmhg=200,
    dose_exosomes_per_kg=100_000_000,
    dose_volume_ml=Decimal("2"),
    visits=(
        _visit(
            "D0",
            0,
            0,
            BASELINE,
            VITALS_PRE_INFUSION,
            SAFETY_LAB,
            INFUSION,
            VITALS_15_MIN,
            VITALS_30_MIN,
            VITALS_60_MIN,
            VITALS_4_H,
            AE_ASSESSMENT,
            MURRAY,
            BLOOD_GAS,
            CRP,
            CLINICAL_STATUS,
        ),
        _visit("D1", 1, 0, VITAL_SIGNS, MURRAY, CLINICAL_STATUS),
        _visit("D2", 2, 0, VITAL_SIGNS, AE_ASSESSMENT, MURRAY, CLINICAL_STATUS),
        _visit(
            "D3", 3, 0, VITAL_SIGNS, SAFETY_LAB, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CLINICAL_STATUS
        ),
        _visit("D4", 4, 0, VITAL_SIGNS, AE_ASSESSMENT, CLINICAL_STATUS),
        _visit("D5", 5, 1, VITAL_SIGNS, CRP, CLINICAL_STATUS),
        _visit(
            "D7", 7, 1, VITAL_SIGNS, SAFETY_LAB, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CLINICAL_STATUS
        ),
        _visit("D10", 10, 1, VITAL_SIGNS, CRP, CLINICAL_STATUS),
        _visit(
            "D14", 14, 2, VITAL_SIGNS, SAFETY_LAB, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CLINICAL_STATUS
        ),
        _visit("D20", 20, 2, VITAL_SIGNS, CRP, CLINICAL_STATUS),
        _visit("D28", 28, 3, VITAL_SIGNS, SAFETY_LAB, MURRAY, BLOOD_GAS, CLINICAL_STATUS),
        _visit("D60", 60, 7, VITAL_SIGNS, MURRAY, BLOOD_GAS, CLINICAL_STATUS, DAY60_FOLLOW_UP),
    ),
    crfs=TranslatedNames(
        {
            BASELINE: gettext_noop("Baseline"),
            INFUSION: gettext_noop("Infusion administration"),
            AE_ASSESSMENT: gettext_noop("Adverse-event assessment"),
            MURRAY: gettext_noop("Murray lung injury score"),
            BLOOD_GAS: gettext_noop("PaO2/FiO2 (arterial blood gas)"),
            CRP: gettext_noop("C-reactive protein"),
            CLINICAL_STATUS: gettext_noop("Clinical status (6-point ordinal scale)"),
            DAY60_FOLLOW_UP: gettext_noop("Day-60 follow-up"),
            VITAL_SIGNS: gettext_noop("Vital signs"),
            VITALS_PRE_INFUSION: gettext_noop("Vital signs before the infusion"),
            VITALS_15_MIN: gettext_noop("Vital signs 15 minutes after the infusion start"),
            VITALS_30_MIN: gettext_noop("Vital signs 30 minutes after the infusion start"),
            VITALS_60_MIN: gettext_noop("Vital signs 60 minutes after the infusion start"),
            VITALS_4_H: gettext_noop("Vital signs 4 hours after the infusion start"),
            SAFETY_LAB: gettext_noop("Safety laboratory"),
        }
    ),
    hard_limits={
        "fio2": Limit("FiO2", "fraction", Decimal("0.21"), Decimal("1.00")),
        "pao2_mmhg": Limit("PaO2", "mmHg", Decimal("20"), Decimal("700")),
        "peep_cmh2o": Limit("PEEP", "cmH2O", Decimal("0"), Decimal("30")),
        "compliance_ml_cmh2o": Limit("Static compliance", "ml/cmH2O", Decimal("5"), Decimal("150")),
        "crp_mg_l": Limit("CRP", "mg/L", Decimal("0"), Decimal("500")),
        "weight_kg": Limit("Weight", "kg", Decimal("30"), Decimal("250")),
        # Vital signs (issue 19): beyond these a value is impossible in a living patient.
        "temperature_c": Limit("Temperature", "°C", Decimal("25"), Decimal("45")),
        "heart_rate_bpm": Limit("Heart rate", "/min", Decimal("20"), Decimal("250")),
        "systolic_mmhg": Limit("Systolic pressure", "mmHg", Decimal("40"), Decimal("300")),
        "diastolic_mmhg": Limit("Diastolic pressure", "mmHg", Decimal("15"), Decimal("200")),
        "respiratory_rate": Limit("Respiratory rate", "/min", Decimal("4"), Decimal("80")),
        "spo2_percent": Limit("SpO2", "%", Decimal("40"), Decimal("100")),
    },
    pf_ratio_soft_maximum=500,
    clinical_status_scale=TranslatedNames(
        {
            1: gettext_noop("Not hospitalized"),
            2: gettext_noop("Hospitalized, no supplemental oxygen"),
            3: gettext_noop("Hospitalized, supplemental oxygen"),
            4: gettext_noop("Non-invasive ventilation or high-flow oxygen"),
            5: gettext_noop("Invasive mechanical ventilation or ECMO"),
            6: gettext_noop("Death"),
        }
    ),
    ttic_improvement_points=2,
    ttic_horizon_day=28,
    icu_free_days_horizon_day=60,
    sae_initial_report_hours=24,
    susar_clock_days_fatal_or_life_threatening=7,
    susar_clock_days_other=15,
    # The record writes CRP in mg/mL; laboratories report mg/L (docs/protocol-differences.md).
    crp_unit="mg/L",
    # --- participants: screening, consent (issue 4) ---
    eligibility_criteria=ELIGIBILITY_CRITERIA,
    consent_form_versions=CONSENT_FORM_VERSIONS,
    consent_representative_relationships=CONSENT_REPRESENTATIVE_RELATIONSHIPS,
    age_plausible_max_years=120,
    screening_number_prefix="S",
    # --- randomization: lists, pharmacy, unblinding (issue 5) ---
    # --- outcomes: visits, CRFs, edit checks (issue 6) ---
    # Soft limits (SPEC §4): moved more than this since the previous visit -> confirm with a
    # reason. P/F in mmHg, CRP in mg/L, the Murray score in points of its mean (0-4; 1.5 is the
    # 6 of the former 0-16 sum over 4 components: issue 18), clinical status in points.
    soft_limit_deltas={
        "pf_ratio": Decimal("150"),
        "crp_mg_l": Decimal("150"),
        "murray_score": Decimal("1.5"),
        "clinical_status": Decimal("2"),
    },
    # CRP entry units -> factor to mg/L (1 mg/dL = 10 mg/L); the record's mg/mL is not offered.
    crp_unit_factors={"mg/L": Decimal("1"), "mg/dL": Decimal("10")},
    # --- safety: AE/SAE, alerts, reminders (issue 7) ---
    ae_preferred_terms=(
        ("Acute respiratory distress syndrome worsening", "Respiratory disorders"),
        ("Hypoxia", "Respiratory disorders"),
        ("Pneumothorax", "Respiratory disorders"),
        ("Respiratory failure", "Respiratory disorders"),
        ("Infusion related reaction", "General disorders and administration site conditions"),
        ("Injection site reaction", "General disorders and administration site conditions"),
        ("Pyrexia", "General disorders and administration site conditions"),
        ("Chills", "General disorders and administration site conditions"),
        ("Fatigue", "General disorders and administration site conditions"),
        ("Anaphylactic reaction", "Immune system disorders"),
        ("Hypersensitivity", "Immune system disorders"),
        ("Cytokine release syndrome", "Immune system disorders"),
        ("Hypotension", "Vascular disorders"),
        ("Hypertension", "Vascular disorders"),
        ("Deep vein thrombosis", "Vascular disorders"),
        ("Pulmonary embolism", "Respiratory disorders"),
        ("Thromboembolism", "Vascular disorders"),
        ("Atrial fibrillation", "Cardiac disorders"),
        ("Tachycardia", "Cardiac disorders"),
        ("Bradycardia", "Cardiac disorders"),
        ("Cardiac arrest", "Cardiac disorders"),
        ("Myocardial infarction", "Cardiac disorders"),
        ("Headache", "Nervous system disorders"),
        ("Seizure", "Nervous system disorders"),
        ("Nausea", "Gastrointestinal disorders"),
        ("Vomiting", "Gastrointestinal disorders"),
        ("Diarrhoea", "Gastrointestinal disorders"),
        ("Rash", "Skin and subcutaneous tissue disorders"),
        ("Urticaria", "Skin and subcutaneous tissue disorders"),
        ("Acute kidney injury", "Renal and urinary disorders"),
        ("Hepatic enzyme increased", "Investigations"),
        ("Sepsis", "Infections and infestations"),
        ("Ventilator-associated pneumonia", "Infections and infestations"),
        ("Septic shock", "Infections and infestations"),
        ("Anaemia", "Blood and lymphatic system disorders"),
        ("Thrombocytopenia", "Blood and lymphatic system disorders"),
        ("Hyperglycaemia", "Metabolism and nutrition disorders"),
        ("Delirium", "Psychiatric disorders"),
        ("Death", "General disorders and administration site conditions"),
    ),
    # Placeholder RSI until the sponsor's investigator's brochure is loaded (docs/safety.md).
    reference_safety_information={
        "Pyrexia": 2,
        "Chills": 2,
        "Headache": 2,
        "Fatigue": 2,
        "Infusion related reaction": 2,
        "Injection site reaction": 1,
        "Nausea": 1,
    },
    sponsor_safety_contacts=("safety@sponsor.example.org",),
    medical_monitors=("medical.monitor@example.org",),
    reporting_country="Iran (Islamic Republic of)",
    indication="Acute respiratory distress syndrome due to COVID-19 (ICD-10 U07.1)",
    sponsor_name_address=(
        "Tarmim Ava Baran Knowledge Based Company, Floor 8, No 41, Italia St., Vesal Ave, "
        "Tehran 1417755362, Iran"
    ),
    # --- exports (issue 8) ---
    export_age_top_code=89,
    export_units={
        "age_years": "years",
        "height_cm": "cm",
        "volume_ml": "ml",
        "pf_ratio": "mmHg",
        "total": "points",
        "score": "points",
    },
    export_chunk_size=2000,
    # --- data management: queries, SDV, signatures, locks (issue 10) ---
    # SDV: 100% of the eligibility-relevant and primary-endpoint CRFs; the inputs of the
    # Murray score and P/F only; CRP (a laboratory print-out filed as source) not verified.
    sdv_requirements={
        BASELINE: "all",
        INFUSION: "all",
        AE_ASSESSMENT: "all",
        MURRAY: ("assessed_on", "pao2_mmhg", "fio2", "peep_cmh2o", "cxr_quadrants"),
        BLOOD_GAS: ("assessed_on", "pao2_mmhg", "fio2"),
        CRP: "none",
        CLINICAL_STATUS: "all",
        DAY60_FOLLOW_UP: "all",
        # Vital signs: the infusion-reaction monitoring fully; the daily ones not (bedside
        # charts, reviewed by the monitor). Safety laboratory: a print-out filed as source.
        VITAL_SIGNS: "none",
        **dict.fromkeys(INFUSION_VITALS, "all"),
        SAFETY_LAB: "none",
        # At screening: eligibility's context, verified in full like the infusion monitoring.
        SCREENING_VITALS: "all",
    },
    signature_meanings={
        "accurate_complete": "I confirm the data are accurate and complete",
        "reviewed": "I have reviewed these data and approve them",
    },
    query_ageing_days=(7, 14, 30),
    signature_attempts_allowed=3,
    security_contacts=("security@sponsor.example.org",),
    # --- safety data: vital signs, safety laboratory, medications, pregnancy (issue 19) ---
    vital_sign_soft_ranges={
        "temperature_c": (Decimal("35.0"), Decimal("39.0")),
        "heart_rate_bpm": (Decimal("45"), Decimal("130")),
        "systolic_mmhg": (Decimal("90"), Decimal("180")),
        "diastolic_mmhg": (Decimal("40"), Decimal("110")),
        "respiratory_rate": (Decimal("8"), Decimal("35")),
        "spo2_percent": (Decimal("88"), None),
    },
    infusion_vital_timepoints={
        VITALS_15_MIN: 15,
        VITALS_30_MIN: 30,
        VITALS_60_MIN: 60,
        VITALS_4_H: 240,
    },
    infusion_vital_time_tolerance_minutes=10,
    # A fall of systolic pressure of 20 mmHg, a rise of heart rate of 20/min or of temperature
    # of 1 °C, a fall of SpO2 of 4 points since before the infusion.
    infusion_reaction_changes={
        "systolic_mmhg": Decimal("-20"),
        "heart_rate_bpm": Decimal("20"),
        "temperature_c": Decimal("1.0"),
        "spo2_percent": Decimal("-4"),
    },
    lab_analytes=LAB_ANALYTES,
    lab_normal_ranges={
        "01": {
            "haemoglobin": (Decimal("12.0"), Decimal("16.0")),
            "alt": (Decimal("0"), Decimal("41")),
        },
    },
    lab_baseline_visit="D0",
    lab_ae_grade=3,
    lab_ae_worsening_grades=2,
    conmed_quick_picks={
        "corticosteroid": gettext_noop("Corticosteroid (e.g. dexamethasone)"),
        "tocilizumab": gettext_noop("Tocilizumab"),
        "baricitinib": gettext_noop("Baricitinib"),
        "remdesivir": gettext_noop("Remdesivir"),
        "favipiravir": gettext_noop("Favipiravir"),
        "anticoagulant": gettext_noop("Anticoagulant (e.g. enoxaparin, heparin)"),
        "antibiotic": gettext_noop("Antibiotic"),
        "vasopressor": gettext_noop("Vasopressor (e.g. norepinephrine)"),
    },
    conmed_dose_units=("mg", "g", "µg", "mg/kg", "IU", "mL", "µg/kg/min", "mg/h", "IU/h"),
    conmed_routes={
        "iv": gettext_noop("Intravenous"),
        "po": gettext_noop("Oral"),
        "sc": gettext_noop("Subcutaneous"),
        "im": gettext_noop("Intramuscular"),
        "inh": gettext_noop("Inhaled"),
        "ng": gettext_noop("Nasogastric tube"),
        "other": gettext_noop("Other"),
    },
    conmed_frequencies={
        "once": gettext_noop("Once"),
        "qd": gettext_noop("Once daily"),
        "bid": gettext_noop("Twice daily"),
        "tid": gettext_noop("Three times daily"),
        "qid": gettext_noop("Four times daily"),
        "continuous": gettext_noop("Continuous infusion"),
        "prn": gettext_noop("As needed"),
        "other": gettext_noop("Other"),
    },
)
