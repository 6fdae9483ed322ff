"""Edit checks of the CRFs (SPEC §4) as plain functions over plain values (no Django import).

`outcomes.services.crf_save` runs them on every save, whoever saves (a page, the demo, an
import): unit conversions first (FiO₂ % -> fraction, CRP mg/dL -> mg/L), then the hard limits
that refuse a value (`hard_errors`: field -> message naming the field, the value as entered and
the limit), then the soft checks that ask for a confirmation with a reason (`soft_warnings`:
the visit window, the change since the previous visit, values unusual for the trial). The forms
only parse what is typed and show what the service says. The database's check constraints stay
the backstop.

Messages are translated when they are made (through kernel.trial.translate, Django's gettext
once the kernel app is ready, as kernel.trial.TranslatedNames does); dates are shown by the
caller's `show_date` (the reader's calendar), so this module needs neither Django nor the
calendars.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kernel.limits import (
    FRACTION,
    fio2_error,
    fio2_fraction,
    hard_limit_error,
    vital_sign_errors,
    vital_sign_warnings,
)
from kernel.limits import (
    PERCENT as PERCENT,  # re-exported: the CRF forms' unit choices
)
from kernel.trial import (
    BASELINE,
    BLOOD_GAS,
    CLINICAL_STATUS,
    CRP,
    DAY60_FOLLOW_UP,
    INFUSION,
    MURRAY,
    SAFETY_LAB,
    TRIAL,
    VITALS_CRFS,
    VITALS_PRE_INFUSION,
    gettext_noop,
    translate,
)

from . import ctcae, scores

# FRACTION, PERCENT, fio2_fraction, fio2_error, hard_limit_error and the vital-sign rules are
# kernel.limits' (imported here for this module and its callers): the screening (participants)
# checks its values with the same functions.

# Murray 1988, Table 2 scores PEEP "(when ventilated)" and the respiratory system compliance
# "(when available)", both read on the ventilator of an intubated patient (static compliance
# needs an inspiratory hold under passive ventilation). Of the trial's supports
# (kernel.trial.respiratory_support_labels) only invasive mechanical ventilation gives them: with
# any other support they are refused, and the score is the mean of the components there are.
VENTILATED_SUPPORTS = frozenset({"invasive_ventilation"})
PEEP_AND_COMPLIANCE = {
    "peep_cmh2o": gettext_noop("PEEP"),
    "compliance_ml_cmh2o": gettext_noop("Static compliance"),
}
# The Day-0 CRFs that are baseline assessments, made before the infusion (issue 18): their time
# is recorded and checked against the infusion's start, from either save (pre_dose_errors).
PRE_DOSE_CRFS = (BASELINE, MURRAY, BLOOD_GAS, CRP, CLINICAL_STATUS)
# Two measurements of P/F on the same day (the Murray and the blood-gas CRFs) that differ by
# more than this ask for a confirmation and become a query (docs/outcomes.md): beyond what the
# ratio moves between two arterial samples of one day without a change of support, and well
# inside the error of FiO₂ typed in the wrong unit (141.7 vs 533.3).
PF_CROSS_FORM_TOLERANCE_MMHG = Decimal("50")
MG_L, MG_DL = "mg/L", "mg/dL"
DEAD = "dead"  # VitalStatus.DEAD

# Field -> hard-limit key in TRIAL.hard_limits, for the fields checked as they are typed.
HARD_LIMITED = {
    "weight_kg": "weight_kg",
    "pao2_mmhg": "pao2_mmhg",
    "peep_cmh2o": "peep_cmh2o",
    "compliance_ml_cmh2o": "compliance_ml_cmh2o",
}
LAB_PLACES = Decimal("0.0001")  # the canonical values' stored precision (SafetyLab)
# The values of each CRF with a configured "moved more than" soft limit
# (TRIAL.soft_limit_deltas key -> the CRF's field holding it).
DELTA_FIELDS: dict[str, dict[str, str]] = {
    BLOOD_GAS: {"pf_ratio": "pf_ratio"},
    # The analysed Murray score is the mean of the components used (0-4), not the sum.
    MURRAY: {"pf_ratio": "pf_ratio", "murray_score": "score"},
    CRP: {"crp_mg_l": "crp_mg_l"},
    CLINICAL_STATUS: {"clinical_status": "status_score"},
}
# Places a moved value is shown with: the Murray mean has two decimals, the clinical status is a
# scale of whole numbers ("from 4 to 1"), the others one decimal (DEFAULT_DELTA_PLACES).
DELTA_PLACES = {"murray_score": Decimal("0.01"), "clinical_status": Decimal("1")}
DEFAULT_DELTA_PLACES = Decimal("0.1")
DELTA_LABELS = {
    "pf_ratio": gettext_noop("P/F ratio"),
    "crp_mg_l": gettext_noop("CRP (mg/L)"),
    "murray_score": gettext_noop("Murray score (mean, 0–4)"),
    "clinical_status": gettext_noop("Clinical status"),
}

ShowDate = Callable[[date], str]
Values = Mapping[str, Any]


def _(message: str) -> str:
    """The message in the reader's language (kernel.trial.translate: Django's gettext once the
    kernel app is ready)."""
    return translate(message)


# -- unit conversions ------------------------------------------------------------------------


def crp_mg_l(value: Decimal, unit: str) -> Decimal:
    """CRP in mg/L, the stored unit: mg/dL × 10 (TRIAL.crp_unit_factors), with no trailing
    zero beyond the stored one decimal (4.26 mg/dL is 42.6 mg/L, not 42.60, which the column's
    one decimal place would refuse)."""
    converted = value * TRIAL.crp_unit_factors[unit]
    if int(converted.as_tuple().exponent) < -1:
        tenths = converted.quantize(Decimal("0.1"))
        if tenths == converted:
            return tenths
    return converted


def to_stored_units(values: Values) -> dict[str, Any]:
    """The values of a CRF as entered -> as stored.

    FiO₂ comes as `fio2` with `fio2_unit` (fraction when not said) and is stored as a fraction.
    CRP comes as `entered_value` with `entered_unit` (mg/L when not said) and is stored as
    `crp_mg_l` beside them; a `crp_mg_l` given alone was entered in mg/L."""
    stored = {name: value for name, value in values.items() if name != "fio2_unit"}
    if values.get("fio2") is not None:
        stored["fio2"] = fio2_fraction(Decimal(values["fio2"]), values.get("fio2_unit") or FRACTION)
    if "entered_value" in values or "crp_mg_l" in values:
        entered = values.get("entered_value")
        if entered is None and "entered_value" not in values:
            entered = values.get("crp_mg_l")
        unit = values.get("entered_unit") or MG_L
        stored["entered_value"] = None if entered is None else Decimal(entered)
        stored["entered_unit"] = unit
        stored["crp_mg_l"] = None if entered is None else crp_mg_l(Decimal(entered), unit)
    for analyte in TRIAL.lab_analytes:
        entered_name = f"{analyte.code}_entered"
        if entered_name not in values:
            continue
        entered = values.get(entered_name)
        unit = values.get(f"{analyte.code}_unit") or analyte.unit
        stored[entered_name] = None if entered is None else Decimal(entered)
        stored[f"{analyte.code}_unit"] = "" if entered is None else unit
        stored[analyte.code] = (
            None if entered is None else lab_canonical(analyte.code, entered, unit)
        )
    return stored


def lab_canonical(analyte: str, value: Decimal, unit: str) -> Decimal:
    """A safety-lab result in its canonical unit (kernel.trial.LAB_ANALYTES): value × the
    unit's factor, e.g. creatinine 88.42 µmol/L -> 1.0000 mg/dL; stored to 4 decimals."""
    config = TRIAL.lab_analyte(analyte)
    return (Decimal(value) * config.factor(unit)).quantize(LAB_PLACES)


