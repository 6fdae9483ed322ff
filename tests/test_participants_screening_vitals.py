"""Vital signs at screening (issue 19): the visits' measures, units and limits, checked by the
same functions (kernel.limits), recorded and audited with the screening, shown on its record.

Bad input: a value beyond a hard limit is refused with the CRFs' own message, naming the field
and the limit; a value outside the usual range asks for a confirmation with a reason; what was
typed stays in the form and nothing is saved.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from kernel import concurrency
from kernel.roles import Role
from kernel.trial import TRIAL, VITAL_SIGNS
from outcomes import checks
from participants import services
from participants.exceptions import (
    AlreadyRecorded,
    ScreeningError,
    SiteNotAllowed,
    UnconfirmedVitalSigns,
)
from participants.models import ScreeningVitalSigns

from .factories import ParticipantFactory
from .page_client import PageClient
from .participants_factories import ScreeningFactory

pytestmark = pytest.mark.django_db

USUAL = {
    "temperature_c": Decimal("37.2"),
    "heart_rate_bpm": 96,
    "systolic_mmhg": 118,
    "diastolic_mmhg": 72,
    "respiratory_rate": 26,
    "spo2_percent": 91,
    "fio2": Decimal("0.40"),
    "respiratory_support": "face_mask",
}


@pytest.fixture
def client():
    return PageClient()


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


@pytest.fixture
def screening(site01, coordinator):
    return ScreeningFactory(site=site01, screened_by=coordinator)


def values(screening, **overrides) -> dict:
    typed = {"measured_on": screening.screened_on, "measured_at": None, **USUAL}
    typed.update(overrides)
    return typed


def save(screening, user, *, fio2_unit="fraction", **kwargs):
    kwargs.setdefault("values", values(screening))
    kwargs.setdefault(
        "opened_version",
        concurrency.version_of(ScreeningVitalSigns.objects.filter(screening=screening).first()),
    )
    return services.screening_vital_signs_save(
        screening=screening, user=user, fio2_unit=fio2_unit, **kwargs
    )


def test_it_records_the_vital_signs_with_the_screening_and_audits_them(screening, coordinator):
    record = save(screening, coordinator, values=values(screening, fio2=Decimal("40")),
                  fio2_unit="percent")  # fmt: skip
    record.refresh_from_db()
    assert record.screening == screening
    assert record.fio2 == Decimal("0.400")  # a % entry converted explicitly, stored a fraction
    assert record.heart_rate_bpm == 96
    history = list(record.history.all())
    assert [(h.history_type, h.history_user, h.history_change_reason) for h in history] == [
        ("+", coordinator, "Initial entry")
    ]


def test_a_correction_needs_a_reason_and_is_kept_in_the_audit_trail(screening, coordinator):
    save(screening, coordinator)
    with pytest.raises(AlreadyRecorded):
        save(screening, coordinator, values=values(screening, heart_rate_bpm=100))
    record = save(
        screening,
        coordinator,
        values=values(screening, heart_rate_bpm=100),
        reason="Transcription error",
    )
    latest = record.history.first()
    assert latest.history_type == "~"
    assert latest.history_change_reason == "Transcription error"
    assert latest.prev_record.heart_rate_bpm == 96
    assert latest.heart_rate_bpm == 100


@pytest.mark.parametrize("name", sorted(TRIAL.hard_limits.keys() & set(USUAL)))
@pytest.mark.parametrize("side", ["below", "above"])
def test_a_value_beyond_a_hard_limit_is_refused_with_the_crfs_own_message(
    screening, coordinator, name, side
):
    limit = TRIAL.hard_limits[name]
    step = Decimal("0.01") if name == "fio2" else Decimal(1)
    value = limit.minimum - step if side == "below" else limit.maximum + step
    typed = values(screening, **{name: value})
    if name == "diastolic_mmhg":
        typed["systolic_mmhg"] = 300  # only the hard limit refuses it
    if name == "systolic_mmhg" and side == "below":
        typed["diastolic_mmhg"] = 20
    with pytest.raises(ScreeningError) as refused:
        save(screening, coordinator, values=typed)
    # The visits' vital-signs CRF says exactly the same of the same value: one rule.
    crf_errors = checks.hard_errors(
        VITAL_SIGNS,
        {k: v for k, v in typed.items() if k in USUAL},
        today=timezone.localdate(),
        day0=timezone.localdate(),
        now=timezone.now(),
        complete=False,
        death_recorded=False,
    )
    assert refused.value.errors[name] == crf_errors[name]
    assert limit.label in refused.value.errors[name]
    assert str(limit.minimum) in refused.value.errors[name]
    assert not ScreeningVitalSigns.objects.exists()


def test_a_diastolic_pressure_not_below_the_systolic_is_refused(screening, coordinator):
    with pytest.raises(ScreeningError) as refused:
        save(screening, coordinator, values=values(screening, systolic_mmhg=90, diastolic_mmhg=90))
    assert refused.value.errors["diastolic_mmhg"] == (
        "The diastolic pressure must be below the systolic (90/90 mmHg)."
    )


def test_the_dates_must_be_from_the_screening_to_today(screening, coordinator):
    with pytest.raises(ScreeningError) as refused:
        save(
            screening,
            coordinator,
            values=values(screening, measured_on=screening.screened_on - timedelta(days=1)),
        )
    assert "before the screening date" in refused.value.errors["measured_on"]
    with pytest.raises(ScreeningError) as refused:
        save(
            screening,
            coordinator,
            values=values(screening, measured_on=timezone.localdate() + timedelta(days=2)),
        )
    assert "in the future" in refused.value.errors["measured_on"]


def test_at_least_one_sign_is_given(screening, coordinator):
    empty = dict.fromkeys(USUAL) | {"respiratory_support": ""}
    with pytest.raises(ScreeningError) as refused:
        save(screening, coordinator, values=values(screening, **empty))
    assert "at least one vital sign" in refused.value.errors[None]


def test_a_value_outside_the_usual_range_is_saved_only_once_confirmed_with_a_reason(
    screening, coordinator
):
    feverish = values(screening, temperature_c=Decimal("39.6"))
    with pytest.raises(UnconfirmedVitalSigns) as unconfirmed:
        save(screening, coordinator, values=feverish)
    # The visits' warning, word for word (kernel.limits.vital_sign_warnings).
    assert unconfirmed.value.warnings == checks.vital_sign_warnings(feverish)
    assert "Temperature 39.6 °C is outside 35.0–39.0" in unconfirmed.value.warnings[0]
    with pytest.raises(UnconfirmedVitalSigns):
        save(screening, coordinator, values=feverish, confirm_warnings=True)
    record = save(
        screening,
        coordinator,
        values=feverish,
        confirm_warnings=True,
        warning_reason="Febrile on admission, confirmed",
    )
    assert record.warnings_confirmed == unconfirmed.value.warnings[0]
    assert record.warning_reason == "Febrile on admission, confirmed"


def test_only_staff_of_the_screening_site_record_them(screening, make_user, site02):
    other = make_user(Role.COORDINATOR, sites=[site02], username="elsewhere")
    with pytest.raises(SiteNotAllowed):
        save(screening, other)


def test_the_database_refuses_what_the_service_refuses(screening, coordinator):
    """The check constraints, from the same TRIAL.hard_limits, are the backstop."""
    from django.db import IntegrityError, transaction

    with transaction.atomic(), pytest.raises(IntegrityError):
        ScreeningVitalSigns.objects.create(
            screening=screening,
            measured_on=screening.screened_on,
            heart_rate_bpm=TRIAL.hard_limits["heart_rate_bpm"].maximum + 1,
            recorded_by=coordinator,
        )


# --- pages ----------------------------------------------------------------------------------


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
        "fio2": "40",
        "fio2_unit": "percent",
        "respiratory_support": "face_mask",
    }
    data.update(overrides)
    return data


def test_the_page_records_them_and_the_screening_record_shows_them(
    client, login, screening, coordinator
):
    login(coordinator)
    url = f"/participants/{screening.screening_number}/vital-signs/"
    response = client.post(url, post_data(screening))
    assert response.status_code == 302, response.context["form"].errors
    record = ScreeningVitalSigns.objects.get(screening=screening)
    assert record.fio2 == Decimal("0.400")
    page = client.get(f"/participants/{screening.screening_number}/").content.decode()
    assert 'data-testid="screening-vitals"' in page
    assert "118/72 mmHg" in page


def test_bad_input_is_refused_on_its_field_and_loses_nothing_typed(
    client, login, screening, coordinator
):
    login(coordinator)
    url = f"/participants/{screening.screening_number}/vital-signs/"
    response = client.post(url, post_data(screening, heart_rate_bpm="300"))
    assert response.status_code == 200
    form = response.context["form"]
    assert "Heart rate must be between 20 and 250 /min" in form.errors["heart_rate_bpm"][0]
    page = response.content.decode()
    for typed in ('value="300"', 'value="37.2"', 'value="40"', 'value="09:30"'):
        assert typed in page
    assert 'data-testid="form-errors"' in page
    # Not a number: refused by the form, and still shown as typed.
    response = client.post(url, post_data(screening, systolic_mmhg="abc"))
    assert response.status_code == 200
    assert "systolic_mmhg" in response.context["form"].errors
    assert 'value="abc"' in response.content.decode()
    assert not ScreeningVitalSigns.objects.exists()


def test_a_warning_is_shown_with_its_confirmation_and_the_values_kept(
    client, login, screening, coordinator
):
    login(coordinator)
    url = f"/participants/{screening.screening_number}/vital-signs/"
    response = client.post(url, post_data(screening, spo2_percent="82"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="soft-warnings"' in page
    assert "SpO2 82 % is outside 88–" in page
    assert 'value="82"' in page
    assert not ScreeningVitalSigns.objects.exists()
    response = client.post(
        url,
        post_data(
            screening, spo2_percent="82", confirm_warnings="on", warning_reason="Known hypoxaemia"
        ),
    )
    assert response.status_code == 302
    assert ScreeningVitalSigns.objects.get(screening=screening).spo2_percent == 82


def test_a_randomized_participants_record_shows_the_screening_vitals(
    client, login, make_user, site01
):
    participant = ParticipantFactory(site=site01)
    coordinator = make_user(Role.COORDINATOR)
    save(participant.screening, coordinator)
    for role in (Role.COORDINATOR, Role.MONITOR, Role.DATA_MANAGER):
        user = coordinator if role == Role.COORDINATOR else make_user(role)
        client.logout()
        login(user)
        page = client.get(f"/participants/{participant.study_id}/").content.decode()
        assert 'data-testid="screening-vitals"' in page, role
        assert "118/72 mmHg" in page
    # The pharmacist sees study ID and weight only: no screening record, no vital signs.
    client.logout()
    login(make_user(Role.PHARMACIST))
    page = client.get(f"/participants/{participant.study_id}/").content.decode()
    assert 'data-testid="screening-vitals"' not in page


def test_roles_without_site_work_cannot_open_the_form(client, login, screening, make_user):
    for role in (Role.MONITOR, Role.DATA_MANAGER, Role.PHARMACIST, Role.SPONSOR):
        client.logout()
        login(make_user(role))
        response = client.get(f"/participants/{screening.screening_number}/vital-signs/")
        assert response.status_code in (403, 404), role
