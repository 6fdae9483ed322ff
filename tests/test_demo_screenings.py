"""The demo trial screens some who fail eligibility or decline (issue 4). Its own module: it
loads a demo of 8 on an empty database, which tests/test_participants_phi.py's module-wide demo
of 6 would not leave it."""

import pytest
from django.core.management import call_command

from participants.models import Participant, Screening

from .factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_demo_screens_some_who_fail_or_decline():
    call_command("load_demo", "--participants", "8", "--password", PASSWORD)
    reasons = {s.not_enrolled_reason for s in Screening.objects.all()}
    assert "declined" in reasons
    ineligible = Screening.objects.filter(eligibility__eligible=False)
    assert ineligible.exists()
    assert all(s.eligibility.failed_codes for s in ineligible)
    assert Participant.objects.count() == 8
    assert Participant.objects.filter(status="withdrawn").count() == 1
