"""The services refuse what the pages refuse, whoever calls them; every record is audited."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from kernel import concurrency
from kernel.roles import Role
from participants import rules, services
from participants.exceptions import (
    AlreadyRecorded,
    ConsentMissing,
    NotEligible,
    PossibleRescreen,
    ScreeningError,
    SiteNotAllowed,
)
from participants.models import Eligibility, Participant, Screening

from .participants_factories import (
    ELIGIBLE_ANSWERS,
    ConsentFactory,
    EligibilityFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


@pytest.fixture
def screening(site01, coordinator):
    return ScreeningFactory(site=site01, screened_by=coordinator)


def save(screening, user, **overrides):
    values = {
        "answers": ELIGIBLE_ANSWERS,
        "pao2_mmhg": Decimal("60"),
        "fio2_entered": Decimal("0.40"),
        "fio2_unit": "fraction",
        # As a person who has the form, as it is now, in front of them.
        "opened_version": concurrency.version_of(
            Eligibility.objects.filter(screening=screening).first()
        ),
    }
    values.update(overrides)
    return services.eligibility_save(screening=screening, user=user, **values)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"pao2_mmhg": Decimal("19")}, "pao2_mmhg", "PaO2 must be at least 20 mmHg."),
        (
            {"fio2_entered": Decimal("1.01")},
            "fio2_entered",
            "FiO2 1.01 is outside 0.21–1.00 (a fraction",
        ),
        (
            {"fio2_entered": Decimal("20"), "fio2_unit": "percent"},
            "fio2_entered",
            "FiO2 20 % is outside 21–100 %.",
        ),
    ],
)
def test_eligibility_save_refuses_impossible_blood_gases(
    screening, coordinator, overrides, field, message
):
    with pytest.raises(ScreeningError, match=r".*") as caught:
        save(screening, coordinator, **overrides)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert not Eligibility.objects.exists()


def test_the_database_refuses_an_fio2_outside_its_range_whatever_the_code(screening, coordinator):
    eligibility = save(screening, coordinator)
    with pytest.raises(IntegrityError), transaction.atomic():
        Eligibility.objects.filter(pk=eligibility.pk).update(fio2=Decimal("0.150"))


def test_a_second_eligibility_form_without_a_reason_is_refused(screening, coordinator):
    save(screening, coordinator)
    with pytest.raises(AlreadyRecorded):
        save(screening, coordinator)


def test_a_coordinator_of_another_site_cannot_screen_here(site01, site02, make_user):
    other = make_user(Role.COORDINATOR, sites=[site02], username="c2")
    with pytest.raises(SiteNotAllowed):
        services.screening_create(
            site=site01,
            user=other,
            screened_on=date(2026, 1, 5),
            identity={"full_name": "X", "date_of_birth": date(1980, 1, 1), "sex": "male"},
        )


def test_the_service_refuses_consent_before_screening_and_expired_versions(screening, coordinator):
    EligibilityFactory(screening=screening)
    base = {
        "screening": screening,
        "user": coordinator,
        "signer": "participant",
        "obtained_by": coordinator,
        "witness_name": "W",
        "scanned_form_reference": "R",
    }
    day_before = datetime.combine(
        screening.screened_on - timedelta(days=1), datetime.min.time(), tzinfo=TEHRAN
    ).replace(hour=12)
    with pytest.raises(ScreeningError, match="before the screening date"):
        services.consent_record(consented_at=day_before, form_version="1.1", **base)
    same_day = day_before + timedelta(days=1)
    with pytest.raises(ScreeningError, match="Consent-form version 1.0 is not valid"):
        services.consent_record(consented_at=same_day, form_version="1.0", **base)
    with pytest.raises(ScreeningError, match="representative"):
        services.consent_record(
            consented_at=same_day, form_version="1.1", **{**base, "signer": "representative"}
        )
    consent = services.consent_record(consented_at=same_day, form_version="1.1", **base)
    assert consent.history.get().history_user == coordinator


def test_enrollment_needs_eligibility_and_consent(screening, coordinator, make_user):
    with pytest.raises(NotEligible):
        services.participant_enroll(screening=screening, user=coordinator)
    eligibility = EligibilityFactory(screening=screening)
    # Issue 18: the coordinator's eligible form is not enough; the investigator confirms first.
    with pytest.raises(NotEligible, match="not confirmed"):
        services.participant_enroll(screening=screening, user=coordinator)
    services.eligibility_confirm(
        eligibility=eligibility,
        user=make_user(Role.INVESTIGATOR),
        opened_version=concurrency.version_of(eligibility),
    )
    with pytest.raises(ConsentMissing):
        services.participant_enroll(screening=screening, user=coordinator)
    ConsentFactory(screening=screening)
    participant = services.participant_enroll(screening=screening, user=coordinator)
    assert participant.study_id == "01-0001"


def test_a_closed_screening_cannot_be_enrolled(screening, coordinator):
    EligibilityFactory(screening=screening, confirmed=True)
    ConsentFactory(screening=screening)
    services.screening_close(screening=screening, user=coordinator, reason="other", detail="x")
    with pytest.raises(ScreeningError, match="closed"):
        services.participant_enroll(screening=screening, user=coordinator)
    assert not Participant.objects.exists()


def test_every_step_is_in_the_audit_trail_with_who_and_why(site01, coordinator, make_user):
    screening = services.screening_create(
        site=site01,
        user=coordinator,
        screened_on=date(2026, 1, 5),
        identity={"full_name": "A", "date_of_birth": date(1980, 1, 1), "sex": "male"},
    )
    eligibility = save(screening, coordinator)
    investigator = make_user(Role.INVESTIGATOR)
    services.eligibility_confirm(
        eligibility=eligibility,
        user=investigator,
        opened_version=concurrency.version_of(eligibility),
    )
    ConsentFactory(screening=screening)
    participant = services.participant_enroll(screening=screening, user=coordinator)
    services.consent_withdraw(
        participant=participant,
        user=coordinator,
        withdrawn_on=datetime.now(TEHRAN).date(),
        scope="all_data",
    )
    assert screening.history.get().history_user == coordinator
    assert screening.identity.history.get().history_user == coordinator
    confirm = eligibility.history.order_by("history_date").last()
    assert (confirm.history_user, confirm.confirmed_by_id) == (investigator, investigator.pk)
    assert confirm.history_change_reason == "Eligibility confirmed by the investigator"
    statuses = list(
        participant.history.order_by("history_date").values_list("status", "history_change_reason")
    )
    assert statuses == [("enrolled", "Initial entry"), ("withdrawn", "Consent withdrawn")]


def test_a_screening_number_is_never_reused_even_after_a_failed_transaction(site01, coordinator):
    identity = {"full_name": "A", "date_of_birth": date(1980, 1, 1), "sex": "male"}
    first = services.screening_create(
        site=site01, user=coordinator, screened_on=date(2026, 1, 5), identity=identity
    )
    with pytest.raises(ScreeningError):
        services.screening_create(
            site=site01,
            user=coordinator,
            screened_on=date(2026, 1, 5),
            identity={**identity, "national_id": "0012345678"},
        )
    second = services.screening_create(
        site=site01,
        user=coordinator,
        screened_on=date(2026, 1, 6),
        identity=identity,
        confirm_rescreen=True,  # the same name and birth date: a rescreen, confirmed
    )
    assert (first.screening_number, second.screening_number) == ("S01-0001", "S01-0002")


def test_the_service_refuses_a_likely_rescreen_until_it_is_confirmed(site01, coordinator):
    """The duplicate check is the service's, whoever calls it (a page, an import, the API)."""
    identity = {"full_name": "Sara Ahmadi", "date_of_birth": date(1980, 1, 1), "sex": "female"}
    first = services.screening_create(
        site=site01, user=coordinator, screened_on=date(2026, 1, 5), identity=identity
    )
    with pytest.raises(PossibleRescreen) as caught:
        services.screening_create(
            site=site01, user=coordinator, screened_on=date(2026, 1, 6), identity=identity
        )
    assert caught.value.screenings == [first]
    assert caught.value.field == "confirm_rescreen"
    again = services.screening_create(
        site=site01,
        user=coordinator,
        screened_on=date(2026, 1, 6),
        identity=identity,
        confirm_rescreen=True,
    )
    assert again.previous_screening == first


