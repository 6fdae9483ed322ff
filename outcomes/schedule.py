"""Visit windows and statuses as plain rules (no Django import), like outcomes/scores.py.

A visit of study day `day` with window (before, after) has target date Day 0 + day and may be
done from target - before to target + after (clinicedc edc-visit-schedule: `rlower`,
`rupper`). What a visit "is" today follows from its dates and what has happened to it.
"""

from __future__ import annotations

from datetime import date, timedelta

UPCOMING = "upcoming"  # its window has not opened yet
OPEN = "open"  # in its window, before the target date
DUE = "due"  # on or after the target date, window still open
OVERDUE = "overdue"  # window closed, not done, not marked missed
DONE = "done"  # every CRF of the visit complete
MISSED = "missed"  # marked missed, with a reason
NOT_APPLICABLE = "not_applicable"  # after death, withdrawal or loss to follow-up

STATUSES = (UPCOMING, OPEN, DUE, OVERDUE, DONE, MISSED, NOT_APPLICABLE)


def visit_dates(
    *, day0: date, day: int, window_before: int, window_after: int
) -> tuple[date, date, date]:
    """(target date, window start, window end) of a visit."""
    target = day0 + timedelta(days=day)
    return target, target - timedelta(days=window_before), target + timedelta(days=window_after)


def visit_status(
    *,
    state: str,
    target_date: date,
    window_start: date,
    window_end: date,
    today: date,
    ended_on: date | None = None,
) -> str:
    """The status of one visit on `today`.

    `state` is what is stored ("scheduled", "done" or "missed"); `ended_on` is the date of the
    participant's death, withdrawal or loss to follow-up, if any: a visit not done whose target
    date is on or after it no longer applies.
    """
    if state == DONE:
        return DONE
    if state == MISSED:
        return MISSED
    if ended_on is not None and target_date >= ended_on:
        return NOT_APPLICABLE
    if today < window_start:
        return UPCOMING
    if today < target_date:
        return OPEN
    if today <= window_end:
        return DUE
    return OVERDUE


def study_day(*, day0: date, on: date) -> int:
    """Study day of a date: Day 0 is the day of randomization and infusion."""
    return (on - day0).days


def outside_window(*, on: date, window_start: date, window_end: date) -> bool:
    return on < window_start or on > window_end
