"""The trial configuration: every number, list and mapping the product uses, as data.

Source: the registry record IRCT20201202049568N3 (../shared/protocol/) and SPEC.md. Where the two
differ, the record wins and docs/protocol-differences.md says so. The rest of the code reads the
trial from `TRIAL`; no app writes a protocol number of its own. Plain Python, no Django import,
so the clinical rules that read it stay testable with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


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
    crfs: dict[str, str]
    hard_limits: dict[str, Limit]
    pf_ratio_soft_maximum: int
    clinical_status_scale: dict[int, str]
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
    # --- randomization: lists, pharmacy, unblinding (issue 5) ---
    # --- outcomes: visits, CRFs, edit checks (issue 6) ---
    # Soft limits: a value that moved more than this since the participant's previous visit
    # asks for confirmation with a reason (SPEC §4). Keys are CRF field names.
    soft_limit_deltas: dict[str, Decimal] = field(
        default_factory=lambda: {
            "pf_ratio": Decimal("150"),
            "crp_mg_l": Decimal("150"),
            "murray_total": Decimal("6"),
            "clinical_status": Decimal("2"),
        }
    )
    # CRP entry units and their factor to the stored unit, mg/L (1 mg/dL = 10 mg/L).
    crp_unit_factors: dict[str, Decimal] = field(
        default_factory=lambda: {"mg/L": Decimal("1"), "mg/dL": Decimal("10")}
    )
    # --- safety: AE/SAE, alerts, reminders (issue 7) ---
    # --- data management: queries, SDV, signatures, locks (issue 10) ---
    # Source-data verification per CRF code: "all" fields, "none", or the fields to verify.
    sdv_requirements: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    # What an investigator's signature means, by code (21 CFR 11.50(a)(3)).
    signature_meanings: dict[str, str] = field(default_factory=dict)
    # Query ageing bands (days open) shown in the query lists.
    query_ageing_days: tuple[int, ...] = (7, 14, 30)
    # Failed password re-entries at signing before the user must sign in again (11.300(d)).
    signature_attempts_allowed: int = 3
    extra: dict[str, object] = field(default_factory=dict)

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


def _by_code(items, code):
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
            "D0", 0, 0, BASELINE, INFUSION, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CRP, CLINICAL_STATUS
        ),
        _visit("D1", 1, 0, MURRAY, CLINICAL_STATUS),
        _visit("D2", 2, 0, AE_ASSESSMENT, MURRAY, CLINICAL_STATUS),
        _visit("D3", 3, 0, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CLINICAL_STATUS),
        _visit("D4", 4, 0, AE_ASSESSMENT, CLINICAL_STATUS),
        _visit("D5", 5, 1, CRP, CLINICAL_STATUS),
        _visit("D7", 7, 1, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CLINICAL_STATUS),
        _visit("D10", 10, 1, CRP, CLINICAL_STATUS),
        _visit("D14", 14, 2, AE_ASSESSMENT, MURRAY, BLOOD_GAS, CLINICAL_STATUS),
        _visit("D20", 20, 2, CRP, CLINICAL_STATUS),
        _visit("D28", 28, 3, MURRAY, BLOOD_GAS, CLINICAL_STATUS),
        _visit("D60", 60, 7, MURRAY, BLOOD_GAS, CLINICAL_STATUS, DAY60_FOLLOW_UP),
    ),
    crfs={
        BASELINE: "Baseline",
        INFUSION: "Infusion administration",
        AE_ASSESSMENT: "Adverse-event assessment",
        MURRAY: "Murray lung injury score",
        BLOOD_GAS: "PaO2/FiO2 (arterial blood gas)",
        CRP: "C-reactive protein",
        CLINICAL_STATUS: "Clinical status (6-point ordinal scale)",
        DAY60_FOLLOW_UP: "Day-60 follow-up",
    },
    hard_limits={
        "fio2": Limit("FiO2", "fraction", Decimal("0.21"), Decimal("1.00")),
        "pao2_mmhg": Limit("PaO2", "mmHg", Decimal("20"), Decimal("700")),
        "peep_cmh2o": Limit("PEEP", "cmH2O", Decimal("0"), Decimal("30")),
        "compliance_ml_cmh2o": Limit("Static compliance", "ml/cmH2O", Decimal("5"), Decimal("150")),
        "crp_mg_l": Limit("CRP", "mg/L", Decimal("0"), Decimal("500")),
        "weight_kg": Limit("Weight", "kg", Decimal("30"), Decimal("250")),
    },
    pf_ratio_soft_maximum=500,
    clinical_status_scale={
        1: "Not hospitalized",
        2: "Hospitalized, no supplemental oxygen",
        3: "Hospitalized, supplemental oxygen",
        4: "Non-invasive ventilation or high-flow oxygen",
        5: "Invasive mechanical ventilation or ECMO",
        6: "Death",
    },
    ttic_improvement_points=2,
    ttic_horizon_day=28,
    icu_free_days_horizon_day=60,
    sae_initial_report_hours=24,
    susar_clock_days_fatal_or_life_threatening=7,
    susar_clock_days_other=15,
    # The record writes CRP in mg/mL; laboratories report mg/L (docs/protocol-differences.md).
    crp_unit="mg/L",
    # --- participants: screening, consent (issue 4) ---
    # --- randomization: lists, pharmacy, unblinding (issue 5) ---
    # --- outcomes: visits, CRFs, edit checks (issue 6) ---
    # Soft limits (SPEC §4): moved more than this since the previous visit -> confirm with a
    # reason. P/F in mmHg, CRP in mg/L, Murray sum in points (0-16), clinical status in points.
    soft_limit_deltas={
        "pf_ratio": Decimal("150"),
        "crp_mg_l": Decimal("150"),
        "murray_total": Decimal("6"),
        "clinical_status": Decimal("2"),
    },
    # CRP entry units -> factor to mg/L (1 mg/dL = 10 mg/L); the record's mg/mL is not offered.
    crp_unit_factors={"mg/L": Decimal("1"), "mg/dL": Decimal("10")},
    # --- safety: AE/SAE, alerts, reminders (issue 7) ---
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
    },
    signature_meanings={
        "accurate_complete": "I confirm the data are accurate and complete",
        "reviewed": "I have reviewed these data and approve them",
    },
    query_ageing_days=(7, 14, 30),
    signature_attempts_allowed=3,
)
