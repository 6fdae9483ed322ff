"""After a withdrawal of consent no CRF dated on or after it is entered (SPEC §2, issue 4)."""

import pytest

from kernel.roles import Role
from kernel.trial import CLINICAL_STATUS
from outcomes.exceptions import DataEntryRefused
from participants import services as participant_services
from participants.models import WithdrawalScope

from . import outcomes_factories as of
from .factories import ParticipantFactory
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def withdrawn_today(site01, make_user):
    participant = ParticipantFactory(site=site01)
    of.schedule(participant)  # Day 0 three days ago: D2 was yesterday, D3 is today
    coordinator = make_user(Role.COORDINATOR, sites=[site01], username="withdrawing")
    participant_services.consent_withdraw(
        participant=participant,
        user=coordinator,
        withdrawn_on=of.visit(participant, "D3").target_date,
        scope=WithdrawalScope.ALL_FURTHER_DATA,
    )
    return participant


def test_a_crf_dated_on_the_withdrawal_day_is_refused(withdrawn_today):
    with pytest.raises(DataEntryRefused, match="withdrew consent"):
        of.crf(withdrawn_today, "D3", CLINICAL_STATUS, status_score=4)


def test_a_crf_dated_before_the_withdrawal_may_still_be_entered(withdrawn_today):
    crf = of.crf(withdrawn_today, "D2", CLINICAL_STATUS, status_score=4)
    assert crf.pk is not None


def test_the_crf_page_says_why_and_keeps_the_values(client, withdrawn_today, make_user, login):
    login(make_user(Role.COORDINATOR))
    visit = of.visit(withdrawn_today, "D3")
    url = f"/outcomes/participants/{withdrawn_today.study_id}/visits/D3/{CLINICAL_STATUS}/"
    response = client.post(
        url, {"assessed_on": visit.target_date.isoformat(), "status_score": "4", "save": "draft"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "withdrew consent" in body


def test_the_participant_page_shows_the_visits_section(client, site01, make_user, login):
    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    login(make_user(Role.COORDINATOR))
    body = client.get(f"/participants/{participant.study_id}/").content.decode()
    assert "Visits, CRFs and endpoints" in body
    assert f"/outcomes/participants/{participant.study_id}/visits/" in body
