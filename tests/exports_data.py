"""A small trial for the export tests: participants with identifying data that must never reach
an export, CRFs with dates, ICU stays, AEs (one coded, one still free text)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from kernel.roles import Role
from outcomes.services import conmed_save
from participants.models import Eligibility

from .factories import ParticipantFactory, UserFactory
from .outcomes_factories import crf, icu_stay, schedule
from .participants_factories import ScreeningVitalSignsFactory
from .safety_factories import report_ae, report_sae

PEOPLE = [
    # name, national ID, record number, phone, address
    ("Maryam Ahmadi", "0012345679", "HRN-778812", "+98 912 555 0101", "12 Valiasr St, Tehran"),
    ("Behrouz Karimi", "0076543218", "HRN-445501", "+98 935 777 0202", "7 Enghelab Sq, Tehran"),
    ("Roya Sadeghi", "0099887766", "HRN-990034", "+98 901 333 0303", "3 Azadi Ave, Tehran"),
]


def build_trial(site, *, days_ago: int = 70) -> list:
    """Three randomized participants whose every date lies in the past (before today), so that a
    calendar date found in an export can only have come from their records."""
    today = timezone.localdate()
    day0 = today - timedelta(days=days_ago)
    coordinator = UserFactory(username="export-coordinator", role=Role.COORDINATOR, sites=[site])
    participants = []
    for index, (name, national_id, record, phone, address) in enumerate(PEOPLE):
        start = day0 + timedelta(days=index)
        participant = ParticipantFactory(
            site=site,
            screening__screened_on=start - timedelta(days=1),
            identity__full_name=name,
            identity__national_id=national_id,
            identity__hospital_record_number=record,
            identity__phone=phone,
            identity__address=address,
            identity__date_of_birth=start.replace(year=start.year - 40 - index * 25),
            identity__sex="female" if index != 1 else "male",  # the Baseline's source (issue 18)
        )
        schedule(participant, day0=start)
        if index < 2:  # the third has no vital signs at screening: its columns are empty
            ScreeningVitalSignsFactory(screening=participant.screening, heart_rate_bpm=100 + index)
        # The Baseline's age is the eligibility form's, on the screening date (issue 18).
        Eligibility.objects.filter(screening=participant.screening).update(
            age_years=40 + index * 25
        )
        crf(
            participant, "D0", "baseline",
            sex="female" if index != 1 else "male", age_years=40 + index * 25,
            weight_kg=Decimal("71.5"), height_cm=165, respiratory_support="invasive_ventilation",
            other_comorbidities=f"Neighbour of {name}",
        )  # fmt: skip
        crf(participant, "D0", "clinical_status", status_score=5)
        crf(participant, "D7", "clinical_status", status_score=3)
        crf(participant, "D0", "crp", crp_mg_l=Decimal("120.5"), entered_value=Decimal("120.5"))
        crf(participant, "D0", "ae_assessment", new_ae=True, notes=f"Called {phone}")
        icu_stay(participant, admitted_on=start - timedelta(days=1),
                 discharged_on=start + timedelta(days=9))  # fmt: skip
        # A line of the medications log (issue 19), its free text naming the person.
        conmed_save(
            participant=participant,
            values={
                "category": "corticosteroid", "drug": f"Dexamethasone for {name}",
                "indication": f"ARDS of {name}", "dose": Decimal("6"), "dose_unit": "mg",
                "route": "iv", "frequency": "qd", "started_on": start + timedelta(days=1),
                "stopped_on": start + timedelta(days=10),
            },
            user=coordinator,
        )  # fmt: skip
        report_ae(participant, coordinator, onset_date=start + timedelta(days=1),
                  end_date=start + timedelta(days=2),
                  verbatim_term=f"Fever reported by {name}")  # fmt: skip
        participants.append(participant)
    # Participant 3 is 90 at screening: Safe Harbor groups the age.
    Eligibility.objects.filter(screening=participants[2].screening).update(age_years=90)
    # One SAE whose term is not yet coded (free text in the coded field).
    report_sae(
        participants[0], coordinator,
        onset_date=day0 + timedelta(days=3),
        aware_at=datetime.combine(day0 + timedelta(days=4), time(12), tzinfo=UTC),
        preferred_term=f"Collapse at home ({PEOPLE[0][4]})",
    )  # fmt: skip
    return participants
