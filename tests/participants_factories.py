"""Factories of the participants app: a screening with identity, eligibility and consent."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from django.utils import timezone

from participants.models import (
    Consent,
    Eligibility,
    IdentifyingData,
    Screening,
    ScreeningVitalSigns,
    SiteSequence,
)

from .factories import SiteFactory, UserFactory

ELIGIBLE_ANSWERS = {
    "i1": True,
    "i3": True,
    "i5": True,
    **{f"e{n}": False for n in range(1, 14)},
}


def _next_screening_sequence(site) -> int:
    counter, _ = SiteSequence.objects.get_or_create(site=site, kind=SiteSequence.SCREENING)
    counter.last_value += 1
    counter.save()
    return counter.last_value


def _recent_day() -> date:
    """Four days ago at the site: before the Day 0 that outcomes_factories.schedule gives by
    default (three days ago), as a patient is screened before being randomized; the services
    refuse an event dated before screening."""
    return timezone.now().astimezone(ZoneInfo("Asia/Tehran")).date() - timedelta(days=4)


class ScreeningFactory(factory.django.DjangoModelFactory):
    """A screened patient with identifying data (a 40-year-old man by default)."""

    class Meta:
        model = Screening
        skip_postgeneration_save = True

    site = factory.SubFactory(SiteFactory)
    sequence = factory.LazyAttribute(lambda o: _next_screening_sequence(o.site))
    screening_number = factory.LazyAttribute(lambda o: f"S{o.site.code}-{o.sequence:04d}")
    screened_on = factory.LazyFunction(_recent_day)
    screened_by = factory.SubFactory(UserFactory)

    @factory.post_generation
    def identity(self, create, extracted, **kwargs):
        # identity=False: the caller makes the identifying data itself.
        if not create or extracted is False:
            return
        if not IdentifyingData.objects.filter(screening=self).exists():
            IdentifyingDataFactory(screening=self, **kwargs)


class IdentifyingDataFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdentifyingData

    screening = factory.SubFactory(ScreeningFactory, identity=False)
    full_name = factory.Sequence(lambda n: f"Patient Number{n}")
    national_id = factory.Sequence(lambda n: _valid_national_id(100000000 + n))
    hospital_record_number = factory.Sequence(lambda n: f"HRN-{n:06d}")
    date_of_birth = factory.LazyAttribute(
        lambda o: o.screening.screened_on.replace(year=o.screening.screened_on.year - 41)
    )
    sex = "male"


def _valid_national_id(number: int) -> str:
    digits = [int(d) for d in f"{number:09d}"]
    remainder = sum(d * (10 - i) for i, d in enumerate(digits)) % 11
    check = remainder if remainder < 2 else 11 - remainder
    return "".join(map(str, digits)) + str(check)


class EligibilityFactory(factory.django.DjangoModelFactory):
    """An eligible patient's form: all answers right, P/F 150 (PaO2 60 / FiO2 0.40), age 41."""

    class Meta:
        model = Eligibility

    screening = factory.SubFactory(ScreeningFactory)
    pao2_mmhg = Decimal("60")
    fio2_entered = Decimal("0.40")
    fio2_unit = "fraction"
    fio2 = Decimal("0.40")
    pf_ratio = Decimal("150.0")
    age_years = 41
    eligible = True
    assessed_by = factory.SelfAttribute("screening.screened_by")

    class Params:
        # Confirmed by the investigator (here the screener), as enrollment requires (issue 18).
        confirmed = factory.Trait(
            confirmed_by=factory.SelfAttribute("screening.screened_by"),
            confirmed_at=factory.LazyFunction(timezone.now),
        )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        for name, value in ELIGIBLE_ANSWERS.items():
            kwargs.setdefault(name, value)
        return super()._create(model_class, *args, **kwargs)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    screening = factory.SubFactory(ScreeningFactory)
    consented_at = factory.LazyAttribute(
        lambda o: datetime.combine(o.screening.screened_on, time(15, 0), tzinfo=ZoneInfo("UTC"))
    )
    form_version = "1.1"
    signer = "participant"
    obtained_by = factory.SelfAttribute("screening.screened_by")
    witness_name = "Ward Nurse"
    scanned_form_reference = factory.LazyAttribute(
        lambda o: f"ISF/ICF/{o.screening.screening_number}.pdf"
    )
    recorded_by = factory.SelfAttribute("screening.screened_by")


class ScreeningVitalSignsFactory(factory.django.DjangoModelFactory):
    """Vital signs at screening within every usual range (issue 19)."""

    class Meta:
        model = ScreeningVitalSigns

    screening = factory.SubFactory(ScreeningFactory)
    measured_on = factory.SelfAttribute("screening.screened_on")
    measured_at = time(9, 30)
    temperature_c = Decimal("37.2")
    heart_rate_bpm = 96
    systolic_mmhg = 118
    diastolic_mmhg = 72
    respiratory_rate = 26
    spo2_percent = 91
    fio2 = Decimal("0.400")
    respiratory_support = "face_mask"
    recorded_by = factory.SelfAttribute("screening.screened_by")