# -- hard limits: refused ----------------------------------------------------------------------


def assessment_date_error(on: date | None, *, today: date, day0: date, show_date: ShowDate) -> str:
    """A date of assessment in the future or before Day 0 is impossible."""
    if on is None:
        return ""
    if on > today:
        return _("Date of assessment cannot be in the future (today is %(today)s).") % {
            "today": show_date(today)
        }
    if on < day0:
        return _("Date of assessment cannot be before Day 0 (%(day0)s).") % {
            "day0": show_date(day0)
        }
    return ""


def event_date_error(
    on: date | None,
    *,
    label: str,
    today: date,
    show_date: ShowDate,
    earliest: date | None = None,
) -> str:
    """A date of an ICU stay or a study event: never in the future, never before screening
    (`earliest`; an ICU admission may precede screening, so it has none)."""
    if on is None:
        return ""
    if on > today:
        return _("%(field)s cannot be in the future (today is %(today)s).") % {
            "field": label,
            "today": show_date(today),
        }
    if earliest is not None and on < earliest:
        return _("%(field)s cannot be before screening (%(earliest)s).") % {
            "field": label,
            "earliest": show_date(earliest),
        }
    return ""


def icu_stay_errors(
    *,
    admitted_on: date,
    discharged_on: date | None,
    today: date,
    show_date: ShowDate,
    labels: Mapping[str, str],
) -> dict[str, str]:
    """An ICU stay's dates: neither in the future, the discharge not before the admission.
    `labels` names the two fields as the form shows them."""
    errors = {
        name: message
        for name, on in (("admitted_on", admitted_on), ("discharged_on", discharged_on))
        if (message := event_date_error(on, label=labels[name], today=today, show_date=show_date))
    }
    if discharged_on is not None and discharged_on < admitted_on and not errors:
        errors["discharged_on"] = _("Discharge cannot be before admission.")
    return errors


