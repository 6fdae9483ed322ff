"""The vital signs at screening as a full casebook record (issue 19): source-data verification,
queries (raised by a confirmed soft-limit warning or by hand, answered and closed), the
investigator's e-signature, locks, the API and the export's changes after unblinding, through
the same mechanisms as the visits' CRFs (datamanagement.selectors.VISITLESS_RECORDS).

Through the Django test client as each role uses it, on PostgreSQL."""

import re
from datetime import time
from decimal import Decimal

import pytest

from datamanagement import selectors
from datamanagement.models import Lock, Notification, Query, QueryState, SdvMark, Signature
from kernel import concurrency
from kernel.roles import Role
from participants import services as participant_services
from participants.models import ScreeningVitalSigns

from .factories import PASSWORD, ParticipantFactory
from .page_client import PageClient
from .participants_factories import ConsentFactory, EligibilityFactory, ScreeningFactory

pytestmark = pytest.mark.django_db

CODE = "screening_vitals"


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


@pytest.fixture
def enrolled(site01):
    return ParticipantFactory(site=site01)


def post_data(screening, **overrides) -> dict:
    data = {
        "measured_on": screening.screened_on.isoformat(),
        "measured_at": "09:30",
        "temperature_c": "37.2",
        "heart_rate_bpm": "96",
        "systolic_mmhg": "118",
        "diastolic_mmhg": "72",
        "respiratory_rate": "26",
        "spo2_percent": "91",
        "fio2": "0.40",
        "fio2_unit": "fraction",
        "respiratory_support": "face_mask",
    }
    data.update(overrides)
    return data


def vitals_url(participant) -> str:
    return f"/participants/{participant.study_id}/vital-signs/"


def review_url(participant) -> str:
    return f"/data/participants/{participant.study_id}/records/{CODE}/"


def record(client, login, coordinator, participant, **overrides):
    """The coordinator records (or corrects, with `reason_for_change`) the vital signs."""
    client.logout()
    login(coordinator)
    response = client.post(vitals_url(participant), post_data(participant.screening, **overrides))
    assert response.status_code == 302, response.context["form"].errors
    return ScreeningVitalSigns.objects.get(screening=participant.screening)


def test_the_monitor_verifies_the_fields_and_a_change_clears_the_mark(
    client, login, make_user, coordinator, enrolled
):
    record(client, login, coordinator, enrolled)
    monitor = make_user(Role.MONITOR)
    client.logout()
    login(monitor)
    sdv = f"/data/participants/{enrolled.study_id}/sdv/"
    page = client.get(sdv).content.decode()
    assert f'data-testid="sdv--{CODE}"' in page
    response = client.post(sdv, {f"field::{CODE}:heart_rate_bpm": "1", f"field::{CODE}:fio2": "1"})
    assert response.status_code == 302
    marks = SdvMark.objects.filter(participant=enrolled, visit__isnull=True, crf_code=CODE)
    assert {m.field_name: m.value for m in marks} == {"heart_rate_bpm": "96", "fio2": "0.400"}
    page = client.get(review_url(enrolled)).content.decode()
    assert "verified" in page
    # The whole record, then a correction of the heart rate: only its mark is cleared.
    assert client.post(sdv, {f"crf::{CODE}": "1"}).status_code == 302
    required = selectors.sdv_required_fields(CODE)
    assert "respiratory_support" in required
    assert "warning_reason" not in required
    assert selectors.sdv_of_crf(None, CODE, participant=enrolled).is_verified
    record(client, login, coordinator, enrolled, heart_rate_bpm="104", reason_for_change="Misread")
    status = selectors.sdv_of_crf(None, CODE, participant=enrolled)
    assert [f.name for f in status.fields if f.mark is None] == ["heart_rate_bpm"]
    cleared = SdvMark.objects.get(field_name="heart_rate_bpm", cleared_at__isnull=False)
    assert "Misread" in cleared.cleared_because
    assert Notification.objects.filter(recipient=monitor, text__contains="verify it again")
    client.logout()
    login(monitor)
    assert "changed after SDV" in client.get(review_url(enrolled)).content.decode()


