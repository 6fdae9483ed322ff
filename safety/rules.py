"""The safety rules, in plain Python (no Django), so they read like the guidance they cite.

- Seriousness: ICH E2A II.B (death, life-threatening, hospitalisation or its prolongation,
  persistent disability, congenital anomaly, other important medical event).
- SUSAR: serious, suspected (relationship possible or stronger) and unexpected against the
  reference safety information (ICH E2A II.C; EU CT-3 §7.2).
- Expedited-report clocks from the day the sponsor/site became aware: 7 days for a fatal or
  life-threatening SUSAR, 15 days for the others (ICH E2A III.A.1-2; CT-3 §7.2.3).
- CTCAE v5.0: grade 5 is "death related to AE", so grade 5 and a fatal outcome go together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

# Relationship codes, from "not related" to "certainly related" (WHO-UMC-like scale).
UNRELATED = "unrelated"
UNLIKELY = "unlikely"
POSSIBLE = "possible"
PROBABLE = "probable"
DEFINITE = "definite"
SUSPECTED_RELATIONSHIPS = frozenset({POSSIBLE, PROBABLE, DEFINITE})

# Outcome codes (CIOMS/E2B).
RECOVERED = "recovered"
RECOVERING = "recovering"
NOT_RECOVERED = "not_recovered"
RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
FATAL = "fatal"
UNKNOWN = "unknown"
# An SAE is followed up until its outcome is one of these.
FINAL_OUTCOMES = frozenset({RECOVERED, RECOVERED_WITH_SEQUELAE, FATAL})
# Outcomes that say the event has an end.
ENDED_OUTCOMES = frozenset({RECOVERED, RECOVERED_WITH_SEQUELAE, FATAL})

SERIOUSNESS_CRITERIA = (
    "death",
    "life_threatening",
    "hospitalization",
    "disability",
    "congenital_anomaly",
    "important_medical_event",
)


def is_suspected(relationship: str) -> bool:
    return relationship in SUSPECTED_RELATIONSHIPS


def is_expected(
    preferred_term: str, grade: int, reference_safety_information: dict[str, int]
) -> bool:
    """Expected only if the term is in the RSI at this grade or a milder one (ICH E2A II.C)."""
    highest_expected = reference_safety_information.get(preferred_term)
    return highest_expected is not None and grade <= highest_expected


def is_susar(*, serious: bool, relationship: str, expected: bool) -> bool:
    return serious and is_suspected(relationship) and not expected


def susar_clock_days(
    *, fatal_or_life_threatening: bool, days_fatal_or_life_threatening: int, days_other: int
) -> int:
    return days_fatal_or_life_threatening if fatal_or_life_threatening else days_other


def susar_deadline(*, aware_at: datetime, clock_days: int) -> datetime:
    """Day 0 is the day of awareness (ICH E2A III.A.1: "no later than 7 calendar days")."""
    return aware_at + timedelta(days=clock_days)


def susar_completion_deadline(
    *, aware_at: datetime, clock_days: int, completion_days: int
) -> datetime:
    """ICH E2A III.A.1: the 7-day report is completed "within 8 additional calendar days"."""
    return aware_at + timedelta(days=clock_days + completion_days)


def initial_report_deadline(*, aware_at: datetime, hours: int) -> datetime:
    return aware_at + timedelta(hours=hours)


def susar_reminder_due(*, deadline: datetime, now: datetime, days_left: tuple[int, ...]) -> int:
    """The reminder threshold (days left) reached at `now`, the smallest one; 0 if none yet.

    With thresholds (2, 1): 2.5 days left → 0, 1.5 → 2, 0.5 → 1, overdue → 1.
    """
    left = deadline - now
    reached = [d for d in days_left if left <= timedelta(days=d)]
    return min(reached) if reached else 0


@dataclass(frozen=True)
class Inconsistency:
    field: str  # the form field the message belongs to ("" for the whole form)
    code: str  # a key of safety.models.CONSISTENCY_MESSAGES


def consistency_problems(
    *,
    grade: int | None,
    outcome: str,
    serious: bool,
    criteria: set[str],
    onset_date: date | None,
    end_date: date | None,
    ongoing: bool,
    death_date: date | None,
    aware_on: date | None,
    today: date,
) -> list[Inconsistency]:
    """Every contradiction between the fields of one AE record; empty when it is coherent."""
    problems: list[Inconsistency] = []
    add = problems.append
    fatal = outcome == FATAL
    if grade == 5 and not fatal:
        add(Inconsistency("outcome", "grade5_needs_fatal"))
    if grade == 5 and death_date is None:
        add(Inconsistency("death_date", "grade5_needs_death"))
    if fatal and grade is not None and grade != 5:
        add(Inconsistency("ctcae_grade", "fatal_needs_grade5"))
    if death_date is not None and not fatal:
        add(Inconsistency("death_date", "death_needs_fatal"))
    if fatal and not (serious and "death" in criteria):
        add(Inconsistency("criterion_death", "fatal_needs_death_criterion"))
    if "death" in criteria and not fatal:
        add(Inconsistency("outcome", "death_criterion_needs_fatal"))
    if serious and not criteria:
        add(Inconsistency("serious", "serious_needs_criterion"))
    if criteria and not serious:
        add(Inconsistency("serious", "criterion_needs_serious"))
    if serious and aware_on is None:
        add(Inconsistency("aware_at", "serious_needs_awareness"))
    if onset_date is not None and onset_date > today:
        add(Inconsistency("onset_date", "onset_in_future"))
    if ongoing and end_date is not None:
        add(Inconsistency("end_date", "ongoing_and_ended"))
    if not ongoing and end_date is None:
        add(Inconsistency("end_date", "end_or_ongoing"))
    if end_date is not None and onset_date is not None and end_date < onset_date:
        add(Inconsistency("end_date", "end_before_onset"))
    if end_date is not None and end_date > today:
        add(Inconsistency("end_date", "end_in_future"))
    if aware_on is not None and aware_on > today:
        add(Inconsistency("aware_at", "aware_in_future"))
    if ongoing and outcome in ENDED_OUTCOMES:
        add(Inconsistency("ongoing", "ongoing_but_outcome_final"))
    if not ongoing and outcome in {RECOVERING, NOT_RECOVERED}:
        add(Inconsistency("ongoing", "ended_but_not_recovered"))
    if death_date is not None and onset_date is not None and death_date < onset_date:
        add(Inconsistency("death_date", "death_before_onset"))
    if death_date is not None and end_date is not None and death_date != end_date:
        add(Inconsistency("end_date", "fatal_end_is_death"))
    if aware_on is not None and onset_date is not None and aware_on < onset_date:
        add(Inconsistency("aware_at", "aware_before_onset"))
    return problems
