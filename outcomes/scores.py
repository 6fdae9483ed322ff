"""Clinical scores and derived endpoints of the trial, as pure functions (no Django import).

Each function cites its source. They take and return plain numbers so that they can be tested
with the values in the paper, and so that external checks (the statistician's scripts, a
monitor's spreadsheet) can call the very same code.

Sources
- Murray JF, Matthay MA, Luce JM, Flick MR. An expanded definition of the adult respiratory
  distress syndrome. Am Rev Respir Dis 1988;138(3):720-723, Table 2 ("lung injury score").
- SPEC.md §4 and §10 (P/F entry, TTIC and ICU-free-day definitions, censoring) and the
  registry record IRCT20201202049568N3 (outcomes and time points).
- Wang Y et al. Remdesivir in adults with severe COVID-19. Lancet 2020;395:1569-78,
  doi:10.1016/S0140-6736(20)31022-9 (the 6-point ordinal scale and time to clinical
  improvement: a 2-point reduction or live discharge). Not Cao B et al., NEJM 2020
  (lopinavir-ritonavir), whose scale has 7 categories.

Fractional values between the printed integer bands (docs/outcomes.md): Murray's table prints
integer ranges (P/F 225-299, PEEP 6-8 ...). We read each printed range as "from this edge up to
the next edge" and a value reaches a better band only when it reaches that band's printed edge.
So a fractional value that falls in the gap between two printed ranges is scored in the *worse*
of the two bands: P/F 224.5 -> 2 (not 1: it has not reached 225), PEEP 5.5 -> 1 (it is above
5), compliance 79.5 -> 1 (it has not reached 80), compliance 19.5 -> 4 (it has not reached 20).
Scoring toward the worse band never makes a patient look better than the measurement says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from kernel import physiology

# A measurement as the forms and the database give it (an int is a float to the type checker);
# a P/F from kernel.physiology.pf_ratio is an exact Fraction.
Number = float | Decimal | Fraction

MURRAY_COMPONENTS = ("pf_ratio", "peep", "compliance", "cxr")

# The one P/F of the trial: exact, from the values as typed (kernel.physiology). Named here
# too, so that `scores.pf_ratio` and `scores.pf_ratio_points` read together as Murray's table.
pf_ratio = physiology.pf_ratio


def _number(name: str, value: Number | str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(value)  # Decimal from the database
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number, not {value!r}") from None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return value


def pf_ratio_points(value: Number) -> int:
    """Murray 1988 Table 2, hypoxemia score: >=300 -> 0, 225-299 -> 1, 175-224 -> 2,
    100-174 -> 3, <100 -> 4 (fractions between printed ranges: the worse band).

    Compared exactly (a Fraction, not a float): 63 / 0.28 is 225 and scores 1."""
    value = physiology.exact("P/F ratio", value)
    if value <= 0:
        raise ValueError(f"P/F ratio must be above 0, not {value}")
    for edge, points in ((300, 0), (225, 1), (175, 2), (100, 3)):
        if value >= edge:
            return points
    return 4


def peep_points(value: Number) -> int:
    """Murray 1988 Table 2, PEEP score (cmH2O, ventilated patients): <=5 -> 0, 6-8 -> 1,
    9-11 -> 2, 12-14 -> 3, >=15 -> 4 (fractions between printed ranges: the worse band)."""
    value = _number("PEEP", value)
    if value < 0:
        raise ValueError(f"PEEP cannot be negative, not {value}")
    for edge, points in ((5, 0), (8, 1), (11, 2), (14, 3)):
        if value <= edge:
            return points
    return 4


def compliance_points(value: Number) -> int:
    """Murray 1988 Table 2, respiratory system compliance score (ml/cmH2O): >=80 -> 0,
    60-79 -> 1, 40-59 -> 2, 20-39 -> 3, <=19 -> 4 (fractions between ranges: the worse band)."""
    value = _number("Compliance", value)
    if value <= 0:
        raise ValueError(f"Compliance must be above 0, not {value}")
    for edge, points in ((80, 0), (60, 1), (40, 2), (20, 3)):
        if value >= edge:
            return points
    return 4


def cxr_points(quadrants: Number) -> int:
    """Murray 1988 Table 2, chest roentgenogram score: the number of quadrants (0-4) with
    alveolar consolidation is the score itself."""
    value = _number("Chest X-ray quadrants", quadrants)
    if value != int(value) or not 0 <= value <= 4:
        raise ValueError(f"Chest X-ray quadrants must be a whole number 0-4, not {quadrants}")
    return int(value)


@dataclass(frozen=True)
class MurrayScore:
    components: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """The sum of the components used, 0-16 (the registry's "0 to 16, higher is worse")."""
        return sum(self.components.values())

    @property
    def n_components(self) -> int:
        return len(self.components)

    @property
    def score(self) -> float:
        """Murray's lung injury score: the sum divided by the number of components used, 0-4."""
        return self.total / self.n_components


def murray_score(
    *,
    pf_ratio: Number | None = None,
    peep_cmh2o: Number | None = None,
    compliance_ml_cmh2o: Number | None = None,
    cxr_quadrants: Number | None = None,
    ventilated: bool = True,
) -> MurrayScore:
    """Murray lung injury score (Murray et al., Am Rev Respir Dis 1988;138:720-3, Table 2).

    Each of the four components given scores 0-4; the score is the sum divided by the number of
    components used ("The final value is obtained by dividing the aggregate sum by the number
    of components that were used"). SPEC §4 and the registry also report the sum, 0-16.
    PEEP and compliance are scored "when ventilated" only: with `ventilated` False they are
    not components (a PEEP of 0 on a nasal cannula would lower the mean), whatever was typed.
    Raises ValueError when no component is given or a value is impossible.
    """
    components: dict[str, int] = {}
    if pf_ratio is not None:
        components["pf_ratio"] = pf_ratio_points(pf_ratio)
    if not ventilated:
        peep_cmh2o = compliance_ml_cmh2o = None
    if peep_cmh2o is not None:
        components["peep"] = peep_points(peep_cmh2o)
    if compliance_ml_cmh2o is not None:
        components["compliance"] = compliance_points(compliance_ml_cmh2o)
    if cxr_quadrants is not None:
        components["cxr"] = cxr_points(cxr_quadrants)
    if not components:
        raise ValueError("The Murray score needs at least one component")
    return MurrayScore(components=components)


def _status(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 6:
        raise ValueError(f"{name} must be a 6-point ordinal status 1-6, not {value!r}")
    return value


def time_to_clinical_improvement(
    *,
    baseline_status: int,
    statuses: dict[int, int],
    discharged_alive_day: int | None = None,
    death_day: int | None = None,
    horizon: int = 28,
    last_contact_day: int | None = None,
) -> tuple[int, bool]:
    """Time to clinical improvement, in days from Day 0 (SPEC §4 and §10; Wang Y, Zhang D, Du G
    et al. Remdesivir in adults with severe COVID-19: a randomised, double-blind,
    placebo-controlled, multicentre trial. Lancet 2020;395:1569-78,
    doi:10.1016/S0140-6736(20)31022-9: "time to clinical improvement ... defined as a
    two-point reduction in patients' admission status on a six-point ordinal scale, or live
    discharge from the hospital, whichever came first").

    The event is the first of (a) a status at least 2 points below the Day-0 status on the
    6-point ordinal scale, (b) discharge alive, on a study day <= horizon. Statuses recorded
    after a death day are ignored. Day 0 is the baseline itself, so only statuses of study day 1
    onwards can show improvement.

    Without an improvement seen (censored, the second value False):
    - death before improvement: censored at the horizon, (horizon, False) — death is the worst
      outcome and is kept in the risk set to the end (Wang 2020, statistical analysis);
    - follow-up ended early alive (`last_contact_day` before the horizon: withdrawal, loss to
      follow-up, investigator decision): censored at the last contact, (last_contact_day, False)
      — nothing is known of the days after it;
    - otherwise (`last_contact_day` None or on/after the horizon): followed to the horizon,
      (horizon, False).
    """
    baseline = _status("Baseline status", baseline_status)
    if horizon < 1:
        raise ValueError(f"The horizon must be a study day >= 1, not {horizon}")
    if last_contact_day is not None and (
        isinstance(last_contact_day, bool) or not isinstance(last_contact_day, int)
    ):
        raise ValueError(f"The last contact must be a study day, not {last_contact_day!r}")
    if last_contact_day is not None and last_contact_day < 0:
        raise ValueError(f"The last contact cannot be before Day 0, not {last_contact_day}")
    target = baseline - 2  # "a decline of 2 or more points from the D0 status"
    improved_day = None
    for day in sorted(statuses):
        status = _status(f"Status on day {day}", statuses[day])
        if day < 1 or day > horizon:
            continue
        if death_day is not None and day >= death_day:
            break
        if status <= target:
            improved_day = day
            break
    if discharged_alive_day is not None:
        discharged_alive = death_day is None or discharged_alive_day < death_day
        if discharged_alive and 0 <= discharged_alive_day <= horizon:
            if improved_day is None or discharged_alive_day < improved_day:
                improved_day = discharged_alive_day
    if improved_day is not None:
        return improved_day, True
    died_by_horizon = death_day is not None and death_day <= horizon
    if not died_by_horizon and last_contact_day is not None and last_contact_day < horizon:
        return last_contact_day, False
    return horizon, False


def icu_days(*, stays: list[tuple[int, int | None]], horizon: int = 60) -> int:
    """Days covered by the union of the half-open stays [admission, discharge) in [0, horizon)."""
    covered: set[int] = set()
    for admission, discharge in stays:
        if discharge is not None and discharge < admission:
            raise ValueError(
                f"An ICU stay cannot end (day {discharge}) before it began ({admission})"
            )
        end = horizon if discharge is None else discharge
        covered.update(range(max(admission, 0), min(end, horizon)))
    return len(covered)


def icu_free_days(
    *,
    stays: list[tuple[int, int | None]],
    death_day: int | None = None,
    horizon: int = 60,
    last_contact_day: int | None = None,
) -> int | None:
    """ICU-free days to the horizon (SPEC §4 and §10; registry secondary outcome 3, "the number
    of days the survivor was out of ICU", 60 days; Schoenfeld DA, Bernard GR, Crit Care Med
    2002;30:1772-7: ventilator-free days are 0 for a patient who dies, and are counted only
    over days that are observed).

    ICU days are the days covered by the union of the stays [admission, discharge) clipped to
    [0, horizon); an ongoing stay (discharge None) runs to the horizon and overlapping stays
    count once. The result is
    - 0 for a participant who died on or before the horizon (whatever the last contact);
    - None (unknown) for one alive at a last contact before the horizon (`last_contact_day` <
      horizon: withdrawn, lost, investigator decision): the days after it are not observed;
    - otherwise horizon - ICU days.
    """
    days_in_icu = icu_days(stays=stays, horizon=horizon)  # validates the stays in every case
    if death_day is not None and death_day <= horizon:
        return 0
    if last_contact_day is not None and last_contact_day < horizon:
        return None
    return horizon - days_in_icu
