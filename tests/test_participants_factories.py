"""The factories other apps' tests build on make complete, consistent records."""

from datetime import date

import pytest

from participants.models import Consent, Eligibility, IdentifyingData, Participant

from .factories import IdentifyingDataFactory, ParticipantFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_participant_has_its_screening_identity_eligibility_and_consent(site01):
    participant = ParticipantFactory(site=site01)
    assert participant.status == "enrolled"
    assert participant.identity.screening == participant.screening
    assert participant.screening.site == site01
    assert Eligibility.objects.get(screening=participant.screening).eligible
    assert Consent.objects.filter(screening=participant.screening).exists()
    assert IdentifyingData.objects.count() == 1


def test_identity_fields_and_the_foundation_registered_by_are_accepted(site01):
    user = UserFactory(username="someone")
    participant = ParticipantFactory(
        site=site01,
        identity__full_name="Maryam Ahmadi-Testname",
        identity__date_of_birth=date(1970, 1, 15),
        registered_by=user,
    )
    assert participant.identity.full_name == "Maryam Ahmadi-Testname"
    assert participant.enrolled_by == user


def test_study_ids_follow_the_site_counter(site01, site02):
    ids = [ParticipantFactory(site=s).study_id for s in (site01, site01, site02)]
    assert ids == ["01-0001", "01-0002", "02-0001"]
    assert Participant.objects.count() == 3


def test_identifying_data_alone_makes_one_screening():
    identity = IdentifyingDataFactory()
    assert IdentifyingData.objects.filter(screening=identity.screening).count() == 1
