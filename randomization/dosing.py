"""The dose and the syringe (SPEC §3, registry: 100 million exosomes per kg in 2 ml saline).

Plain values, no Django import. Volumes are rounded to 0.01 ml, what a 1-ml syringe can measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENTI = Decimal("0.01")
MILLION = 1_000_000


class ConcentrationMissing(ValueError):
    """The active arm's volume cannot be computed without the lot's concentration."""


class LotTooDilute(ValueError):
    """The dose would need more of the lot than the whole syringe holds."""

    def __init__(self, needed_ml: Decimal, total_ml: Decimal):
        super().__init__(f"the dose needs {needed_ml} ml of this lot, more than {total_ml} ml")
        self.needed_ml, self.total_ml = needed_ml, total_ml


@dataclass(frozen=True)
class Dose:
    exosomes_million: Decimal  # weight × dose per kg, in millions of exosomes
    product_volume_ml: Decimal  # drawn from the lot
    saline_volume_ml: Decimal  # normal saline added to reach the total volume
    total_volume_ml: Decimal


def exosome_dose_million(*, weight_kg: Decimal, dose_per_kg: int) -> Decimal:
    return (Decimal(weight_kg) * Decimal(dose_per_kg) / MILLION).quantize(Decimal("0.1"))


def syringe(
    *,
    active: bool,
    weight_kg: Decimal,
    dose_per_kg: int,
    concentration_million_per_ml: Decimal | None,
    total_volume_ml: Decimal,
) -> Dose:
    """What to draw: for the active arm the product volume, made up with saline to the total;
    for placebo saline only. Raises LotTooDilute when the lot cannot fit in the total."""
    if not active:
        return Dose(Decimal(0), Decimal("0.00"), total_volume_ml.quantize(CENTI), total_volume_ml)
    dose = exosome_dose_million(weight_kg=weight_kg, dose_per_kg=dose_per_kg)
    if not concentration_million_per_ml or concentration_million_per_ml <= 0:
        raise ConcentrationMissing("the lot's concentration is needed to compute the volume")
    product = (dose / Decimal(concentration_million_per_ml)).quantize(CENTI, ROUND_HALF_UP)
    if product > total_volume_ml:
        raise LotTooDilute(product, total_volume_ml)
    return Dose(dose, product, (total_volume_ml - product).quantize(CENTI), total_volume_ml)
