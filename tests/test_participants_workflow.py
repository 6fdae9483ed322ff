"""Screening → eligibility → consent → enrollment through the pages (issue 4, SPEC §2).

Bad input: each impossible value is refused with a message naming the field and the limit,
what was typed stays in the form, and a double submit makes one record.
"""

import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kernel import concurrency
from kernel.roles import Role
from participants import selectors, services
from participants.models import (
    Consent,
    Eligibility,
    Participant,
    ParticipantStatus,
    Screening,
)

from .page_client import PageClient
from .participants_factories import ELIGIBLE_ANSWERS, ConsentFactory, EligibilityFactory
from .participants_factories import ScreeningFactory as _ScreeningFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def coordinator(make_user, login):
    user = make_user(Role.COORDINATOR)
    login(user)
    return user


SITE_TZ = ZoneInfo("Asia/Tehran")  # site 01's time zone: forms are read in it


def today():
    return timezone.localtime(timezone=SITE_TZ).date()


def site_now():
    return timezone.localtime(timezone=SITE_TZ)


def screen_data(site, **overrides):
    data = {
        "site": site.pk,
        "screened_on": today().isoformat(),
        "full_name": "Maryam Karimi",
        "national_id": "0499370899",
        "hospital_record_number": "IKHC-123456",
        "date_of_birth": "1980-05-01",
        "sex": "female",
        "phone": "+98 912 000 0000",
        "address": "Tehran",
        "submission_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def eligibility_data(**overrides):
    data = {name: "True" if value else "False" for name, value in ELIGIBLE_ANSWERS.items()}
    data.update(e2="False", pao2_mmhg="60", fio2_entered="0.40", fio2_unit="fraction")
    # Asked of a woman only (issue 19); a man's form has no such field.
    data.update(childbearing_potential="False")
    data.update(overrides)
    return data


@pytest.fixture
def screening(site01, coordinator):
    return _ScreeningFactory(site=site01, screened_by=coordinator)


# --- screening --------------------------------------------------------------------------------


def test_screening_gives_sequential_screening_numbers_per_site(client, coordinator, site01):
    first = client.post("/participants/screen/", screen_data(site01))
    second = client.post(
        "/participants/screen/",
        screen_data(
            site01,
            national_id="1234567891",
            hospital_record_number="IKHC-654321",
            full_name="Ali Ahmadi",
            sex="male",
        ),
    )
    assert first.status_code == second.status_code == 302
    numbers = list(
        Screening.objects.order_by("sequence").values_list("screening_number", flat=True)
    )
    assert numbers == ["S01-0001", "S01-0002"]
    assert first["Location"] == "/participants/S01-0001/eligibility/"
    screening = Screening.objects.get(screening_number="S01-0001")
    assert screening.screened_by == coordinator
    assert screening.identity.full_name == "Maryam Karimi"


def test_a_double_submit_creates_one_screening(client, coordinator, site01):
    data = screen_data(site01)
    first = client.post("/participants/screen/", data)
    second = client.post("/participants/screen/", data)
    assert Screening.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_a_future_screening_date_is_refused_naming_the_field_and_limit(client, coordinator, site01):
    tomorrow = today() + timedelta(days=1)
    response = client.post(
        "/participants/screen/", screen_data(site01, screened_on=tomorrow.isoformat())
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert f"Screening date {tomorrow.isoformat()} is in the future" in body
    assert 'value="Maryam Karimi"' in body  # nothing typed is lost
    assert not Screening.objects.exists()


@pytest.mark.parametrize(
    ("years_back", "message"),
    [(-1, "age of -1 years"), (121, "age of 121 years")],
)
def test_a_date_of_birth_giving_an_impossible_age_is_refused(
    client, coordinator, site01, years_back, message
):
    dob = today().replace(year=today().year - years_back) - timedelta(
        days=1 if years_back > 0 else 0
    )
    if years_back < 0:
        dob = today() + timedelta(days=30)
    response = client.post(
        "/participants/screen/", screen_data(site01, date_of_birth=dob.isoformat())
    )
    body = response.content.decode()
    assert "Date of birth gives an age of" in body
    assert "it must be between 0 and 120" in body
    assert not Screening.objects.exists()


def test_an_invalid_national_id_is_refused(client, coordinator, site01):
    response = client.post("/participants/screen/", screen_data(site01, national_id="0012345678"))
    body = response.content.decode()
    assert "National ID: 0012345678 is not a valid 10-digit Iranian national code." in body
    assert 'value="0012345678"' in body
    assert not Screening.objects.exists()


def test_the_same_person_screened_twice_is_warned_about_not_silently_doubled(
    client, coordinator, site01
):
    client.post("/participants/screen/", screen_data(site01))
    again = client.post("/participants/screen/", screen_data(site01))
    body = again.content.decode()
    assert again.status_code == 200
    assert "This person may have been screened before" in body
    assert "S01-0001" in body
    assert Screening.objects.count() == 1
    confirmed = client.post("/participants/screen/", screen_data(site01, confirm_rescreen="on"))
    assert confirmed.status_code == 302
    rescreen = Screening.objects.get(screening_number="S01-0002")
    assert rescreen.previous_screening.screening_number == "S01-0001"


def test_a_duplicate_national_id_at_another_site_is_flagged_too(
    client, coordinator, site01, site02, make_user
):
    other = _ScreeningFactory(
        site=site02, screened_by=make_user(Role.COORDINATOR, sites=[site02], username="c2")
    )
    response = client.post(
        "/participants/screen/", screen_data(site01, national_id=other.identity.national_id)
    )
    body = response.content.decode()
    assert other.screening_number in body
    assert other.identity.full_name not in body  # another site's PHI is not shown


# --- eligibility ------------------------------------------------------------------------------


def eligibility_url(screening):
    return f"/participants/{screening.screening_number}/eligibility/"


def test_eligibility_is_computed_and_stored_with_the_answers(client, coordinator, screening):
    response = client.post(eligibility_url(screening), eligibility_data())
    assert response.status_code == 302
    eligibility = Eligibility.objects.get(screening=screening)
    assert eligibility.eligible
    assert eligibility.pf_ratio == Decimal("150.0")
    assert eligibility.age_years == 41
    assert eligibility.e2 is None  # a man: E2 not asked
    assert eligibility.assessed_by == coordinator


def test_an_eligible_screening_goes_on_to_the_consent(client, coordinator, screening):
    response = client.post(eligibility_url(screening), eligibility_data())
    assert response["Location"] == f"/participants/{screening.screening_number}/consent/"
    assert "Next: record the consent." in client.get(response["Location"]).content.decode()


def test_the_form_does_not_ask_a_man_about_pregnancy(client, coordinator, screening):
    body = client.get(eligibility_url(screening)).content.decode()
    assert 'name="e1"' in body
    assert 'name="e2"' not in body


def test_the_form_asks_a_woman_about_pregnancy_and_it_excludes(client, coordinator, site01):
    woman = _ScreeningFactory(site=site01, screened_by=coordinator, identity__sex="female")
    assert 'name="e2"' in client.get(eligibility_url(woman)).content.decode()
    client.post(eligibility_url(woman), eligibility_data(e2="True"))
    eligibility = Eligibility.objects.get(screening=woman)
    assert not eligibility.eligible
    assert eligibility.failed_codes == ["E2"]


def test_a_woman_of_childbearing_potential_needs_a_negative_pregnancy_test(
    client, coordinator, site01
):
    # Registry exclusion "Pregnant women or planning to become pregnant"; issue 19: a
    # pregnancy test at screening for women of childbearing potential, used by the rule.
    woman = _ScreeningFactory(site=site01, screened_by=coordinator, identity__sex="female")
    body = client.get(eligibility_url(woman)).content.decode()
    assert 'name="childbearing_potential"' in body
    assert 'name="pregnancy_test"' in body
    # Of childbearing potential, no test: E2 stays open, not saved as eligible.
    response = client.post(eligibility_url(woman), eligibility_data(childbearing_potential="True"))
    assert response.status_code == 200
    assert "missing: E2" in response.content.decode()
    assert not Eligibility.objects.filter(screening=woman).exists()
    # A positive test excludes her, although E2 was answered "no".
    client.post(
        eligibility_url(woman),
        eligibility_data(childbearing_potential="True", pregnancy_test="positive"),
    )
    eligibility = Eligibility.objects.get(screening=woman)
    assert not eligibility.eligible
    assert eligibility.failed_codes == ["E2"]
    assert eligibility.pregnancy_test == "positive"


def test_a_negative_pregnancy_test_lets_her_be_eligible(client, coordinator, site01):
    woman = _ScreeningFactory(site=site01, screened_by=coordinator, identity__sex="female")
    client.post(
        eligibility_url(woman),
        eligibility_data(childbearing_potential="True", pregnancy_test="negative"),
    )
    eligibility = Eligibility.objects.get(screening=woman)
    assert eligibility.eligible
    assert (eligibility.childbearing_potential, eligibility.pregnancy_test) == (True, "negative")


def test_a_man_has_no_pregnancy_test(client, coordinator, screening):
    body = client.get(eligibility_url(screening)).content.decode()
    assert 'name="pregnancy_test"' not in body
    client.post(eligibility_url(screening), eligibility_data(pregnancy_test="positive"))
    eligibility = Eligibility.objects.get(screening=screening)
    assert eligibility.eligible
    assert (eligibility.childbearing_potential, eligibility.pregnancy_test) == (None, "")


def test_each_criterion_is_labelled_in_the_registry_words(client, coordinator, screening):
    body = client.get(eligibility_url(screening)).content.decode()
    assert "Definitive infection with COVID-19 confirmed by PCR" in body
    assert "Have a history of epilepsy, need continuous anticonvulsant therapy" in body


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pao2_mmhg", "19", "PaO2 must be at least 20 mmHg."),
        ("pao2_mmhg", "701", "PaO2 must be at most 700 mmHg."),
        ("fio2_entered", "0.20", "FiO2 0.20 is outside 0.21–1.00"),
        ("fio2_entered", "1.5", "FiO2 1.5 is outside 0.21–1.00"),
    ],
)
def test_impossible_blood_gas_values_are_refused_naming_the_limit(
    client, coordinator, screening, field, value, message
):
    response = client.post(eligibility_url(screening), eligibility_data(**{field: value}))
    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert f'value="{value}"' in body
    assert not Eligibility.objects.exists()


