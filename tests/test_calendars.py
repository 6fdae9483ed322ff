"""Jalali ↔ Gregorian conversion on known pairs.

Sources: the registry record gives both calendars (registration 2021-03-05 = 1399/12/15; ethics
approval 2020-11-21 = 1399/09/01; recruitment end 2021-05-05 = 1400/02/15). Nowruz (1 Farvardin)
fell on 2021-03-21 (1400) and 2024-03-20 (1403); 1399 and 1403 are leap years (30 Esfand exists).
"""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel import calendars

REGISTRY_PAIRS = [
    (date(2021, 3, 5), (1399, 12, 15)),
    (date(2020, 11, 21), (1399, 9, 1)),
    (date(2021, 5, 5), (1400, 2, 15)),
]
NOWRUZ_AND_LEAP_PAIRS = [
    (date(2021, 3, 20), (1399, 12, 30)),  # 30 Esfand 1399: leap day
    (date(2021, 3, 21), (1400, 1, 1)),  # Nowruz 1400
    (date(2024, 3, 19), (1402, 12, 29)),  # last day of a common year
    (date(2024, 3, 20), (1403, 1, 1)),  # Nowruz 1403
    (date(2025, 3, 20), (1403, 12, 30)),  # 30 Esfand 1403: leap day
    (date(2025, 3, 21), (1404, 1, 1)),
]


@pytest.mark.parametrize(("gregorian", "jalali"), REGISTRY_PAIRS + NOWRUZ_AND_LEAP_PAIRS)
def test_known_pairs_convert_both_ways(gregorian, jalali):
    assert calendars.to_jalali(gregorian) == jalali
    assert calendars.from_jalali(*jalali) == gregorian


def test_leap_years():
    assert calendars.is_jalali_leap_year(1399)
    assert calendars.is_jalali_leap_year(1403)
    assert not calendars.is_jalali_leap_year(1400)
    assert not calendars.is_jalali_leap_year(1402)


def test_there_is_no_30_esfand_in_a_common_year():
    with pytest.raises(calendars.DateInputError):
        calendars.from_jalali(1402, 12, 30)


@pytest.mark.parametrize(
    "typed", ["1399/12/15", "1399-12-15", " 1399 / 12 / 15 ", "۱۳۹۹/۱۲/۱۵", "1399.12.15"]
)
def test_a_typed_jalali_date_is_the_right_gregorian_date(typed):
    assert calendars.parse_date(typed, calendar=calendars.JALALI) == date(2021, 3, 5)


@pytest.mark.parametrize("typed", ["", "15/12/1399", "1399/13/01", "1399/12/31", "tomorrow"])
def test_impossible_jalali_input_is_refused(typed):
    with pytest.raises(calendars.DateInputError):
        calendars.parse_date(typed, calendar=calendars.JALALI)


def test_gregorian_input_and_display_stay_iso():
    assert calendars.parse_date("2021-03-05", calendar=calendars.GREGORIAN) == date(2021, 3, 5)
    assert calendars.format_date(date(2021, 3, 5), calendar=calendars.GREGORIAN) == "2021-03-05"


def test_jalali_display_with_persian_digits():
    shown = calendars.format_date(date(2021, 3, 5), calendar=calendars.JALALI, persian=True)
    assert shown == "۱۳۹۹/۱۲/۱۵"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_round_trip_for_any_date(value):
    assert calendars.from_jalali(*calendars.to_jalali(value)) == value


def test_the_active_calendar_is_per_context():
    calendars.activate(calendars.JALALI)
    try:
        assert calendars.format_date(date(2021, 3, 21)) == "1400/01/01"
    finally:
        calendars.deactivate()
    assert calendars.format_date(date(2021, 3, 21)) == "2021-03-21"