def crp_error(value: Decimal, unit: str) -> str:
    """CRP as typed, against its limit in mg/L after the conversion (60 mg/dL is 600 mg/L)."""
    converted = crp_mg_l(value, unit)
    entered = f"{converted} mg/L" + (f" ({value} mg/dL)" if unit == MG_DL else "")
    error = hard_limit_error("crp_mg_l", converted, entered=entered)
    if error:
        return error
    if converted != converted.quantize(Decimal("0.1")):
        return _("CRP is kept in mg/L with one decimal place; %(value)s has more.") % {
            "value": entered
        }
    return ""


def hard_errors(
    crf_code: str,
    values: Values,
    *,
    today: date,
    day0: date,
    now: datetime,
    complete: bool,
    death_recorded: bool,
    show_date: ShowDate = date.isoformat,
) -> dict[str, str]:
    """Every impossible value of a CRF as entered (units as typed): {field: message}.

    `today` is the site's date, `now` the current moment (aware), `day0` the participant's
    Day 0; `death_recorded` says whether a death event is recorded (the day-60 CRF)."""
    errors: dict[str, str] = {}

    def check(name: str, message: str | None) -> None:
        if message and name not in errors:
            errors[name] = message

    check(
        "assessed_on",
        assessment_date_error(
            values.get("assessed_on"), today=today, day0=day0, show_date=show_date
        ),
    )
    for name, key in HARD_LIMITED.items():
        if values.get(name) is not None:
            check(name, hard_limit_error(key, Decimal(values[name])))
    if values.get("fio2") is not None:
        check("fio2", fio2_error(Decimal(values["fio2"]), values.get("fio2_unit") or FRACTION))
    if crf_code == CRP:
        stored = to_stored_units(values)
        if stored.get("entered_value") is not None:
            check("crp_mg_l", crp_error(stored["entered_value"], stored["entered_unit"]))
    if crf_code == BASELINE:
        age, height = values.get("age_years"), values.get("height_cm")
        if age is not None and not 0 < age < 120:
            check("age_years", _("Age must be between 1 and 119 years."))
        if height is not None and not 100 <= height <= 230:
            check("height_cm", _("Height must be between 100 and 230 cm."))
    if crf_code == MURRAY:
        quadrants = values.get("cxr_quadrants")
        if quadrants is not None and not 0 <= quadrants <= 4:
            check(
                "cxr_quadrants",
                _("Chest X-ray quadrants must be between 0 and 4; %(value)s is impossible.")
                % {"value": quadrants},
            )
        for name, message in murray_support_errors(values).items():
            check(name, message)
    if crf_code == INFUSION:
        errors.update(_infusion_errors(values, now=now))
    if crf_code in VITALS_CRFS:
        for name, message in vital_sign_errors(values).items():
            check(name, message)
    if crf_code == SAFETY_LAB:
        for name, message in lab_errors(values).items():
            check(name, message)
    if crf_code == DAY60_FOLLOW_UP:
        if values.get("vital_status") == DEAD and not death_recorded:
            check(
                "vital_status",
                _("Record the death under 'Events' first: its date feeds the endpoints."),
            )
        if values.get("icu_stays_confirmed") is False and complete:
            check("icu_stays_confirmed", _("Record the missing ICU stays before completing."))
    return errors