def test_fio2_as_a_percentage_is_converted_and_out_of_range_percentages_refused(
    client, coordinator, screening
):
    bad = client.post(
        eligibility_url(screening), eligibility_data(fio2_entered="15", fio2_unit="percent")
    )
    assert "FiO2 15 % is outside 21–100 %." in bad.content.decode()
    client.post(
        eligibility_url(screening), eligibility_data(fio2_entered="40", fio2_unit="percent")
    )
    eligibility = Eligibility.objects.get(screening=screening)
    assert eligibility.fio2 == Decimal("0.400")
    assert (eligibility.fio2_entered, eligibility.fio2_unit) == (Decimal("40"), "percent")
    assert eligibility.pf_ratio == Decimal("150.0")


@pytest.mark.parametrize(
    ("pao2", "eligible", "shown"),
    [
        ("56", False, "200.0"),  # 56 / 0.28 = 200 exactly: not "< 200 mmHg" (registry I2)
        ("55.9", True, "199.6"),  # 199.64...: shown cut down, never as 200.0
    ],
)
def test_the_pf_threshold_is_exact_at_its_edge(
    client, coordinator, screening, pao2, eligible, shown
):
    data = eligibility_data(pao2_mmhg=pao2, fio2_entered="28", fio2_unit="percent")
    check = client.get(
        f"/participants/{screening.screening_number}/eligibility/check/",
        data,
        headers={"HX-Request": "true"},
    ).content.decode()
    assert f'P/F = <strong data-testid="pf-ratio">{shown}</strong>' in check
    client.post(eligibility_url(screening), data)
    eligibility = Eligibility.objects.get(screening=screening)
    assert (eligibility.eligible, eligibility.pf_ratio) == (eligible, Decimal(shown))
    assert ("I2" in eligibility.failed_codes) is not eligible


