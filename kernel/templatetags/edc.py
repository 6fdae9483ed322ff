"""Template filters of the product: dates in the reader's calendar."""

from datetime import date, datetime

from django import template
from django.utils import timezone

from .. import calendars

register = template.Library()


@register.filter
def edc_date(value):
    """A date (or the local date of a datetime) in the active calendar.

    Gregorian: 2021-03-05. Jalali: 1399/12/15, in Persian digits when the page is in Persian.
    """
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, date):
        return value
    return calendars.shown(value)


@register.filter
def edc_datetime(value, zone=""):
    """A datetime as date (active calendar) and local time; `|edc_datetime:"tz"` adds the time
    zone's abbreviation or offset (UTC, +0330), as the `T` of Django's date filter does."""
    if value in (None, ""):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    time_part = local.strftime("%H:%M")
    if zone == "tz" and local.tzinfo is not None:
        time_part = f"{time_part} {local.tzname()}"
    return f"{edc_date(local)} {calendars.digits_for_page(time_part)}"
