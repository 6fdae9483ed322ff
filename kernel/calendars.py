"""Dates in the Gregorian or the Solar Hijri (Jalali) calendar, and Persian digits.

The database, exports, ODM and the audit trail always hold ISO 8601 Gregorian dates; a Jalali date
exists only on screen and in what a user types. Conversion is jdatetime's (Borkowski's algorithm,
the same as the Iranian calendar authority's tables for 1178–1634 AP). The active calendar is
per request, like Django's active time zone (`activate` / `active`), set by
kernel.middleware.UserPreferencesMiddleware from the user's or their site's setting.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import date

import jdatetime

GREGORIAN = "gregorian"
JALALI = "jalali"

_active: ContextVar[str] = ContextVar("edc_calendar", default=GREGORIAN)

_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_TO_ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_DATE_INPUT = re.compile(r"^\s*(\d{3,4})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\s*$")


class DateInputError(ValueError):
    """A typed date that is not a real date in the calendar it was typed in."""


def activate(calendar: str) -> None:
    if calendar not in (GREGORIAN, JALALI):
        raise ValueError(f"unknown calendar {calendar!r}")
    _active.set(calendar)


def deactivate() -> None:
    _active.set(GREGORIAN)


def active() -> str:
    return _active.get()


def to_jalali(value: date) -> tuple[int, int, int]:
    """The Jalali (year, month, day) of a Gregorian date. 2021-03-05 → (1399, 12, 15)."""
    j = jdatetime.date.fromgregorian(date=value)
    return j.year, j.month, j.day


def from_jalali(year: int, month: int, day: int) -> date:
    """The Gregorian date of a Jalali date; DateInputError if there is no such day."""
    try:
        return jdatetime.date(year, month, day).togregorian()
    except ValueError as error:
        raise DateInputError(f"{year:04d}/{month:02d}/{day:02d} is not a Jalali date") from error


def is_jalali_leap_year(year: int) -> bool:
    return jdatetime.date(year, 1, 1).isleap()


def jalali_month_length(year: int, month: int) -> int:
    """Farvardin–Shahrivar 31 days, Mehr–Bahman 30, Esfand 29 (30 in a leap year)."""
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if is_jalali_leap_year(year) else 29


def persian_digits(text: str) -> str:
    return text.translate(_PERSIAN_DIGITS)


def ascii_digits(text: str) -> str:
    return text.translate(_TO_ASCII_DIGITS)


def format_date(value: date | None, *, calendar: str | None = None, persian: bool = False) -> str:
    """`value` as YYYY-MM-DD (Gregorian) or YYYY/MM/DD (Jalali, Persian digits if asked)."""
    if value is None:
        return ""
    if (calendar or active()) == JALALI:
        text = "{:04d}/{:02d}/{:02d}".format(*to_jalali(value))
        return persian_digits(text) if persian else text
    return value.isoformat()


def parse_date(text: str, *, calendar: str | None = None) -> date:
    """A date typed as YYYY/MM/DD or YYYY-MM-DD (ASCII or Persian digits) in `calendar`."""
    match = _DATE_INPUT.match(ascii_digits(text or ""))
    if not match:
        raise DateInputError(f"{text!r} is not a date written as YYYY/MM/DD")
    year, month, day = (int(part) for part in match.groups())
    if (calendar or active()) == JALALI:
        return from_jalali(year, month, day)
    try:
        return date(year, month, day)
    except ValueError as error:
        raise DateInputError(f"{text!r} is not a date") from error


def persian_page() -> bool:
    """Is the page being made in Persian (Persian digits in dates, times and the picker)?"""
    from django.utils import translation

    return translation.get_language() == "fa"


def digits_for_page(text: str) -> str:
    """`text` with Persian digits on a Persian page, as it is elsewhere."""
    return persian_digits(text) if persian_page() else text


def shown(value: date) -> str:
    """A date in a message to the reader: the active calendar, Persian digits on Persian pages
    (Gregorian readers get ISO 8601, as everywhere)."""
    return format_date(value, persian=persian_page())