def test_an_unanswered_question_is_named(client, coordinator, screening):
    data = eligibility_data()
    del data["e7"]
    body = client.post(eligibility_url(screening), data).content.decode()
    assert "E7: answer yes or no." in body


def test_the_live_check_names_the_failing_criteria(client, coordinator, screening):
    response = client.get(
        f"/participants/{screening.screening_number}/eligibility/check/",
        eligibility_data(pao2_mmhg="100", e7="True", fio2_entered="40", fio2_unit="percent"),
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Not eligible" in body
    assert "Not met</span>" not in body
    assert "I2, E7" in body
    assert "40 % = 0.40" in body
    assert 'P/F = <strong data-testid="pf-ratio">250.0</strong>' in body


def test_the_live_check_of_an_incomplete_form_says_what_is_missing(client, coordinator, screening):
    body = client.get(
        f"/participants/{screening.screening_number}/eligibility/check/", {"i1": "True"}
    ).content.decode()
    assert "Incomplete" in body
    assert "Still to answer" in body


def test_a_correction_needs_a_reason_and_voids_the_confirmation(
    client, coordinator, screening, make_user
):
    client.post(eligibility_url(screening), eligibility_data())
    eligibility = Eligibility.objects.get(screening=screening)
    services.eligibility_confirm(
        eligibility=eligibility,
        user=make_user(Role.INVESTIGATOR),
        opened_version=concurrency.version_of(eligibility),
    )
    refused = client.post(eligibility_url(screening), eligibility_data(pao2_mmhg="70"))
    assert "Give a reason for this change" in refused.content.decode()
    client.post(
        eligibility_url(screening),
        eligibility_data(pao2_mmhg="70", reason_for_change="Transcription error in ABG"),
    )
    eligibility.refresh_from_db()
    assert eligibility.pao2_mmhg == Decimal("70")
    assert eligibility.confirmed_at is None
    assert eligibility.history.first().history_change_reason == "Transcription error in ABG"


def test_an_investigator_confirms_eligibility_who_and_when(client, make_user, login, site01):
    eligibility = EligibilityFactory(screening=_ScreeningFactory(site=site01))
    investigator = make_user(Role.INVESTIGATOR)
    login(investigator)
    url = f"/participants/{eligibility.screening.screening_number}/eligibility/confirm/"
    assert "I confirm this patient is eligible" in client.get(url).content.decode()
    client.post(url)
    client.post(url)  # a double submit: confirmed once
    eligibility.refresh_from_db()
    assert eligibility.confirmed_by == investigator
    assert eligibility.confirmed_at is not None
    assert eligibility.history.count() == 2


def test_a_coordinator_cannot_confirm_eligibility(client, coordinator, site01):
    eligibility = EligibilityFactory(screening=_ScreeningFactory(site=site01))
    url = f"/participants/{eligibility.screening.screening_number}/eligibility/confirm/"
    assert client.post(url).status_code == 403


# --- consent ----------------------------------------------------------------------------------


def consent_data(coordinator, **overrides):
    data = {
        "consented_at": site_now().strftime("%Y-%m-%dT%H:%M"),
        "form_version": "1.1",
        "signer": "participant",
        "obtained_by": coordinator.pk,
        "witness_name": "Nurse Sara",
        "scanned_form_reference": "ISF/ICF/S01-0001.pdf",
    }
    data.update(overrides)
    return data


@pytest.fixture
def eligible(screening):
    EligibilityFactory(screening=screening)
    return screening


def consent_url(screening):
    return f"/participants/{screening.screening_number}/consent/"


def test_consent_is_recorded_once(client, coordinator, eligible):
    first = client.post(consent_url(eligible), consent_data(coordinator))
    second = client.post(consent_url(eligible), consent_data(coordinator))
    assert first.status_code == second.status_code == 302
    assert Consent.objects.filter(screening=eligible).count() == 1
    assert selectors.screening_stage(Screening.objects.get(pk=eligible.pk)).status == "consented"


def test_consent_before_the_screening_date_is_refused(client, coordinator, eligible):
    before = site_now() - timedelta(days=5)
    response = client.post(
        consent_url(eligible),
        consent_data(coordinator, consented_at=before.strftime("%Y-%m-%dT%H:%M")),
    )
    body = response.content.decode()
    assert f"Date of consent {before.date().isoformat()} is before the screening date" in body
    assert 'value="Nurse Sara"' in body
    assert not Consent.objects.exists()


def test_consent_in_the_future_is_refused(client, coordinator, eligible):
    later = site_now() + timedelta(hours=3)
    body = client.post(
        consent_url(eligible),
        consent_data(coordinator, consented_at=later.strftime("%Y-%m-%dT%H:%M")),
    ).content.decode()
    assert "Date and time of consent is in the future" in body
    assert not Consent.objects.exists()


def test_an_expired_consent_form_version_cannot_be_used(client, coordinator, eligible):
    body = client.post(
        consent_url(eligible), consent_data(coordinator, form_version="1.0")
    ).content.decode()
    assert "Consent-form version 1.0 is not valid on" in body
    assert "2020-11-21 – 2021-03-04" in body
    assert not Consent.objects.exists()


def test_a_representative_must_be_named_with_a_relationship(client, coordinator, eligible):
    body = client.post(
        consent_url(eligible), consent_data(coordinator, signer="representative")
    ).content.decode()
    assert "Name the legal representative who signed." in body
    assert "Give the representative&#x27;s relationship to the patient." in body
    client.post(
        consent_url(eligible),
        consent_data(
            coordinator,
            signer="representative",
            representative_name="Hassan Karimi",
            representative_relationship="spouse",
        ),
    )
    consent = Consent.objects.get(screening=eligible)
    assert (consent.representative_name, consent.representative_relationship) == (
        "Hassan Karimi",
        "spouse",
    )


def test_an_ineligible_patient_cannot_be_consented(client, coordinator, screening):
    EligibilityFactory(screening=screening, eligible=False, failed_criteria="I2")
    body = client.get(consent_url(screening)).content.decode()
    assert "Consent is recorded for eligible patients only" in body
    client.post(consent_url(screening), consent_data(coordinator))
    assert not Consent.objects.exists()


# --- enrollment -------------------------------------------------------------------------------


def enroll_url(screening):
    return f"/participants/{screening.screening_number}/enroll/"


def test_an_eligible_consented_patient_is_enrolled_with_the_next_study_id(
    client, coordinator, eligible
):
    Eligibility.objects.filter(screening=eligible).update(
        confirmed_by=coordinator, confirmed_at=timezone.now()
    )
    ConsentFactory(screening=eligible)
    response = client.post(enroll_url(eligible))
    assert response.status_code == 302
    participant = Participant.objects.get(screening=eligible)
    assert participant.study_id == "01-0001"
    assert participant.status == ParticipantStatus.ENROLLED
    assert participant.identity == eligible.identity
    assert response["Location"] == "/participants/01-0001/"
    client.post(enroll_url(eligible))  # double submit
    assert Participant.objects.count() == 1


def test_enrollment_without_the_investigators_confirmation_is_refused(
    client, coordinator, eligible
):
    """Issue 18: participants.services enrolled an eligible, consented patient whose
    eligibility no investigator had confirmed; the page says what is missing and enrolls no one."""
    ConsentFactory(screening=eligible)
    page = client.get(enroll_url(eligible)).content.decode()
    assert "The investigator has not confirmed this patient" in page
    assert "Enroll and assign a study ID" not in page
    body = client.post(enroll_url(eligible), follow=True).content.decode()
    assert "The investigator has not confirmed this patient" in body
    assert not Participant.objects.exists()


def test_the_confirmation_page_says_absent_beside_an_absent_exclusion_criterion(
    client, make_user, login, site01
):
    """Issue 18: "✓ E1 Cancer" read as "has cancer". An exclusion criterion answered "no" is
    shown "absent", one answered "yes" "present"; an inclusion criterion "met"."""
    eligibility = EligibilityFactory(screening=_ScreeningFactory(site=site01), e1=True)
    login(make_user(Role.INVESTIGATOR))
    url = f"/participants/{eligibility.screening.screening_number}/eligibility/confirm/"
    body = client.get(url).content.decode()
    items = {line.split("</li>")[0] for line in body.split("<li")[1:] if "data-verdict" in line}
    e1 = next(i for i in items if "E1 " in i)
    e2 = next(i for i in items if "E3 " in i)
    i1 = next(i for i in items if "I1 " in i)
    assert 'data-verdict="present"' in e1
    assert "✓" not in e1
    assert 'data-verdict="absent"' in e2
    assert ">absent<" in e2
    assert "✓" not in e2
    assert 'data-verdict="met"' in i1
    login(make_user(Role.INVESTIGATOR, username="inv-fa"))
    persian = client.get(url, HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert ">وجود ندارد<" in persian
    assert "✗ وجود دارد<" in persian


def test_enrollment_without_consent_is_refused(client, coordinator, eligible):
    # Confirmed (issue 18: else the missing confirmation is what refuses the enrollment).
    Eligibility.objects.filter(screening=eligible).update(
        confirmed_by=coordinator, confirmed_at=timezone.now()
    )
    body = client.post(enroll_url(eligible), follow=True).content.decode()
    assert "Record the written informed consent (I6) before enrolling." in body
    assert not Participant.objects.exists()


def test_study_ids_are_sequential_per_site(coordinator, site01, site02, make_user):
    coordinator2 = make_user(Role.COORDINATOR, sites=[site02], username="c2")
    ids = []
    for site, user in [(site01, coordinator), (site02, coordinator2), (site01, coordinator)]:
        screening = _ScreeningFactory(site=site, screened_by=user)
        EligibilityFactory(screening=screening, confirmed=True)
        ConsentFactory(screening=screening)
        ids.append(services.participant_enroll(screening=screening, user=user).study_id)
    assert ids == ["01-0001", "02-0001", "01-0002"]


# --- not enrolled, screening log --------------------------------------------------------------


def test_the_screening_log_shows_every_screening_with_the_reason(client, coordinator, site01):
    ineligible = _ScreeningFactory(site=site01, screened_by=coordinator)
    EligibilityFactory(screening=ineligible, eligible=False, failed_criteria="I2,E7")
    declined = _ScreeningFactory(site=site01, screened_by=coordinator)
    EligibilityFactory(screening=declined)
    client.post(f"/participants/{declined.screening_number}/not-enrolled/", {"reason": "declined"})
    other = _ScreeningFactory(site=site01, screened_by=coordinator)
    EligibilityFactory(screening=other)
    refused = client.post(
        f"/participants/{other.screening_number}/not-enrolled/", {"reason": "other"}
    )
    assert "Details: say what the other reason is." in refused.content.decode()
    client.post(
        f"/participants/{other.screening_number}/not-enrolled/",
        {"reason": "other", "detail": "Transferred to another hospital"},
    )
    body = client.get("/participants/screening/").content.decode()
    assert "Criterion failed: I2, E7" in body
    assert "Declined consent" in body
    assert "Other: Transferred to another hospital" in body
    filtered = client.get("/participants/screening/?outcome=not_enrolled").content.decode()
    assert filtered.count("Not enrolled</span>") == 3
    waiting = _ScreeningFactory(site=site01, screened_by=coordinator)
    EligibilityFactory(screening=waiting)
    to_confirm = client.get("/participants/screening/?outcome=to_confirm").content.decode()
    assert waiting.screening_number in to_confirm
    assert declined.screening_number not in to_confirm  # closed: nothing to confirm
    assert ineligible.screening_number not in to_confirm
    assert [e.screening for e in selectors.unconfirmed_eligibility_for(coordinator)] == [waiting]


# --- withdrawal -------------------------------------------------------------------------------


def test_withdrawal_marks_the_participant_withdrawn_and_stops_later_data(
    client, coordinator, site01
):
    from .factories import ParticipantFactory

    participant = ParticipantFactory(site=site01)
    url = f"/participants/{participant.study_id}/withdraw/"
    future = (today() + timedelta(days=1)).isoformat()
    body = client.post(url, {"withdrawn_on": future, "scope": "all_data"}).content.decode()
    assert f"Date of withdrawal {future} is in the future" in body
    client.post(url, {"withdrawn_on": today().isoformat(), "scope": "follow_up"})
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.WITHDRAWN
    assert participant.withdrawal.status_before == ParticipantStatus.ENROLLED
    detail = client.get(f"/participants/{participant.study_id}/").content.decode()
    assert "Consent withdrawn on" in detail
    assert "Withdrawn" in client.get("/participants/").content.decode()
    assert selectors.data_entry_refusal(participant, today() - timedelta(days=1)) is None
    message = selectors.data_entry_refusal(participant, today())
    assert "withdrew consent" in message
    assert participant.study_id in message
    # Follow-up-only withdrawal still lets routine-record data (e.g. vital status) in.
    assert selectors.data_entry_refusal(participant, today(), routine_records=True) is None


# --- identity corrections keep eligibility right ----------------------------------------------


def test_correcting_the_date_of_birth_recomputes_i4(coordinator, site01):
    screening = _ScreeningFactory(site=site01, screened_by=coordinator)
    eligibility = services.eligibility_save(
        screening=screening,
        user=coordinator,
        answers=ELIGIBLE_ANSWERS,
        pao2_mmhg=Decimal("60"),
        fio2_entered=Decimal("0.40"),
        fio2_unit="fraction",
        opened_version=None,
    )
    assert eligibility.eligible
    too_old = screening.screened_on.replace(year=screening.screened_on.year - 70)
    services.identifying_data_update(
        identifying=screening.identity,
        user=coordinator,
        reason="DOB checked against ID card",
        values={"date_of_birth": too_old},
        opened_version=concurrency.version_of(screening.identity),
    )
    eligibility.refresh_from_db()
    assert not eligibility.eligible
    assert eligibility.failed_codes == ["I4"]
    assert "DOB checked against ID card" in eligibility.history.first().history_change_reason