def murray_of(
    *,
    pf_ratio: scores.Number | None,
    peep_cmh2o: scores.Number | None,
    compliance_ml_cmh2o: scores.Number | None,
    cxr_quadrants: scores.Number | int | None,
    respiratory_support: str,
) -> scores.MurrayScore | None:
    """The Murray score of a CRF's values, PEEP and compliance counted for the ventilated only
    (VENTILATED_SUPPORTS; scores.murray_score's `ventilated`): the score stored with the CRF and
    the one shown as the coordinator types are this one. None when no component is given.
    Raises ValueError for an impossible value (scores.murray_score)."""
    ventilated = (respiratory_support or "") in VENTILATED_SUPPORTS
    counted = (pf_ratio, cxr_quadrants) + ((peep_cmh2o, compliance_ml_cmh2o) if ventilated else ())
    if all(value is None for value in counted):
        return None
    return scores.murray_score(
        pf_ratio=pf_ratio,
        peep_cmh2o=peep_cmh2o,
        compliance_ml_cmh2o=compliance_ml_cmh2o,
        cxr_quadrants=cxr_quadrants,
        ventilated=ventilated,
    )


def murray_support_errors(values: Values) -> dict[str, str]:
    """PEEP or compliance typed for a patient who is not on invasive mechanical ventilation (or
    whose support is not recorded): refused, as Murray's table scores them for the ventilated
    only; a PEEP of 0 typed for a patient on a nasal cannula would lower the mean."""
    support = values.get("respiratory_support") or ""
    if support in VENTILATED_SUPPORTS:
        return {}
    errors = {}
    for name, label in PEEP_AND_COMPLIANCE.items():
        if values.get(name) is None:
            continue
        if not support:
            errors[name] = _(
                "%(field)s is scored for a patient on invasive mechanical ventilation only "
                "(Murray 1988): record the respiratory support first, or leave %(field)s empty."
            ) % {"field": _(label)}
        else:
            errors[name] = _(
                "%(field)s is scored for a patient on invasive mechanical ventilation only "
                "(Murray 1988); the respiratory support recorded is “%(support)s”: leave "
                "%(field)s empty."
            ) % {
                "field": _(label),
                "support": _(TRIAL.respiratory_support_labels.get(support, support)),
            }
    return errors


ShowMoment = Callable[[datetime], str]


def _moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


def assessment_after_infusion_error(
    *,
    assessed_at: datetime | None,
    infusion_started_at: datetime | None,
    show: ShowMoment = _moment,
) -> str:
    """A Day-0 baseline assessment timed after the infusion started: refused (issue 18). At the
    same minute is allowed: the sample was taken as the infusion began."""
    if assessed_at is None or infusion_started_at is None or assessed_at <= infusion_started_at:
        return ""
    return _(
        "This Day-0 assessment is timed %(at)s, after the infusion started (%(start)s): "
        "baseline assessments are made before the dose. Check both times; if the assessment "
        "really followed the dose, it is not a baseline assessment."
    ) % {"at": show(assessed_at), "start": show(infusion_started_at)}


