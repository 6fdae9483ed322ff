"""Dates typed in the reader's calendar are stored Gregorian (issue 11 groundwork)."""

from datetime import UTC, date, datetime

import pytest
from django import forms

from kernel import calendars
from kernel.datepicker import month_grid
from kernel.forms import EdcDateField, EdcDateTimeField
from kernel.roles import Role


class OnsetForm(forms.Form):
    onset = EdcDateField(label="Onset date")


@pytest.fixture
def jalali():
    calendars.activate(calendars.JALALI)
    yield
    calendars.deactivate()


def test_a_jalali_reader_types_a_jalali_date_and_the_form_holds_the_gregorian_one(jalali):
    form = OnsetForm({"onset": "1399/12/15"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["onset"] == date(2021, 3, 5)


def test_an_impossible_jalali_date_says_how_to_write_one_and_keeps_the_text(jalali):
    form = OnsetForm({"onset": "1402/12/30"})  # 1402 is not a leap year
    assert not form.is_valid()
    assert form.errors["onset"] == [
        "Enter a Solar Hijri (Jalali) date as YYYY/MM/DD, e.g. 1399/12/15."
    ]
    assert 'value="1402/12/30"' in str(form["onset"])


def test_a_saved_date_is_shown_back_in_jalali_with_its_gregorian_echo(jalali):
    html = str(OnsetForm(initial={"onset": date(2021, 3, 5)})["onset"])
    assert 'value="1399/12/15"' in html
    assert "= 2021-03-05 in the Gregorian calendar" in html
    assert 'type="text"' in html


def test_the_picker_button_draws_its_icon_and_needs_no_font_that_has_one(jalali):
    """Issue 21: the calendar emoji showed as an empty box without a font that had it. The
    icon is drawn (inline SVG, no style attribute, no external file: the CSP allows it)."""
    html = str(OnsetForm()["onset"])
    button = html[html.index("<button") : html.index("</button>")]
    assert "<svg" in button
    assert 'aria-hidden="true"' in button
    assert "\U0001f4c5" not in html
    assert "&#x1F4C5;" not in html
    assert "style=" not in button
    assert 'aria-label="Choose a date"' in button


def test_a_gregorian_reader_gets_the_browsers_date_input():
    html = str(OnsetForm(initial={"onset": date(2021, 3, 5)})["onset"])
    assert 'type="date"' in html
    assert 'value="2021-03-05"' in html
    form = OnsetForm({"onset": "2021-03-05"})
    assert form.is_valid()
    assert form.cleaned_data["onset"] == date(2021, 3, 5)


def test_the_month_grid_starts_on_saturday_and_knows_esfand_lengths():
    # 1 Farvardin 1400 = Sunday 2021-03-21: one blank (Saturday) before it.
    weeks = month_grid(1400, 1, selected=None, today=date(2000, 1, 1))
    assert weeks[0][0] is None
    assert weeks[0][1]["iso"] == "2021-03-21"

    def days(year, month):
        grid = month_grid(year, month, selected=None, today=date(2000, 1, 1))
        return [day for week in grid for day in week if day]

    assert len(days(1399, 12)) == 30  # leap year
    assert len(days(1402, 12)) == 29
    assert days(1399, 12)[14]["value"] == "1399/12/15"
    assert days(1399, 12)[14]["iso"] == "2021-03-05"


@pytest.mark.django_db
def test_the_picker_and_the_echo_answer_signed_in_users(client, make_user, login):
    login(make_user(Role.COORDINATOR))
    picker = client.get("/calendar/month/", {"onset": "1399/12/15"}).content.decode()
    assert 'data-edc-date-value="1399/12/15"' in picker
    assert "Esfand 1399" in picker
    following = client.get("/calendar/month/", {"y": "1399", "m": "12"}).content.decode()
    assert "?y=1400&m=1" in following  # the next month is Farvardin of the next year
    client.post("/preferences/", {"language": "", "calendar": "jalali"})
    echo = client.get("/calendar/echo/", {"onset": "1399/12/15"}).content.decode()
    assert "= 2021-03-05 in the Gregorian calendar" in echo
    bad = client.get("/calendar/echo/", {"onset": "1399/13/15"}).content.decode()
    assert "Not a date yet" in bad


class ConsentTimeForm(forms.Form):
    at = EdcDateTimeField(label="Consent date and time")


def test_a_jalali_reader_types_a_date_and_time_stored_as_the_utc_moment(jalali):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    with timezone.override(ZoneInfo("Asia/Tehran")):
        # The registry's date, 1399/12/15 = 2021-03-05; 14:30 in Tehran (+03:30 that day).
        form = ConsentTimeForm({"at": "۱۳۹۹/۱۲/۱۵ ۱۴:۳۰"})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["at"] == datetime(2021, 3, 5, 11, 0, tzinfo=UTC)
        html = str(ConsentTimeForm(initial={"at": form.cleaned_data["at"]})["at"])
    assert 'value="1399/12/15 14:30"' in html
    assert 'type="text"' in html
    assert "data-edc-datetime" in html  # the picker keeps the time typed
    assert 'hx-get="/calendar/month/"' in html  # the month picker of the date fields


def test_a_jalali_date_and_time_without_a_time_says_how_to_write_it(jalali):
    form = ConsentTimeForm({"at": "1399/12/15"})
    assert not form.is_valid()
    assert form.errors["at"] == [
        "Enter the date and time as YYYY/MM/DD HH:MM, e.g. 1399/12/15 14:30."
    ]
    assert 'value="1399/12/15"' in str(form["at"])


def test_a_gregorian_reader_gets_the_browsers_date_and_time_input():
    form = ConsentTimeForm({"at": "2021-03-05T14:30"})
    assert form.is_valid(), form.errors
    assert 'type="datetime-local"' in str(ConsentTimeForm()["at"])


def test_dates_in_messages_follow_the_readers_calendar_and_digits(jalali):
    from django.utils import translation

    with translation.override("fa"):
        assert calendars.shown(date(2021, 3, 5)) == "۱۳۹۹/۱۲/۱۵"
    with translation.override("en"):
        assert calendars.shown(date(2021, 3, 5)) == "1399/12/15"
    calendars.activate(calendars.GREGORIAN)
    assert calendars.shown(date(2021, 3, 5)) == "2021-03-05"
