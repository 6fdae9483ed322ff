"""The Jalali date picker's month grid and the typed-date echo (htmx fragments)."""

from __future__ import annotations

from datetime import date

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from . import calendars

JALALI_MONTHS = [
    gettext_lazy("Farvardin"), gettext_lazy("Ordibehesht"), gettext_lazy("Khordad"),
    gettext_lazy("Tir"), gettext_lazy("Mordad"), gettext_lazy("Shahrivar"),
    gettext_lazy("Mehr"), gettext_lazy("Aban"), gettext_lazy("Azar"),
    gettext_lazy("Dey"), gettext_lazy("Bahman"), gettext_lazy("Esfand"),
]  # fmt: skip
# The Iranian week starts on Saturday.
WEEKDAYS_FROM_SATURDAY = [
    gettext_lazy("Sa"), gettext_lazy("Su"), gettext_lazy("Mo"), gettext_lazy("Tu"),
    gettext_lazy("We"), gettext_lazy("Th"), gettext_lazy("Fr"),
]  # fmt: skip


def _typed_value(request) -> str:
    """The one date value an htmx request carries, whatever the field's name."""
    for key, value in request.GET.items():
        if key not in ("y", "m"):
            return (value.split() or [""])[0]  # the date of a date and time
    return ""


def month_grid(year: int, month: int, *, selected: date | None, today: date) -> list[list]:
    """Weeks (Saturday first) of Jalali `year`/`month`; each day a dict, blanks are None."""
    first = calendars.from_jalali(year, month, 1)
    offset = (first.weekday() + 2) % 7  # Monday=0 … Saturday=5 → Saturday=0
    days: list[dict | None] = [None] * offset
    for day in range(1, calendars.jalali_month_length(year, month) + 1):
        gregorian = calendars.from_jalali(year, month, day)
        days.append(
            {
                "label": calendars.digits_for_page(str(day)),
                "value": f"{year:04d}/{month:02d}/{day:02d}",
                "iso": gregorian.isoformat(),
                "selected": gregorian == selected,
                "today": gregorian == today,
            }
        )
    days += [None] * (-len(days) % 7)
    return [days[i : i + 7] for i in range(0, len(days), 7)]


@require_GET
def date_picker(request):
    today = timezone.localdate()
    selected = None
    try:
        selected = calendars.parse_date(_typed_value(request), calendar=calendars.JALALI)
    except calendars.DateInputError:
        pass
    try:
        year, month = int(request.GET["y"]), int(request.GET["m"])
        if not 1 <= month <= 12 or not 1300 <= year <= 1500:
            raise ValueError
    except (KeyError, ValueError):
        year, month, _day = calendars.to_jalali(selected or today)
    previous = (year - 1, 12) if month == 1 else (year, month - 1)
    following = (year + 1, 1) if month == 12 else (year, month + 1)
    return render(
        request,
        "calendar_month.html",
        {
            "weeks": month_grid(year, month, selected=selected, today=today),
            "month_name": JALALI_MONTHS[month - 1],
            "year_shown": calendars.digits_for_page(str(year)),
            "weekday_names": WEEKDAYS_FROM_SATURDAY,
            "previous": previous,
            "next": following,
        },
    )


@require_GET
def date_echo(request):
    """What a typed date means in the calendar the database keeps."""
    typed = _typed_value(request)
    if not typed.strip():
        return render(request, "date_echo.html", {"text": ""})
    try:
        value = calendars.parse_date(typed)
    except calendars.DateInputError:
        text = _("Not a date yet: write it as YYYY/MM/DD.")
    else:
        text = _("= %(date)s in the Gregorian calendar") % {"date": value.isoformat()}
    return render(request, "date_echo.html", {"text": text})