def test_the_service_names_every_refused_field_at_once(site01, coordinator):
    with pytest.raises(ScreeningError) as caught:
        services.screening_create(
            site=site01,
            user=coordinator,
            screened_on=date(2999, 1, 1),
            identity={
                "full_name": "X",
                "date_of_birth": date(1800, 1, 1),
                "national_id": "0012345678",
                "sex": "male",
            },
        )
    assert set(caught.value.errors) == {"screened_on", "date_of_birth", "national_id"}
    assert "0012345678 is not a valid 10-digit Iranian national code" in str(caught.value)
    assert not Screening.objects.exists()


@settings(max_examples=200, deadline=None)
@given(
    pao2=st.decimals(min_value=20, max_value=700, places=1),
    fio2=st.decimals(min_value=Decimal("0.21"), max_value=1, places=2),
    age=st.integers(min_value=0, max_value=120),
    answers=st.fixed_dictionaries(
        {code: st.booleans() for code in ["I1", "I3", "I5"] + [f"E{n}" for n in range(1, 14)]}
    ),
    sex=st.sampled_from(["female", "male"]),
    # Issue 19: a woman's childbearing potential and screening pregnancy test, drawn complete
    # (of childbearing potential: a test result; not: any test, or none).
    pregnancy=st.one_of(
        st.tuples(st.just(True), st.sampled_from(["negative", "positive"])),
        st.tuples(st.just(False), st.sampled_from(["", "negative", "positive", "not_done"])),
    ),
)
def test_eligible_exactly_when_every_criterion_holds(pao2, fio2, age, answers, sex, pregnancy):
    # SPEC §2: "all inclusion answers yes and all exclusion answers no"; a woman with a
    # positive pregnancy test is excluded whatever E2's answer (issue 19).
    screened = date(2026, 6, 15)
    born = screened.replace(year=screened.year - age)
    potential, test = pregnancy
    result = rules.assess(
        answers=answers,
        sex=sex,
        date_of_birth=born,
        screening_date=screened,
        pao2_mmhg=pao2,
        fio2=fio2,
        childbearing_potential=potential,
        pregnancy_test=test,
    )
    expected = (
        pao2 / fio2 < 200
        and 18 <= age <= 65
        and all(answers[c] for c in ("I1", "I3", "I5"))
        and not any(
            v for c, v in answers.items() if c.startswith("E") and (c != "E2" or sex == "female")
        )
        and not (sex == "female" and test == "positive")
    )
    assert result.eligible is expected
