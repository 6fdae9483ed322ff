"""End of follow-up and the daily status as plain rules (no Django import), like checks.py.

- `disposition_errors`: the edit checks of the end-of-study disposition CRF (issue 18 point 2).
- `last_contact_day`: the study day at which follow-up ended early alive, if it did: the
  censoring day of TTIC and the reason ICU-free days are unknown (outcomes.scores).
- `daily_status_error`, `expected_days`, `missing_days`: the daily 6-point status D1-D28
  (issue 18 point 3; Wang Y et al., Lancet 2020;395:1569-78, doi:10.1016/S0140-6736(20)31022-9).
- `merged_statuses`: the status of each study day from the daily page and the visit CRFs.

Messages are translated when made (through kernel.trial.translate, Django's gettext once the
kernel app is ready, as checks.py does); dates are shown by the caller's `show_date`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from kernel.trial import translate

ShowDate = Callable[[date], str]

COMPLETED = "completed"
DIED = "died"
ENDED_EARLY_ALIVE = ("withdrew_consent", "lost_to_follow_up", "investigator_decision")
ALIVE, DEAD, UNKNOWN = "alive", "dead", "unknown"
VITAL_DAYS = (28, 60)


def _(message: str) -> str:
    """The message in the reader's language (kernel.trial.translate)."""
    return translate(message)


def disposition_errors(
    values: Mapping[str, Any],
    *,
    day0: date,
    today: date,
    death_on: date | None,
    completed_from: date,
    show_date: ShowDate,
    last_data_on: date | None = None,
) -> dict[str, str]:
    """Field -> message for what the disposition cannot say (hard checks, refused).

    `death_on` is the recorded death (the unscheduled event); `completed_from` the first day
    follow-up can count as completed (the day-60 visit's window opens). Checks:
    - the last contact is not before Day 0 (randomization) nor after today, not after a
      recorded death, and not before the latest assessment recorded (`last_data_on`: a status
      or a CRF assessed later was a contact, and would be seen after the censoring day);
    - "died" needs the death recorded, and a recorded death on or before day 60 needs "died";
    - "completed" needs the last contact in the day-60 window or later and the day-60 vital
      status known;
    - each vital status: "alive" or "dead" needs the date it was known and its source, that
      date neither before Day 0 nor in the future; "alive at day N" cannot be known before day
      N, nor said of a participant whose recorded death is on or before day N; "dead at day N"
      needs a recorded death on or before day N, known on or after the death; dead at day 28
      is dead at day 60.
    """
    errors: dict[str, str] = {}
    outcome = values.get("outcome") or ""
    last = values.get("last_contact_on")
    if last is not None:
        if last < day0:
            errors["last_contact_on"] = _(
                "The last contact (%(date)s) cannot be before randomization (Day 0, %(day0)s)."
            ) % {"date": show_date(last), "day0": show_date(day0)}
        elif last > today:
            errors["last_contact_on"] = _(
                "The last contact (%(date)s) cannot be in the future."
            ) % {"date": show_date(last)}
        elif death_on is not None and last > death_on:
            errors["last_contact_on"] = _(
                "The last contact (%(date)s) cannot be after the death (%(death)s)."
            ) % {"date": show_date(last), "death": show_date(death_on)}
        elif last_data_on is not None and last < last_data_on:
            errors["last_contact_on"] = _(
                "The last contact (%(date)s) cannot be before the latest assessment recorded "
                "(%(data)s): that assessment was a contact."
            ) % {"date": show_date(last), "data": show_date(last_data_on)}
    day60 = day0 + timedelta(days=60)
    if outcome == DIED and death_on is None:
        errors["outcome"] = _(
            "“Died” needs the death recorded first, as an unscheduled event with its date."
        )
    elif outcome and outcome != DIED and death_on is not None and death_on <= day60:
        errors["outcome"] = _(
            "A death is recorded on %(death)s, within follow-up: the disposition is “Died”."
        ) % {"death": show_date(death_on)}
    if outcome == COMPLETED:
        if last is not None and last < completed_from and "last_contact_on" not in errors:
            errors["last_contact_on"] = _(
                "Follow-up is completed only with a last contact in the day-60 window "
                "(from %(date)s); otherwise choose why it ended early."
            ) % {"date": show_date(completed_from)}
        if values.get("vital_status_d60") == UNKNOWN:
            errors["vital_status_d60"] = _(
                "A participant who completed follow-up has a known vital status at day 60."
            )
    for day in VITAL_DAYS:
        errors.update(
            _vital_errors(
                values, day=day, day0=day0, today=today, death_on=death_on, show=show_date
            )
        )
    if (
        values.get("vital_status_d28") == DEAD
        and values.get("vital_status_d60") in (ALIVE, UNKNOWN)
        and "vital_status_d60" not in errors
    ):
        errors["vital_status_d60"] = _("Dead at day 28 is dead at day 60.")
    return errors


