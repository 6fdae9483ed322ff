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

from kernel.trial import (
    BASELINE,
    BLOOD_GAS,
    CLINICAL_STATUS,
    CRP,
    DAY60_FOLLOW_UP,
    INFUSION,
    MURRAY,
    TRIAL,
    gettext_noop,
    translate,
)

FRACTION, PERCENT = "fraction", "percent"
MG_L, MG_DL = "mg/L", "mg/dL"
DEAD = "dead"  # VitalStatus.DEAD

# Field -> hard-limit key in TRIAL.hard_limits, for the fields checked as they are typed.
HARD_LIMITED = {
    "weight_kg": "weight_kg",
    "pao2_mmhg": "pao2_mmhg",
    "peep_cmh2o": "peep_cmh2o",
    "compliance_ml_cmh2o": "compliance_ml_cmh2o",
}
# The values of each CRF with a configured "moved more than" soft limit
# (TRIAL.soft_limit_deltas key -> the CRF's field holding it).
DELTA_FIELDS: dict[str, dict[str, str]] = {
    BLOOD_GAS: {"pf_ratio": "pf_ratio"},
    MURRAY: {"pf_ratio": "pf_ratio", "murray_total": "total"},
    CRP: {"crp_mg_l": "crp_mg_l"},
    CLINICAL_STATUS: {"clinical_status": "status_score"},
}
DELTA_LABELS = {
    "pf_ratio": gettext_noop("P/F ratio"),
    "crp_mg_l": gettext_noop("CRP (mg/L)"),
    "murray_total": gettext_noop("Murray sum"),
    "clinical_status": gettext_noop("Clinical status"),
}
# Scales of whole numbers: a move on them is shown without a decimal ("from 4 to 1").
INTEGER_DELTAS = frozenset({"murray_total", "clinical_status"})

ShowDate = Callable[[date], str]
Values = Mapping[str, Any]


def _(message: str) -> str:
    """The message in the reader's language (kernel.trial.translate: Django's gettext once the
    kernel app is ready)."""
    return translate(message)


# -- unit conversions ------------------------------------------------------------------------


def fio2_fraction(value: Decimal, unit: str) -> Decimal:
    """FiO₂ as a fraction: a % entry is divided by 100, explicitly (SPEC §4: never guessed)."""
    if unit == PERCENT:
        return value / Decimal(100)
    if unit == FRACTION:
        return value
    raise ValueError(f"unknown FiO2 unit {unit!r}")


def crp_mg_l(value: Decimal, unit: str) -> Decimal:
    """CRP in mg/L, the stored unit: mg/dL × 10 (TRIAL.crp_unit_factors)."""
    return value * TRIAL.crp_unit_factors[unit]


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
    return stored


# -- hard limits: refused ----------------------------------------------------------------------


def hard_limit_error(key: str, value: Decimal, *, entered: str = "") -> str | None:
    """The message for a value outside its hard limit, naming the field and the limit."""
    limit = TRIAL.hard_limits[key]
    if limit.minimum <= value <= limit.maximum:
        return None
    return _(
        "%(field)s must be between %(min)s and %(max)s %(unit)s; %(value)s is outside this "
        "hard limit and cannot be saved."
    ) % {
        "field": limit.label,
        "min": limit.minimum,
        "max": limit.maximum,
        "unit": limit.unit,
        "value": entered or f"{value} {limit.unit}",
    }


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


def fio2_error(value: Decimal, unit: str) -> str:
    """FiO₂ as typed (a fraction or a %) against its limit, converted explicitly."""
    fraction = fio2_fraction(value, unit)
    entered = f"{value} %" if unit == PERCENT else f"{value}"
    error = hard_limit_error("fio2", fraction, entered=entered)
    if error:
        return error
    if fraction != fraction.quantize(Decimal("0.001")):
        return _("FiO₂ has at most three decimals as a fraction.")
    return ""


def crp_error(value: Decimal, unit: str) -> str:
    """CRP as typed, against its limit in mg/L after the conversion (60 mg/dL is 600 mg/L)."""
    converted = crp_mg_l(value, unit)
    entered = f"{converted} mg/L" + (f" ({value} mg/dL)" if unit == MG_DL else "")
    return hard_limit_error("crp_mg_l", converted, entered=entered) or ""


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
    if crf_code == INFUSION:
        errors.update(_infusion_errors(values, now=now))
    if crf_code == DAY60_FOLLOW_UP:
        if values.get("vital_status") == DEAD and not death_recorded:
            check(
                "vital_status",
                _("Record the death under 'Events' first: its date feeds the endpoints."),
            )
        if values.get("icu_stays_confirmed") is False and complete:
            check("icu_stays_confirmed", _("Record the missing ICU stays before completing."))
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
                    "now": Decimal(value).quantize(
                        Decimal("1") if key in INTEGER_DELTAS else Decimal("0.1")
                    ),
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


def soft_warnings(
    crf_code: str,
    values: Values,
    *,
    visit_code: str,
    window_start: date,
    window_end: date,
    previous: Mapping[str, tuple[str, Decimal]],
    show_date: ShowDate = date.isoformat,
) -> list[str]:
    """The warnings of a CRF as stored (converted units; P/F and the Murray sum computed):
    the window, the moves since the previous visit, then what is unusual for this CRF."""
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
    if crf_code == BASELINE:
        warnings.append(age_warning(values.get("age_years")))
    if crf_code == INFUSION:
        warnings.append(volume_warning(values.get("volume_ml")))
    return [w for w in warnings if w]