def infusion_after_assessments_error(
    *,
    infusion_started_at: datetime | None,
    assessments: list[tuple[str, datetime]],
    show: ShowMoment = _moment,
) -> str:
    """An infusion start before Day-0 baseline assessments already recorded: refused, naming
    them (the same rule as assessment_after_infusion_error, from the infusion's save)."""
    if infusion_started_at is None:
        return ""
    later = [(label, at) for label, at in assessments if at > infusion_started_at]
    if not later:
        return ""
    return _(
        "The infusion start %(start)s is before Day-0 baseline assessments recorded after it "
        "(%(later)s): they are made before the dose. Check these times."
    ) % {
        "start": show(infusion_started_at),
        "later": "; ".join(f"{label} {show(at)}" for label, at in later),
    }


def lab_errors(values: Values) -> dict[str, str]:
    """Safety-lab results as entered: a known unit, and within the analyte's hard limits once
    converted to its canonical unit (names the value as typed and as converted); lymphocytes
    cannot exceed the white cells."""
    errors: dict[str, str] = {}
    canonical: dict[str, Decimal] = {}
    for analyte in TRIAL.lab_analytes:
        entered = values.get(f"{analyte.code}_entered")
        if entered is None:
            continue
        unit = values.get(f"{analyte.code}_unit") or analyte.unit
        if unit not in analyte.units:
            errors[f"{analyte.code}_entered"] = _("%(field)s: unknown unit %(unit)s.") % {
                "field": _(analyte.label),
                "unit": unit,
            }
            continue
        value = lab_canonical(analyte.code, entered, unit)
        canonical[analyte.code] = value
        if not analyte.minimum <= value <= analyte.maximum:
            shown = f"{value.normalize():f} {analyte.unit}"
            if unit != analyte.unit:
                shown += f" ({entered} {unit})"
            errors[f"{analyte.code}_entered"] = _(
                "%(field)s must be between %(min)s and %(max)s %(unit)s; %(value)s is outside "
                "this hard limit and cannot be saved."
            ) % {
                "field": _(analyte.label),
                "min": analyte.minimum,
                "max": analyte.maximum,
                "unit": analyte.unit,
                "value": shown,
            }
    if (
        "wbc" in canonical
        and "lymphocytes" in canonical
        and canonical["lymphocytes"] > canonical["wbc"]
        and "lymphocytes_entered" not in errors
    ):
        errors["lymphocytes_entered"] = _(
            "Lymphocytes (%(lymph)s) cannot exceed the white cells (%(wbc)s) × 10⁹/L."
        ) % {"lymph": canonical["lymphocytes"].normalize(), "wbc": canonical["wbc"].normalize()}
    return errors


