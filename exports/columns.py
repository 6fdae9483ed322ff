"""What the export contains: its files and their columns, derived from the models.

Each CRF model in `outcomes.models.CRF_MODELS` becomes `<crf>.csv` with a column per field, so a
CRF added later is exported with no code here. The de-identification is in the derivation:
- dates and date-times become study days (`<field>_day`, days from Day 0);
- free text (a text field, or a short text field without a code list) is left out;
- coded values stay, with their code list; yes/no becomes 1/0;
- ages above TRIAL.export_age_top_code are grouped (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).
Labels and code lists are given in English, the language of the data dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.db import models
from django.utils import translation

from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS, ConcomitantMedication, DispositionOutcome, VitalStatus
from participants.models import ParticipantStatus, ScreeningVitalSigns
from safety.models import AdverseEvent

INTEGER = "integer"
FLOAT = "float"
TEXT = "text"

YES_NO = (("1", "Yes"), ("0", "No"))

# Fields every CRF has that are bookkeeping, not data (the user, entry times, confirmations).
CRF_BOOKKEEPING = {"id", "visit", "entered_by", "entered_at", "updated_at", "assessed_on", "status"}
# AE fields that are codes although they have no fixed list (kept only once coded).
AE_CODED_TERMS = ("preferred_term", "system_organ_class")
AE_BOOKKEEPING = {"id", "participant", "needs_coding", "reported_by", "causality_signed_by"}


# Variable names are at most 32 characters, the limit of Stata and SAS (statfiles): the few
# model fields whose export name would be longer are shortened here, in every file alike.
SHORT_NAMES = {
    "criterion_important_medical_event": "criterion_important_medical",
    "expedited_report_submitted_at": "expedited_submitted_at",
}
NAME_LIMIT = 32


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str  # INTEGER | FLOAT | TEXT
    unit: str = ""
    codes: tuple[tuple[str, str], ...] = ()
    source: str = ""  # the model field it comes from ("" for key columns)
    transform: str = ""  # "" | "day" | "datetime_day" | "time" | "bool" | "age"

    @property
    def numeric(self) -> bool:
        return self.kind in (INTEGER, FLOAT)


@dataclass(frozen=True)
class Table:
    code: str  # file stem and ODM form name
    label: str
    columns: tuple[Column, ...]
    keys: frozenset[str]  # columns that identify the row (SubjectKey, event) rather than data
    left_out: tuple[str, ...] = field(default=())  # free-text fields, named in the README

    @property
    def filename(self) -> str:
        return f"{self.code}.csv"


def unit_of(name: str) -> str:
    if name in TRIAL.hard_limits:
        return TRIAL.hard_limits[name].unit
    return TRIAL.export_units.get(name, "")


def age_label() -> str:
    return f"{TRIAL.export_age_top_code + 1}+"


def _field_column(f: models.Field, *, coded_text: tuple[str, ...] = ()) -> Column | None:
    """The column for model field `f`, or None for free text (left out)."""
    column = _field_column_named(f, coded_text=coded_text)
    if column is None:
        return None
    short = SHORT_NAMES.get(f.name)
    if short is not None:
        column = replace(column, name=column.name.replace(f.name, short, 1))
    if len(column.name) > NAME_LIMIT:
        raise ValueError(
            f"export name {column.name} is longer than {NAME_LIMIT}: add it to SHORT_NAMES"
        )
    return column


def _field_column_named(f: models.Field, *, coded_text: tuple[str, ...] = ()) -> Column | None:
    label = str(f.verbose_name)
    if isinstance(f, models.DateTimeField):
        return Column(
            f"{f.name}_day", f"{label} (study day)", INTEGER, "day", source=f.name,
            transform="datetime_day",
        )  # fmt: skip
    if isinstance(f, models.DateField):
        return Column(
            f"{f.name}_day", f"{label} (study day)", INTEGER, "day", source=f.name, transform="day"
        )
    if isinstance(f, models.TimeField):
        # A time of day (the Day-0 assessment's, a vital sign's): the site's local time as
        # HH:MM, 24-hour. Not identifying without its date, which is a study day.
        return Column(
            f.name, f"{label} (site local time, HH:MM)", TEXT, source=f.name,
            transform="time",
        )  # fmt: skip
    if isinstance(f, models.BooleanField):
        return Column(f.name, label, INTEGER, codes=YES_NO, source=f.name, transform="bool")
    if f.name.startswith("age"):
        return Column(
            f.name, f"{label} ({age_label()} = {age_label()[:-1]} or older)", TEXT,
            unit_of(f.name), source=f.name, transform="age",
        )  # fmt: skip
    codes = tuple((str(value), str(text)) for value, text in f.flatchoices) if f.choices else ()
    if isinstance(f, models.IntegerField):
        return Column(f.name, label, INTEGER, unit_of(f.name), codes, source=f.name)
    if isinstance(f, models.DecimalField | models.FloatField):
        return Column(f.name, label, FLOAT, unit_of(f.name), codes, source=f.name)
    if isinstance(f, models.CharField) and (codes or f.name in coded_text):
        return Column(f.name, label, TEXT, codes=codes, source=f.name)
    return None  # free text: names, notes, reasons, descriptions


def _model_columns(model, *, skip: set[str], coded_text=()) -> tuple[list[Column], list[str]]:
    columns, left_out = [], []
    for f in model._meta.concrete_fields:
        if f.name in skip or f.is_relation:
            continue
        column = _field_column(f, coded_text=coded_text)
        if column is None:
            left_out.append(f.name)
        else:
            columns.append(column)
    return columns, left_out


def key_columns_visit() -> tuple[Column, ...]:
    return (
        Column("export_id", "Export ID of the participant (random, per release)", TEXT),
        Column("site", "Site code", TEXT),
        Column("visit", "Visit", TEXT, codes=tuple((v.code, v.code) for v in TRIAL.visits)),
        Column("visit_day", "Scheduled study day of the visit", INTEGER, "day"),
    )


def crf_table(crf_code: str) -> Table:
    model = CRF_MODELS[crf_code]
    with translation.override("en"):
        columns, left_out = _model_columns(model, skip=CRF_BOOKKEEPING)
        status = model._meta.get_field("status")
        head = (
            Column(
                "assessed_day", "Date of assessment (study day)", INTEGER, "day",
                source="assessed_on", transform="day",
            ),
            Column(
                "crf_status", "CRF status", TEXT,
                codes=tuple((str(v), str(t)) for v, t in status.flatchoices),
                source="status",
            ),
        )  # fmt: skip
    return Table(
        crf_code,
        TRIAL.crfs.source(crf_code),
        (*key_columns_visit(), *head, *columns),
        frozenset({"export_id", "site", "visit", "visit_day"}),
        tuple(left_out),
    )


PARTICIPANTS = "participants"
ADVERSE_EVENTS = "adverse_events"
CONCOMITANT_MEDICATIONS = "concomitant_medications"
# Participant-level tables with a row per record (not per visit): numbered per participant.
REPEATING = {ADVERSE_EVENTS: "ae_number", CONCOMITANT_MEDICATIONS: "medication_number"}
CONMED_BOOKKEEPING = {"id", "participant", "entered_by"}


SCREENING_VITALS = "screening_"  # prefix of the vital signs at screening in participants.csv


def screening_vital_columns() -> list[Column]:
    """The vital signs at screening (issue 19), one set per participant: the columns of the
    visits' vital-signs CRFs (same names, units and codes) prefixed `screening_`, the date as
    a study day (before Day 0, so negative). `source` is the ScreeningVitalSigns field."""
    columns = []
    with translation.override("en"):
        for name in ScreeningVitalSigns.VALUE_FIELDS:
            column = _field_column(ScreeningVitalSigns._meta.get_field(name))
            if column is None:  # pragma: no cover - every value field is exported
                continue
            columns.append(
                replace(
                    column,
                    name=f"{SCREENING_VITALS}{column.name}",
                    label=f"Vital signs at screening: {column.label}",
                )
            )
    return columns


def participants_table(*, with_arm: bool) -> Table:

    with translation.override("en"):
        status_codes = tuple((str(v), str(t)) for v, t in ParticipantStatus.choices)
        sex_codes = tuple(
            (str(v), str(t)) for v, t in CRF_MODELS["baseline"]._meta.get_field("sex").flatchoices
        )
        disposition_codes = tuple((str(v), str(t)) for v, t in DispositionOutcome.choices)
        vital_codes = tuple((str(v), str(t)) for v, t in VitalStatus.choices)
    columns = [
        Column("export_id", "Export ID of the participant (random, per release)", TEXT),
        Column("site", "Site code", TEXT),
        Column("phase", "Trial phase", TEXT, codes=tuple((p.code, p.label) for p in TRIAL.phases)),
        Column(
            "stratum", "Stratum", TEXT, codes=tuple((s.code, s.description) for s in TRIAL.strata)
        ),
        Column(
            "age_years",
            f"Age at screening ({age_label()} = {age_label()[:-1]} or older)",
            TEXT,
            "years",
            transform="age",
        ),
        Column("sex", "Sex", TEXT, codes=sex_codes),
        *screening_vital_columns(),
        Column("status", "Status in the trial", TEXT, codes=status_codes),
        Column(
            "emergency_unblinded",
            "Unblinded in an emergency for this participant (the arm is not given)",
            INTEGER,
            codes=YES_NO,
        ),
        Column("death_day", "Death (study day)", INTEGER, "day"),
        Column("discharge_day", "Hospital discharge alive (study day)", INTEGER, "day"),
        Column(
            "disposition", "How follow-up ended (end-of-study CRF)", TEXT, codes=disposition_codes
        ),
        Column(
            "last_contact_day",
            "Last contact (study day) when follow-up ended early alive (withdrawal, loss to "
            "follow-up, investigator decision); empty when followed to the end or died",
            INTEGER,
            "day",
        ),
        Column("vital_status_d28", "Vital status at day 28", TEXT, codes=vital_codes),
        Column("vital_status_d60", "Vital status at day 60", TEXT, codes=vital_codes),
        Column(
            "ttic_day",
            f"Time to clinical improvement (days; censored at day {TRIAL.ttic_horizon_day}, "
            "or at the last contact when follow-up ended early alive)",
            INTEGER,
            "day",
        ),
        Column("ttic_event", "Clinical improvement observed (0 = censored)", INTEGER, codes=YES_NO),
        Column(
            "ttic_censored",
            "Why TTIC is censored (empty: improvement observed)",
            INTEGER,
            codes=(
                ("1", f"No improvement by day {TRIAL.ttic_horizon_day}, followed to it"),
                ("2", "Follow-up ended early alive: censored at the last contact"),
                ("3", f"Died before improvement: censored at day {TRIAL.ttic_horizon_day}"),
            ),
        ),
        Column(
            "icu_free_days",
            f"ICU-free days to day {TRIAL.icu_free_days_horizon_day} (0 after a death; empty "
            "when unknown: follow-up ended early alive)",
            INTEGER,
            "day",
        ),
        Column(
            "icu_free_days_unknown",
            "ICU-free days unknown: follow-up ended early alive, before day "
            f"{TRIAL.icu_free_days_horizon_day}",
            INTEGER,
            codes=YES_NO,
        ),
    ]
    if with_arm:
        columns.append(
            Column("arm", "Arm (after trial-level unblinding)", TEXT,
                   codes=tuple((a.code, a.label) for a in TRIAL.arms))
        )  # fmt: skip
    return Table(PARTICIPANTS, "Participants", tuple(columns), frozenset({"export_id"}))


def adverse_events_table() -> Table:
    with translation.override("en"):
        columns, left_out = _model_columns(
            AdverseEvent,
            skip=AE_BOOKKEEPING | {"visit", "number"},
            coded_text=AE_CODED_TERMS,
        )
    head = (
        Column("export_id", "Export ID of the participant (random, per release)", TEXT),
        Column("site", "Site code", TEXT),
        Column("ae_number", "AE number (per participant)", INTEGER, source="number"),
        Column(
            "visit", "Reported at visit", TEXT,
            codes=tuple((v.code, v.code) for v in TRIAL.visits), source="visit",
        ),
    )  # fmt: skip
    return Table(
        ADVERSE_EVENTS,
        "Adverse events",
        (*head, *columns),
        frozenset({"export_id", "site"}),
        tuple(left_out),
    )


def concomitant_medications_table() -> Table:
    """The medications log (issue 19): the therapy of interest, dose, unit, route, frequency
    and the start and stop as study days; the drug name and indication typed are free text,
    left out as every free text is (the therapy-of-interest code stays)."""
    with translation.override("en"):
        columns, left_out = _model_columns(ConcomitantMedication, skip=CONMED_BOOKKEEPING)
    head = (
        Column("export_id", "Export ID of the participant (random, per release)", TEXT),
        Column("site", "Site code", TEXT),
        Column("medication_number", "Medication number (per participant)", INTEGER),
    )
    return Table(
        CONCOMITANT_MEDICATIONS,
        "Concomitant medications",
        (*head, *columns),
        frozenset({"export_id", "site"}),
        tuple(left_out),
    )


def tables(*, with_arm: bool) -> list[Table]:
    """Every data file, in the order of the README and the ODM."""
    return [
        participants_table(with_arm=with_arm),
        *(crf_table(code) for code in CRF_MODELS),
        adverse_events_table(),
        concomitant_medications_table(),
    ]
