"""The trial's limits on measured values, as plain functions over plain values (no Django).

One place per rule for every form that records a measure: the visit CRFs (outcomes.checks) and
the screening (participants: the blood gas, the vital signs at screening). The numbers are the
trial configuration's (kernel.trial.TRIAL.hard_limits, TRIAL.vital_sign_soft_ranges); this
module only says what a value beyond them means:
- beyond a hard limit the value is impossible and refused, with a message naming the field,
  the value as typed and the limit (SPEC §4);
- a vital sign outside its soft range is possible, and saved once the person confirms it with a
  reason (issue 19).

It lives in the kernel because participants (screening) is below outcomes (the CRFs) in the
layers (decision 0019): the screening's vital signs and the visits' are checked by these same
functions, so a limit can never differ between them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from kernel.trial import TRIAL, translate

FRACTION, PERCENT = "fraction", "percent"

# The six measures of every vital-signs record (issue 19), named once: the CRFs' required
# fields, the screening's, the DSMB's infusion tables and the exports read this tuple. Each is
# a key of TRIAL.hard_limits and of TRIAL.vital_sign_soft_ranges.
VITAL_SIGN_MEASURES = (
    "temperature_c",
    "heart_rate_bpm",
    "systolic_mmhg",
    "diastolic_mmhg",
    "respiratory_rate",
    "spo2_percent",
)


def _(message: str) -> str:
    """The message in the reader's language (kernel.trial.translate)."""
    return translate(message)


def hard_limit_error(key: str, value: Decimal, *, entered: str = "") -> str | None:
    """The message for a value outside its hard limit (TRIAL.hard_limits[key]), naming the
    field and the limit; None within it."""
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


def fio2_fraction(value: Decimal, unit: str) -> Decimal:
    """FiO₂ as a fraction: a % entry is divided by 100, explicitly (SPEC §4: never guessed)."""
    if unit == PERCENT:
        return value / Decimal(100)
    if unit == FRACTION:
        return value
    raise ValueError(f"unknown FiO2 unit {unit!r}")


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


def vital_sign_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """The impossible vital signs of one record as typed: each measure beyond its hard limit,
    and a diastolic pressure not below the systolic. {field: message}."""
    errors: dict[str, str] = {}
    for name in VITAL_SIGN_MEASURES:
        if values.get(name) is not None:
            message = hard_limit_error(name, Decimal(values[name]))
            if message:
                errors[name] = message
    systolic, diastolic = values.get("systolic_mmhg"), values.get("diastolic_mmhg")
    if (
        systolic is not None
        and diastolic is not None
        and diastolic >= systolic
        and "diastolic_mmhg" not in errors
    ):
        errors["diastolic_mmhg"] = _(
            "The diastolic pressure must be below the systolic (%(sys)s/%(dia)s mmHg)."
        ) % {"sys": systolic, "dia": diastolic}
    return errors


def vital_sign_warnings(values: Mapping[str, Any]) -> list[str]:
    """Vital signs outside TRIAL.vital_sign_soft_ranges: possible, to confirm with a reason."""
    warnings = []
    for name, (low, high) in TRIAL.vital_sign_soft_ranges.items():
        value = values.get(name)
        if value is None:
            continue
        limit = TRIAL.hard_limits[name]
        if (low is not None and value < low) or (high is not None and value > high):
            warnings.append(
                _("%(field)s %(value)s %(unit)s is outside %(low)s–%(high)s: check it.")
                % {
                    "field": _(limit.label),
                    "value": value,
                    "unit": limit.unit,
                    "low": "" if low is None else low,
                    "high": "" if high is None else high,
                }
            )
    return warnings