def _infusion_errors(values: Values, *, now: datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    start, end = values.get("started_at"), values.get("ended_at")
    for name, moment in (("started_at", start), ("ended_at", end)):
        if moment and moment > now:
            errors[name] = _("The infusion time cannot be in the future.")
    if start and end and end < start and "ended_at" not in errors:
        errors["ended_at"] = _("The infusion cannot end before it started.")
    volume = values.get("volume_ml")
    if volume is not None and not Decimal("0") < volume <= Decimal("50"):
        errors["volume_ml"] = _("Volume given must be between 0 and 50 ml.")
    if values.get("reaction") and not (values.get("reaction_details") or "").strip():
        errors["reaction_details"] = _("Describe the infusion reaction.")
    return errors


# -- soft limits: confirmed with a reason ------------------------------------------------------


def window_warning(
    on: date | None,
    *,
    visit_code: str,
    window_start: date,
    window_end: date,
    show_date: ShowDate = date.isoformat,
) -> str:
    """A date outside the visit's window: allowed, but a protocol deviation to confirm."""
    if on is None or window_start <= on <= window_end:
        return ""
    return _(
        "The date %(on)s is outside the %(visit)s window (%(start)s to %(end)s): "
        "an out-of-window visit is a protocol deviation."
    ) % {
        "on": show_date(on),
        "visit": visit_code,
        "start": show_date(window_start),
        "end": show_date(window_end),
    }


def delta_warnings(
    current: Mapping[str, Decimal | int | None], previous: Mapping[str, tuple[str, Decimal]]
) -> list[str]:
    """Values that moved more than TRIAL.soft_limit_deltas since the previous visit.

    `current` and `previous` are keyed like the deltas ("pf_ratio", "clinical_status", ...);
    `previous` holds (visit code, value) of the latest earlier visit with a value."""
    warnings = []
    for key, value in current.items():
        if value is None or key not in previous:
            continue
        code, before = previous[key]
        limit = TRIAL.soft_limit_deltas[key]
        if abs(Decimal(value) - before) > limit:
            warnings.append(
                _(
                    "%(field)s moved from %(before)s at %(visit)s to %(now)s, more than "
                    "%(limit)s since the previous visit."
                )
                % {
                    "field": _(DELTA_LABELS[key]),
                    "before": before,
                    "visit": code,
                    "now": Decimal(value).quantize(DELTA_PLACES.get(key, DEFAULT_DELTA_PLACES)),
                    "limit": limit,
                }
            )
    return warnings


def pf_warning(pf: Decimal | None) -> str:
    """A P/F above the trial's soft maximum: unusual in ARDS, often FiO₂ in the wrong unit."""
    if pf is None or pf <= TRIAL.pf_ratio_soft_maximum:
        return ""
    return _(
        "P/F ratio %(pf)s is above %(max)s mmHg, unusual in ARDS: check PaO₂ and "
        "that FiO₂ is entered in the right unit."
    ) % {"pf": pf, "max": TRIAL.pf_ratio_soft_maximum}


def pf_cross_form_warning(pf: Decimal | None, *, other: tuple[str, Decimal] | None) -> str:
    """The P/F of this CRF against the P/F of the other CRF of the same day that holds one (the
    Murray and the blood-gas CRFs): beyond PF_CROSS_FORM_TOLERANCE_MMHG, a confirmation and a
    query (issue 18: 141.7 on one, 533.3 on the other, was accepted silently)."""
    if pf is None or other is None:
        return ""
    label, other_pf = other
    if abs(Decimal(pf) - Decimal(other_pf)) <= PF_CROSS_FORM_TOLERANCE_MMHG:
        return ""
    return _(
        "P/F ratio %(pf)s differs from %(other_pf)s on the %(other)s CRF of the same day by "
        "more than %(tolerance)s mmHg: check PaO₂ and FiO₂ (and its unit) on both."
    ) % {
        "pf": pf,
        "other_pf": other_pf,
        "other": _(label),
        "tolerance": PF_CROSS_FORM_TOLERANCE_MMHG,
    }


def age_warning(age: int | None) -> str:
    if age is None or TRIAL.age_min_years <= age <= TRIAL.age_max_years:
        return ""
    return _("Age %(age)s is outside the eligible %(min)s–%(max)s years.") % {
        "age": age,
        "min": TRIAL.age_min_years,
        "max": TRIAL.age_max_years,
    }


def volume_warning(volume: Decimal | None) -> str:
    if volume is None or volume == TRIAL.dose_volume_ml:
        return ""
    return _("Volume %(volume)s ml differs from the protocol's %(dose)s ml.") % {
        "volume": volume,
        "dose": TRIAL.dose_volume_ml,
    }


def infusion_time_warning(crf_code: str, minutes_after_start: int | None) -> str:
    """A D0 vital-signs time point measured off its time (TRIAL.infusion_vital_timepoints),
    or "before the infusion" measured after it started."""
    if minutes_after_start is None:
        return ""
    if crf_code == VITALS_PRE_INFUSION:
        if minutes_after_start > 0:
            return _(
                "The pre-infusion vital signs were measured %(minutes)s minutes after the "
                "infusion started."
            ) % {"minutes": minutes_after_start}
        return ""
    planned = TRIAL.infusion_vital_timepoints.get(crf_code)
    if planned is None:
        return ""
    if abs(minutes_after_start - planned) > TRIAL.infusion_vital_time_tolerance_minutes:
        return _(
            "Measured %(minutes)s minutes after the infusion started; this time point is at "
            "%(planned)s minutes (± %(tolerance)s)."
        ) % {
            "minutes": minutes_after_start,
            "planned": planned,
            "tolerance": TRIAL.infusion_vital_time_tolerance_minutes,
        }
    return ""


def suggests_infusion_reaction(name: str, *, now: Any, before: Any) -> bool:
    """Whether a vital sign's change since before the infusion is one that suggests an
    infusion reaction (TRIAL.infusion_reaction_changes: a fall as large as a negative change, a
    rise as large as a positive one); False for a sign without such a change or a value
    missing. The CRF's warning and the DSMB's count of warnings both use this rule."""
    change = TRIAL.infusion_reaction_changes.get(name)
    if change is None or now is None or before is None:
        return False
    moved = Decimal(now) - Decimal(before)
    return (change < 0 and moved <= change) or (change > 0 and moved >= change)


def infusion_reaction_suspected(
    crf_code: str, values: Values, context: Mapping[str, Any] | None
) -> bool:
    """Whether a D0 time point after the infusion start has a change from the pre-infusion
    values that suggests an infusion reaction (suggests_infusion_reaction): the CRF page then
    offers the next step, reporting the adverse event (`context` as for soft_warnings)."""
    if crf_code not in TRIAL.infusion_vital_timepoints:
        return False
    pre_infusion = (context or {}).get("pre_infusion") or {}
    return any(
        suggests_infusion_reaction(name, now=values.get(name), before=pre_infusion.get(name))
        for name in TRIAL.infusion_reaction_changes
    )


def infusion_reaction_warnings(values: Values, pre_infusion: Mapping[str, Any]) -> list[str]:
    """Changes since the pre-infusion vital signs that suggest an infusion reaction
    (TRIAL.infusion_reaction_changes): confirm, and record the AE if it is one."""
    warnings = []
    for name in TRIAL.infusion_reaction_changes:
        now, before = values.get(name), pre_infusion.get(name)
        if suggests_infusion_reaction(name, now=now, before=before):
            limit = TRIAL.hard_limits[name]
            warnings.append(
                _(
                    "%(field)s changed from %(before)s to %(now)s %(unit)s since before the "
                    "infusion: a possible infusion reaction. Record it as an adverse event "
                    "if it is one."
                )
                % {"field": _(limit.label), "before": before, "now": now, "unit": limit.unit}
            )
    return warnings


def lab_grades(
    values: Values, *, ranges: Mapping[str, tuple[Decimal, Decimal]], baseline: Values
) -> dict[str, int | None]:
    """The CTCAE v5.0 grade of each graded analyte of a safety-lab CRF (canonical values),
    against the site's (LLN, ULN) and the participant's baseline values (outcomes.ctcae)."""
    grades: dict[str, int | None] = {}
    for analyte in TRIAL.lab_analytes:
        if not analyte.ctcae_term:
            continue
        lln, uln = ranges[analyte.code]
        grades[analyte.code] = ctcae.grade(
            analyte.code,
            values.get(analyte.code),
            lln=lln,
            uln=uln,
            baseline=baseline.get(analyte.code),
        )
    return grades


def lab_ae_warnings(
    grades: Mapping[str, int | None], baseline_grades: Mapping[str, int | None]
) -> list[str]:
    """A new CTCAE grade ≥ TRIAL.lab_ae_grade, or a worsening of ≥ TRIAL.lab_ae_worsening_grades
    from baseline: the coordinator is asked to record an AE (confirmed with a reason -> query)."""
    warnings = []
    for analyte in TRIAL.lab_analytes:
        grade = grades.get(analyte.code)
        before = baseline_grades.get(analyte.code)
        if not ctcae.prompts_ae(
            grade,
            before,
            new_grade=TRIAL.lab_ae_grade,
            worsening=TRIAL.lab_ae_worsening_grades,
        ):
            continue
        warnings.append(
            _(
                "%(field)s: CTCAE grade %(grade)s (%(term)s), grade %(before)s at baseline. "
                "Record an adverse event, or say why it is not one."
            )
            % {
                "field": _(analyte.label),
                "grade": grade,
                "term": analyte.ctcae_term,
                "before": "—" if before is None else before,
            }
        )
    return warnings


def soft_warnings(
    crf_code: str,
    values: Values,
    *,
    visit_code: str,
    window_start: date,
    window_end: date,
    previous: Mapping[str, tuple[str, Decimal]],
    show_date: ShowDate = date.isoformat,
    same_day_pf: tuple[str, Decimal] | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[str]:
    """The warnings of a CRF as stored (converted units; P/F and the Murray score computed):
    the window, the moves since the previous visit, then what is unusual for this CRF.
    `same_day_pf` is (CRF name, P/F) of the other CRF of the same day holding a P/F."""
    warnings = [
        window_warning(
            values.get("assessed_on"),
            visit_code=visit_code,
            window_start=window_start,
            window_end=window_end,
            show_date=show_date,
        )
    ]
    current = {key: values.get(name) for key, name in DELTA_FIELDS.get(crf_code, {}).items()}
    warnings += delta_warnings(current, previous)
    if crf_code in (BLOOD_GAS, MURRAY):
        warnings.append(pf_warning(values.get("pf_ratio")))
        warnings.append(pf_cross_form_warning(values.get("pf_ratio"), other=same_day_pf))
    if crf_code == BASELINE:
        warnings.append(age_warning(values.get("age_years")))
    if crf_code == INFUSION:
        warnings.append(volume_warning(values.get("volume_ml")))
    # Issue 19. `context` holds what the service read besides the CRF: for vital signs on D0
    # the minutes since the infusion started and the pre-infusion values; for the safety lab
    # the CTCAE grades at baseline (None at the baseline visit itself).
    context = context or {}
    if crf_code in VITALS_CRFS:
        warnings += vital_sign_warnings(values)
        warnings.append(infusion_time_warning(crf_code, context.get("minutes_after_start")))
        if crf_code in TRIAL.infusion_vital_timepoints:
            warnings += infusion_reaction_warnings(values, context.get("pre_infusion") or {})
    if crf_code == SAFETY_LAB and context.get("baseline_grades") is not None:
        grades = {a.code: values.get(f"{a.code}_grade") for a in TRIAL.lab_analytes}
        warnings += lab_ae_warnings(grades, context["baseline_grades"])
    return [w for w in warnings if w]


# -- concomitant medications (issue 19) ----------------------------------------------------------


def conmed_errors(
    values: Values, *, today: date, show_date: ShowDate = date.isoformat
) -> dict[str, str]:
    """A medication record as entered: a drug (typed, or the quick pick's name), an indication,
    a dose with its unit, a start not in the future, and either a stop date on or after it or
    "ongoing" (not both)."""
    errors: dict[str, str] = {}
    if not (values.get("drug") or "").strip() and not values.get("category"):
        errors["drug"] = _("Give the drug name, or pick a therapy of interest.")
    if not (values.get("indication") or "").strip():
        errors["indication"] = _("Give the indication.")
    dose, unit = values.get("dose"), values.get("dose_unit")
    if dose is not None and dose <= 0:
        errors["dose"] = _("The dose must be above 0.")
    elif dose is not None and not unit:
        errors["dose_unit"] = _("Give the unit of the dose.")
    start, stop, ongoing = values.get("started_on"), values.get("stopped_on"), values.get("ongoing")
    for name, day in (("started_on", start), ("stopped_on", stop)):
        if day is not None and day > today:
            errors[name] = _("The date cannot be in the future (today is %(today)s).") % {
                "today": show_date(today)
            }
    if start and stop and stop < start and "stopped_on" not in errors:
        errors["stopped_on"] = _("The medication cannot stop before it started.")
    if ongoing and stop:
        errors["ongoing"] = _(
            "A medication with a stop date is not ongoing: give one or the other."
        )
    elif not ongoing and not stop and "stopped_on" not in errors:
        errors["stopped_on"] = _("Give the stop date, or tick 'ongoing'.")
    return errors