def test_a_confirmed_soft_limit_warning_opens_a_query_answered_and_closed(
    client, login, make_user, coordinator, enrolled
):
    record(
        client,
        login,
        coordinator,
        enrolled,
        spo2_percent="82",
        confirm_warnings="on",
        warning_reason="Known hypoxaemia",
    )
    query = Query.objects.get(participant=enrolled, crf_code=CODE)
    assert query.visit is None
    assert query.origin == "edit_check"
    assert "SpO2 82 %" in query.text
    assert "Known hypoxaemia" in query.text
    # Shown on the page where the site enters the data, and answered there.
    page = client.get(vitals_url(enrolled)).content.decode()
    assert 'data-testid="record-queries"' in page
    assert f'data-testid="query-{query.pk}"' in page
    response = client.post(
        f"/data/queries/{query.pk}/", {f"q{query.pk}-text": "Confirmed", "action": "answer"}
    )
    assert response.status_code == 302
    assert Query.objects.get(pk=query.pk).state == QueryState.ANSWERED
    client.logout()
    login(make_user(Role.DATA_MANAGER))
    page = client.get(review_url(enrolled)).content.decode()
    assert f'data-testid="query-{query.pk}"' in page
    response = client.post(
        f"/data/queries/{query.pk}/", {f"q{query.pk}-text": "Accepted", "action": "close"}
    )
    assert response.status_code == 302
    assert Query.objects.get(pk=query.pk).state == QueryState.CLOSED
    # Saving again with the same warning raises no second query.
    record(
        client,
        login,
        coordinator,
        enrolled,
        spo2_percent="82",
        heart_rate_bpm="90",
        confirm_warnings="on",
        warning_reason="Known hypoxaemia",
        reason_for_change="Recount",
    )
    assert Query.objects.filter(crf_code=CODE).count() == 1


def test_a_warning_confirmed_before_enrollment_is_queried_at_enrollment(
    client, login, site01, coordinator
):
    screening = ScreeningFactory(site=site01, screened_by=coordinator)
    login(coordinator)
    url = f"/participants/{screening.screening_number}/vital-signs/"
    data = post_data(
        screening, temperature_c="39.6", confirm_warnings="on", warning_reason="Febrile"
    )
    assert client.post(url, data).status_code == 302
    assert not Query.objects.exists()  # no casebook yet
    EligibilityFactory(screening=screening, confirmed=True)
    ConsentFactory(screening=screening)
    participant = participant_services.participant_enroll(screening=screening, user=coordinator)
    query = Query.objects.get(participant=participant, crf_code=CODE)
    assert "Temperature 39.6" in query.text


def test_a_monitor_raises_a_query_on_a_field_by_hand(
    client, login, make_user, coordinator, enrolled
):
    record(client, login, coordinator, enrolled)
    client.logout()
    login(make_user(Role.MONITOR))
    url = f"/data/participants/{enrolled.study_id}/queries/new/?crf={CODE}&field=systolic_mmhg"
    page = client.get(url).content.decode()
    assert "Systolic blood pressure" in page or "systolic blood pressure" in page
    response = client.post(url, {"text": "Please check against the chart"})
    assert response.status_code == 302
    assert response.url == review_url(enrolled)
    query = Query.objects.get(crf_code=CODE, field_name="systolic_mmhg")
    assert query.origin == "manual"
    assert query.visit is None
    page = client.get(f"/data/queries/{query.pk}/").content.decode()
    assert review_url(enrolled) in page
    # A field the record does not have is refused.
    bad = f"/data/participants/{enrolled.study_id}/queries/new/?crf={CODE}&field=recorded_by"
    client.post(bad, {"text": "?"})
    assert not Query.objects.filter(field_name="recorded_by").exists()