def _vital_errors(
    values: Mapping[str, Any],
    *,
    day: int,
    day0: date,
    today: date,
    death_on: date | None,
    show: ShowDate,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    status_name = f"vital_status_d{day}"
    on_name, source_name = f"{status_name}_on", f"{status_name}_source"
    status, on, source = values.get(status_name), values.get(on_name), values.get(source_name)
    day_n = day0 + timedelta(days=day)
    if status in (ALIVE, DEAD):
        if on is None:
            errors[on_name] = _("Give the date the vital status was known.")
        if not source:
            errors[source_name] = _("Give the source of the vital status.")
    if on is not None:
        if on < day0:
            errors[on_name] = _("This date (%(date)s) cannot be before Day 0 (%(day0)s).") % {
                "date": show(on),
                "day0": show(day0),
            }
        elif on > today:
            errors[on_name] = _("This date (%(date)s) cannot be in the future.") % {
                "date": show(on)
            }
    if status == ALIVE:
        if death_on is not None and death_on <= day_n:
            errors[status_name] = _(
                "A death is recorded on %(death)s, on or before day %(day)s (%(date)s)."
            ) % {"death": show(death_on), "day": day, "date": show(day_n)}
        elif on is not None and on < day_n and on_name not in errors:
            errors[on_name] = _(
                "“Alive at day %(day)s” cannot be known before day %(day)s (%(date)s); if the "
                "participant has not been reached since, the status is “Unknown”."
            ) % {"day": day, "date": show(day_n)}
    elif status == DEAD:
        if death_on is None:
            errors[status_name] = _(
                "“Dead” needs the death recorded first, as an unscheduled event with its date."
            )
        elif death_on > day_n:
            errors[status_name] = _(
                "The recorded death (%(death)s) is after day %(day)s (%(date)s): the participant "
                "was alive at day %(day)s."
            ) % {"death": show(death_on), "day": day, "date": show(day_n)}
        elif on is not None and on < death_on and on_name not in errors:
            errors[on_name] = _(
                "The death (%(death)s) cannot be known before it happened (%(date)s)."
            ) % {"death": show(death_on), "date": show(on)}
    return errors


def last_contact_day(*, outcome: str | None, last_contact: date | None, day0: date) -> int | None:
    """The study day at which follow-up ended early alive (withdrawal, loss, investigator's
    decision): the day TTIC is censored and past which ICU days are unknown. None when
    follow-up did not end early alive (completed, died, or no disposition yet)."""
    if outcome not in ENDED_EARLY_ALIVE or last_contact is None:
        return None
    return max((last_contact - day0).days, 0)


# --- the daily status -----------------------------------------------------------------------


def expected_days(*, today_day: int, horizon: int, end_day: int | None) -> range:
    """The study days whose status is expected so far: day 1 to the horizon (28), to the day
    of discharge, death or end of follow-up if earlier, and not after today."""
    last = horizon if end_day is None else min(horizon, end_day)
    return range(1, min(last, today_day) + 1)


def missing_days(
    *, recorded: Iterable[int], today_day: int, horizon: int, end_day: int | None, grace: int = 1
) -> list[int]:
    """The expected days without a status once `grace` whole days have passed after them: with
    the default, day d is missing from day d + 2 (its status can still be entered all of day
    d + 1, e.g. the morning after a night shift, before a query is raised)."""
    have = set(recorded)
    last_due = today_day - grace - 1
    return [
        day
        for day in expected_days(today_day=last_due, horizon=horizon, end_day=end_day)
        if day not in have
    ]


def daily_status_error(
    *, day: int, status: int | None, today_day: int, horizon: int, end_day: int | None
) -> str:
    """Why the status of `day` cannot be saved, or ''."""
    if status is None:
        return _("Choose the status of this day.")
    if isinstance(status, bool) or not isinstance(status, int) or not 1 <= status <= 6:
        return _("The status is one of the 6 points of the scale.")
    if day < 1 or day > horizon:
        return _("The daily status is recorded from day 1 to day %(horizon)s.") % {
            "horizon": horizon
        }
    if day > today_day:
        return _("Day %(day)s has not come yet.") % {"day": day}
    if end_day is not None and day > end_day:
        return _(
            "Day %(day)s is after the discharge, death or end of follow-up (day %(end)s): "
            "no status is expected."
        ) % {"day": day, "end": end_day}
    return ""


def merged_statuses(*, daily: Mapping[int, int], visits: Mapping[int, int]) -> dict[int, int]:
    """The status of each study day from the daily page and the visit CRFs (by the study day of
    their assessment date). Where both give a day, the higher (worse) status counts: an
    improvement is never seen earlier than both sources agree."""
    days = dict(visits)
    for day, status in daily.items():
        days[day] = max(status, days.get(day, status))
    return days
