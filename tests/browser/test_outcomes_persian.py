"""The Tehran coordinator works in Persian with Jalali dates (issue 11): the CRF page is right to
left, the date is typed and picked in the Solar Hijri calendar, and the Gregorian date is stored."""

from datetime import timedelta

from playwright.sync_api import expect

from kernel import calendars
from kernel.models import User
from outcomes import selectors
from outcomes.models import BloodGas, Visit

from ..factories import PASSWORD
from .test_outcomes_journey import participant, shot  # noqa: F401 — the shared fixture


def test_a_persian_coordinator_enters_an_abg_with_a_jalali_date(participant, sign_in, live_server):  # noqa: F811
    coordinator = User.objects.get(username="coordinator")
    coordinator.language, coordinator.calendar = "fa", "jalali"
    coordinator.save(update_fields=["language", "calendar"])
    d3 = Visit.objects.get(participant=participant, code="D3")
    yesterday = selectors.site_today(participant.site) - timedelta(days=1)
    typed = calendars.format_date(yesterday, calendar=calendars.JALALI)  # e.g. 1405/09/04

    page = sign_in("coordinator", PASSWORD)
    page.goto(
        f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/D3/blood_gas/"
    )
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "fa")
    form = page.get_by_test_id("crf-form")
    expect(form).to_contain_text("ذخیره")  # Persian buttons

    # The date field is Jalali text with its picker: open the month grid, then type the date.
    field = page.locator("input[name=assessed_on]")
    expect(field).to_have_attribute("placeholder", "1399/12/15")
    page.locator("[data-edc-date] button").first.click()
    picker = page.get_by_test_id("date-picker")
    expect(picker).to_be_visible()
    shot(page, "outcomes-crf-persian-jalali-picker")
    if not picker.locator(f"[title='{yesterday.isoformat()}']").count():  # the 1st of a month
        picker.locator("button").first.click()  # the month before
    picker.locator(f"[title='{yesterday.isoformat()}']").click()
    expect(field).to_have_value(typed)
    expect(page.locator(".edc-date-echo")).to_contain_text(yesterday.isoformat())

    page.locator("input[name=pao2_mmhg]").fill("80")
    page.locator("input[name=fio2]").fill("0.40")
    page.locator("input[name=fio2_unit][value=fraction]").check()
    # Yesterday is outside D3's 0-day window: confirm the warning (in Persian), then save.
    page.locator("button[name=action][value=complete]").click()
    page.wait_for_selector(".alert-success, [data-testid=soft-warnings]")
    if page.get_by_test_id("soft-warnings").count():
        page.locator("input[name=confirm_warnings]").check()
        page.locator("textarea[name=warning_reason], input[name=warning_reason]").fill(
            "اندازه‌گیری دیروز، ثبت امروز"
        )
        expect(field).to_have_value(typed)  # nothing typed is lost
        page.locator("button[name=action][value=complete]").click()
    expect(page.locator(".alert-success").first).to_be_visible()
    shot(page, "outcomes-crf-persian-saved")

    abg = BloodGas.objects.get(visit=d3)
    assert abg.assessed_on == yesterday  # stored Gregorian
    assert abg.pf_ratio == 200


def test_a_persian_coordinator_picks_the_infusion_day_and_types_its_time(
    participant,  # noqa: F811
    sign_in,
    live_server,
):
    coordinator = User.objects.get(username="coordinator")
    coordinator.language, coordinator.calendar = "fa", "jalali"
    coordinator.save(update_fields=["language", "calendar"])
    day0 = Visit.objects.get(participant=participant, code="D0").target_date
    jalali_day0 = calendars.format_date(day0, calendar=calendars.JALALI)

    page = sign_in("coordinator", PASSWORD)
    page.goto(f"{live_server.url}/outcomes/participants/{participant.study_id}/visits/D0/infusion/")
    started = page.locator("input[name=started_at]")
    expect(started).to_have_attribute("placeholder", "1399/12/15 14:30")
    wrapper = page.locator("[data-edc-date]", has=started)
    wrapper.locator("button").first.click()
    picker = wrapper.get_by_test_id("date-picker")
    expect(picker).to_be_visible()
    if not picker.locator(f"[title='{day0.isoformat()}']").count():
        picker.locator("button").first.click()  # Day 0 was in the month before
    picker.locator(f"[title='{day0.isoformat()}']").click()
    expect(started).to_have_value(f"{jalali_day0} ")
    started.press("End")
    started.type("10:30")
    expect(started).to_have_value(f"{jalali_day0} 10:30")
    shot(page, "outcomes-crf-persian-infusion-datetime")