def test_the_signature_is_voided_by_a_change(client, login, make_user, coordinator, enrolled):
    record(client, login, coordinator, enrolled)
    investigator = make_user(Role.INVESTIGATOR)
    client.logout()
    login(investigator)
    url = f"/data/participants/{enrolled.study_id}/sign/?level=crf&crf={CODE}"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"level": "crf", "crf": CODE, "meaning": "accurate_complete", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == review_url(enrolled)
    signature = Signature.objects.get(crf_code=CODE)
    assert signature.visit is None
    assert signature.level == "crf"
    vitals = ScreeningVitalSigns.objects.get(screening=enrolled.screening)
    assert signature.manifest == [
        ["participants.screeningvitalsigns", vitals.pk, concurrency.version_of(vitals)]
    ]
    assert selectors.signature_is_intact(signature)
    page = client.get(review_url(enrolled)).content.decode()
    assert "Test Investigator" in page
    # The casebook signature covers the record too.
    casebook = f"/data/participants/{enrolled.study_id}/sign/?level=casebook"
    response = client.post(
        casebook, {"level": "casebook", "meaning": "accurate_complete", "password": PASSWORD}
    )
    assert response.status_code == 302
    record(client, login, coordinator, enrolled, systolic_mmhg="124", reason_for_change="Misread")
    for signed in Signature.objects.all():
        assert signed.voided_at is not None, signed.level
        assert "Vital signs at screening changed after signing" in signed.void_reason


