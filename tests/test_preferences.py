"""A user's own language and calendar; dates stay Gregorian in the database."""

import zoneinfo
from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import translation

from kernel import calendars
from kernel.models import Calendar, User
from kernel.roles import Role

from .factories import ParticipantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(make_user, login):
    user = make_user(Role.COORDINATOR)
    login(user)
    return user


def test_a_user_chooses_the_jalali_calendar_and_sees_jalali_dates(client, coordinator, site01):
    response = client.post("/preferences/", {"language": "", "calendar": "jalali"}, follow=True)
    body = response.content.decode()
    assert "Your preferences are saved." in body
    assert User.objects.get(pk=coordinator.pk).calendar == Calendar.JALALI
    today = datetime.now(tz=zoneinfo.ZoneInfo(site01.time_zone)).date()
    assert f"Today is {calendars.format_date(today, calendar=calendars.JALALI)}." in body


def test_the_audit_trail_follows_the_readers_calendar(client, coordinator, site01):
    """Issue 21: every date on every page follows the user's calendar, the audit trail's too
    (with the time to the second, in the site's time zone)."""
    client.post("/preferences/", {"language": "fa", "calendar": "jalali"})
    participant = ParticipantFactory(site=site01)
    history = client.get(f"/audit/participants.participant/{participant.pk}/").content.decode()
    created = participant.history.earliest("history_date").history_date
    registered = created.astimezone(zoneinfo.ZoneInfo(site01.time_zone))
    jalali = calendars.format_date(registered.date(), calendar=calendars.JALALI)
    persian_digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    # In Latin or Persian digits, as the reader's language writes them.
    assert jalali in history or jalali.translate(persian_digits) in history
    clock = f"{registered:%H:%M:%S}"
    assert clock in history or clock.translate(persian_digits) in history
    assert f">{registered:%Y-%m-%d %H:%M:%S}" not in history


def test_a_user_chooses_persian_and_gets_a_right_to_left_page(client, coordinator):
    client.post("/preferences/", {"language": "fa", "calendar": ""})
    body = client.get("/").content.decode()
    assert '<html lang="fa" dir="rtl">' in body
    assert "bootstrap.rtl.min.css" in body


def test_the_browser_language_is_used_when_the_user_has_none(client, coordinator):
    body = client.get("/", headers={"accept-language": "fa"}).content.decode()
    assert 'dir="rtl"' in body
    assert 'dir="ltr"' in client.get("/").content.decode()


def test_an_unknown_choice_is_refused_and_nothing_is_saved(client, coordinator):
    response = client.post("/preferences/", {"language": "xx", "calendar": "lunar"})
    body = response.content.decode()
    assert "Select a valid choice" in body
    coordinator.refresh_from_db()
    assert (coordinator.language, coordinator.calendar) == ("", "")


def test_the_site_default_calendar_applies_until_the_user_chooses(client, coordinator, site01):
    site01.default_calendar = Calendar.JALALI
    site01.save()
    body = client.get("/preferences/").content.decode()
    today = datetime.now(tz=zoneinfo.ZoneInfo(site01.time_zone)).date()
    assert f"Today is {calendars.format_date(today, calendar=calendars.JALALI)}." in body
    coordinator.calendar = Calendar.GREGORIAN
    coordinator.save()
    assert f"Today is {today.isoformat()}." in client.get("/preferences/").content.decode()


def test_the_date_filter_follows_the_active_calendar_and_language():
    template = Template("{% load edc %}{{ d|edc_date }} {{ t|edc_datetime }}")
    context = Context({"d": date(2021, 3, 5), "t": datetime(2021, 3, 5, 8, 30, tzinfo=UTC)})
    assert template.render(context) == "2021-03-05 2021-03-05 08:30"
    calendars.activate(calendars.JALALI)
    try:
        with translation.override("fa"):
            assert template.render(context) == "۱۳۹۹/۱۲/۱۵ ۱۳۹۹/۱۲/۱۵ ۰۸:۳۰"
    finally:
        calendars.deactivate()


def test_persian_pages_are_translated_from_the_shipped_catalogue(client, coordinator):
    client.post("/preferences/", {"language": "fa", "calendar": "jalali"})
    body = client.get("/").content.decode()
    assert "کارهای امروز" in body  # "What to do today"
    assert "What to do today" not in body
    assert "fonts/vazirmatn" not in body  # the font comes through the stylesheet, not a CDN


def test_a_persian_request_leaves_no_persian_behind(client, coordinator):
    from django.utils.translation import get_language, gettext

    client.post("/preferences/", {"language": "fa", "calendar": "jalali"})
    client.get("/")
    client.get("/", headers={"accept-language": "fa"})
    # Code after the request in the same thread (a task, a service, the next test) is English.
    assert get_language() == "en"
    assert gettext("Randomized") == "Randomized"
    assert calendars.active() == calendars.GREGORIAN