def test_a_locked_record_refuses_a_post_clearly_and_loses_nothing(
    client, login, make_user, coordinator, enrolled
):
    record(client, login, coordinator, enrolled)
    client.logout()
    login(make_user(Role.DATA_MANAGER))
    response = client.post(
        "/data/locks/",
        {
            "do": "lock",
            "level": "crf",
            "study_id": enrolled.study_id,
            "crf_code": CODE,
            "reason": "Cleaned",
            "next": review_url(enrolled),
        },
    )
    assert response.status_code == 302
    lock = Lock.objects.get(level="crf", crf_code=CODE)
    assert lock.visit is None
    assert lock.participant == enrolled
    assert "lock-banner" in client.get(review_url(enrolled)).content.decode()
    client.logout()
    login(coordinator)
    response = client.post(
        vitals_url(enrolled),
        post_data(enrolled.screening, heart_rate_bpm="100", reason_for_change="Misread"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "These data are locked (CRF lock by" in page
    assert 'value="100"' in page  # what was typed is kept
    assert ScreeningVitalSigns.objects.get(screening=enrolled.screening).heart_rate_bpm == 96
    # The guard refuses any other path too.
    from datamanagement.exceptions import RecordLocked

    vitals = ScreeningVitalSigns.objects.get(screening=enrolled.screening)
    vitals.heart_rate_bpm = 99
    with pytest.raises(RecordLocked):
        vitals.save()


def test_the_participant_lock_covers_the_record(client, login, make_user, coordinator, enrolled):
    record(client, login, coordinator, enrolled)
    Lock.objects.create(
        level="participant", participant=enrolled, reason="Casebook clean",
        locked_by=make_user(Role.DATA_MANAGER),
    )  # fmt: skip
    response = client.post(
        vitals_url(enrolled),
        post_data(enrolled.screening, heart_rate_bpm="100", reason_for_change="Misread"),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "These data are locked (Participant lock by" in page, response.context["form"].errors
    assert ScreeningVitalSigns.objects.get(screening=enrolled.screening).heart_rate_bpm == 96


def test_blinded_roles_read_the_review_page_without_the_arm(
    client, login, make_user, coordinator, enrolled
):
    record(client, login, coordinator, enrolled)
    for role in (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER):
        client.logout()
        login(coordinator if role == Role.COORDINATOR else make_user(role))
        response = client.get(review_url(enrolled))
        assert response.status_code == 200, role
        page = response.content.decode()
        assert 'data-testid="field-heart_rate_bpm"' in page
        assert "placebo" not in page.lower()  # the blinded crawls check every arm marker
    client.logout()
    login(make_user(Role.PHARMACIST))
    assert client.get(review_url(enrolled)).status_code == 403


def test_values_are_shown_as_the_monitor_compares_them(coordinator, enrolled):
    ScreeningVitalSigns.objects.create(
        screening=enrolled.screening,
        measured_on=enrolled.screening.screened_on,
        measured_at=time(9, 30),
        temperature_c=Decimal("37.5"),
        recorded_by=coordinator,
    )
    status = selectors.sdv_of_crf(None, CODE, participant=enrolled)
    shown = {f.name: f.value for f in status.fields}
    assert shown["temperature_c"] == "37.5"
    assert shown["measured_at"] == "09:30"  # as typed and exported, no seconds


def test_the_database_lock_checklist_counts_them_until_verified(
    client, login, make_user, coordinator, enrolled
):
    record(client, login, coordinator, enrolled)

    def unverified() -> int:
        return next(i for i in selectors.database_lock_readiness() if i.key == "sdv").count

    before = unverified()
    assert before >= 1
    client.logout()
    login(make_user(Role.MONITOR))
    sdv = f"/data/participants/{enrolled.study_id}/sdv/"
    assert client.post(sdv, {f"crf::{CODE}": "1"}).status_code == 302
    assert unverified() == before - 1


def test_a_voided_signature_signed_again_leaves_the_checklist(
    client, login, make_user, coordinator, enrolled
):
    record(client, login, coordinator, enrolled)
    investigator = make_user(Role.INVESTIGATOR)
    url = f"/data/participants/{enrolled.study_id}/sign/?level=crf&crf={CODE}"
    data = {"level": "crf", "crf": CODE, "meaning": "accurate_complete", "password": PASSWORD}

    def voided() -> int:
        items = selectors.database_lock_readiness()
        return next(i for i in items if i.key == "voided_signatures").count

    client.logout()
    login(investigator)
    assert client.post(url, data).status_code == 302
    record(client, login, coordinator, enrolled, heart_rate_bpm="90", reason_for_change="Misread")
    assert voided() == 1
    client.logout()
    login(investigator)
    assert client.post(url, data).status_code == 302
    assert voided() == 0


def test_the_sdv_queue_lists_them_until_verified(client, login, make_user, coordinator, enrolled):
    record(client, login, coordinator, enrolled)
    client.logout()
    login(make_user(Role.MONITOR))
    queue = client.get("/data/worklists/sdv/").content.decode()
    assert f'data-testid="sdv-{enrolled.study_id}--{CODE}"' in queue
    assert review_url(enrolled) in queue
    sdv = f"/data/participants/{enrolled.study_id}/sdv/"
    assert client.post(sdv, {f"crf::{CODE}": "1"}).status_code == 302
    queue = client.get("/data/worklists/sdv/").content.decode()
    assert f'data-testid="sdv-{enrolled.study_id}--{CODE}"' not in queue


def test_the_record_awaits_the_investigators_signature_on_the_worklist(
    client, login, make_user, coordinator, enrolled
):
    """The investigator's "awaiting your signature" list has the record as it has a visit: its
    link opens the record's signature; signed, it leaves the list; a change brings it back first,
    as a voided signature."""
    record(client, login, coordinator, enrolled)
    investigator = make_user(Role.INVESTIGATOR)
    client.logout()
    login(investigator)
    row = f'data-testid="sign-{enrolled.study_id}-{CODE}"'
    body = client.get("/data/worklists/signatures/").content.decode()
    assert row in body
    link = (
        re.search(rf'{row}.*?href="([^"]*/sign/[^"]*)"', body, re.S).group(1).replace("&amp;", "&")
    )
    assert link == f"/data/participants/{enrolled.study_id}/sign/?level=crf&crf={CODE}"
    assert client.get(link).status_code == 200
    data = {"level": "crf", "crf": CODE, "meaning": "accurate_complete", "password": PASSWORD}
    assert client.post(link, data).status_code == 302
    assert row not in client.get("/data/worklists/signatures/").content.decode()

    record(client, login, coordinator, enrolled, systolic_mmhg="124", reason_for_change="Misread")
    (task,) = [t for t in selectors.awaiting_signature(investigator) if t.record is not None]
    assert task.voided is not None
    assert task.participant == enrolled
    assert task.on == enrolled.screening.screened_on
    client.logout()
    login(investigator)
    body = client.get("/data/worklists/signatures/").content.decode()
    assert row in body
    assert "signature voided by a change" in body


def test_a_jalali_monitor_reads_dates_in_jalali_and_the_mark_keeps_the_iso_value(
    client, login, make_user, coordinator, enrolled
):
    """The monitor compares with Iranian source documents, often dated in the Jalali calendar:
    the review and SDV pages show a date in the reader's calendar (as the grid and visit tables
    do), before and after a change; the SDV mark stores one form for every reader (ISO)."""
    from datetime import timedelta

    from kernel import calendars
    from kernel.models import Calendar

    screened_on = enrolled.screening.screened_on
    record(client, login, coordinator, enrolled)
    monitor = make_user(Role.MONITOR)
    monitor.calendar = Calendar.JALALI
    monitor.save()
    client.logout()
    login(monitor)
    sdv = f"/data/participants/{enrolled.study_id}/sdv/"
    assert client.post(sdv, {f"field::{CODE}:measured_on": "1"}).status_code == 302
    mark = SdvMark.objects.get(participant=enrolled, field_name="measured_on")
    assert mark.value == screened_on.isoformat()

    def jalali(day) -> str:
        return calendars.format_date(day, calendar=Calendar.JALALI)

    review = client.get(review_url(enrolled)).content.decode()
    row = review[review.index('data-testid="field-measured_on"') :]
    row = row[: row.index("</tr>")]
    assert jalali(screened_on) in row
    assert screened_on.isoformat() not in row

    later = screened_on + timedelta(days=1)
    record(
        client,
        login,
        coordinator,
        enrolled,
        measured_on=later.isoformat(),
        reason_for_change="Date misread",
    )
    client.logout()
    login(monitor)
    page = client.get(sdv).content.decode()
    assert f"changed after verification: {jalali(screened_on)} → {jalali(later)}" in page
    assert screened_on.isoformat() not in page


def test_a_stored_value_is_shown_in_the_readers_calendar_by_its_fields_type():
    """`in_reader_calendar`: the ISO form of a date, date-time or time field converted as every
    page shows one (a date-time as `edc_datetime`), any other value and any other form as
    stored."""
    from django.utils import timezone

    from kernel import calendars
    from kernel.models import Calendar
    from participants.models import Consent

    consented_at = Consent._meta.get_field("consented_at")
    measured_on = ScreeningVitalSigns._meta.get_field("measured_on")
    measured_at = ScreeningVitalSigns._meta.get_field("measured_at")
    heart_rate = ScreeningVitalSigns._meta.get_field("heart_rate_bpm")
    with timezone.override("Asia/Tehran"):
        calendars.activate(Calendar.JALALI)
        try:
            assert selectors.in_reader_calendar(measured_on, "2026-12-05") == "1405/09/14"
            assert (
                selectors.in_reader_calendar(consented_at, "2026-12-05T06:00+00:00")
                == "1405/09/14 09:30"
            )
            assert selectors.in_reader_calendar(measured_at, "09:30") == "09:30"
            assert selectors.in_reader_calendar(heart_rate, "2026") == "2026"
            assert selectors.in_reader_calendar(measured_on, "5 Dec") == "5 Dec"
        finally:
            calendars.deactivate()
