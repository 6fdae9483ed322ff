"""The CONSORT flow counts what the screening log and the participants' records say."""

from collections import Counter
from datetime import timedelta

import pytest

from dashboards import selectors
from kernel.roles import Role
from outcomes.models import EventKind
from outcomes.selectors import site_today
from participants import services as participant_services
from participants.models import NotEnrolledReason, Participant, ParticipantStatus, Screening
from participants.selectors import screening_stage

from . import outcomes_factories
from .dashboards_randomization import randomize
from .factories import ParticipantFactory
from .participants_factories import ConsentFactory, EligibilityFactory, ScreeningFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(site01, site02, make_user):
    """A small trial built record by record: every box of the diagram has someone in it."""
    coordinator = make_user(Role.COORDINATOR, sites=[site01, site02], username="consort-c")
    randomized = [ParticipantFactory(site=site01) for _ in range(5)]
    randomized.append(ParticipantFactory(site=site02))
    day0 = site_today(site01) - timedelta(days=1)
    for participant in randomized:
        randomize(participant, user=coordinator, day0=day0)
    enrolled_only = ParticipantFactory(site=site01)
    withdrew_early = ParticipantFactory(site=site01)
    participant_services.consent_withdraw(
        participant=withdrew_early,
        user=coordinator,
        withdrawn_on=withdrew_early.screening.consent.consented_at.date() + timedelta(days=1),
        scope="all_data",
    )
    # Follow-up: D28 done for one, death, loss to follow-up, withdrawal after randomization.
    outcomes_factories.event(randomized[1], EventKind.DEATH, day0 + timedelta(days=1))
    outcomes_factories.event(randomized[2], EventKind.LOST_TO_FOLLOW_UP, day0 + timedelta(days=1))
    participant_services.consent_withdraw(
        participant=randomized[3],
        user=coordinator,
        withdrawn_on=day0 + timedelta(days=1),
        scope="follow_up",
    )
    # Not enrolled: two ineligible (I1; E7 and E9), one declined, one other reason.
    EligibilityFactory(
        screening=ScreeningFactory(site=site01), eligible=False, failed_criteria="I1", i1=False
    )
    EligibilityFactory(
        screening=ScreeningFactory(site=site01),
        eligible=False,
        failed_criteria="E7,E9",
        e7=True,
        e9=True,
    )
    declined = ScreeningFactory(site=site01)
    EligibilityFactory(screening=declined)
    participant_services.screening_close(
        screening=declined, user=coordinator, reason=NotEnrolledReason.DECLINED
    )
    other = ScreeningFactory(site=site02)
    EligibilityFactory(screening=other)
    participant_services.screening_close(
        screening=other, user=coordinator, reason=NotEnrolledReason.OTHER, detail="Transferred"
    )
    # Still in screening: just screened; eligible; eligible and consented.
    ScreeningFactory(site=site01)
    EligibilityFactory(screening=ScreeningFactory(site=site01))
    consented = ScreeningFactory(site=site02)
    EligibilityFactory(screening=consented)
    ConsentFactory(screening=consented)
    return {"randomized": randomized, "enrolled_only": enrolled_only, "early": withdrew_early}


def _consort(user, **kwargs):
    return selectors.consort(selectors.scope_for(user, **kwargs))


def test_the_top_of_the_flow_is_the_screening_log(trial, make_user, site01, site02):
    consort = _consort(make_user(Role.DATA_MANAGER))
    log = list(Screening.objects.select_related("eligibility", "consent", "participant"))
    stages = [screening_stage(s) for s in log]
    s = consort.screening
    assert s["screened"] == len(log) == 15
    assert s["enrolled"] == sum(1 for st in stages if st.status != "not_enrolled" and st.closed)
    assert s["excluded"] == sum(1 for st in stages if st.status == "not_enrolled") == 4
    assert s["in_screening"] == sum(1 for st in stages if not st.closed) == 3
    assert s["ineligible"] == sum(1 for st in stages if st.reason.startswith("Criterion")) == 2
    assert s["declined"] == 1
    assert s["other"] == 1
    assert dict(s["criteria"]) == {"I1": 1, "E7": 1, "E9": 1}


def test_the_flow_below_enrollment_follows_the_participants_records(trial, make_user):
    consort = _consort(make_user(Role.DATA_MANAGER))
    statuses = Counter(Participant.objects.values_list("status", flat=True))
    flow = consort.flow[selectors.POOLED]
    assert consort.enrolled == Participant.objects.count() == 8
    assert consort.randomized == 6
    assert consort.withdrawn_before_randomization == 1
    assert consort.awaiting_randomization == 1
    assert (
        flow["withdrawn"] + consort.withdrawn_before_randomization
        == statuses[ParticipantStatus.WITHDRAWN]
    )
    assert flow["died"] == 1
    assert flow["lost"] == 1
    assert consort.analysed(flow) == 6


def test_a_site_bound_viewer_counts_only_their_site(trial, make_user, site01):
    consort = _consort(make_user(Role.INVESTIGATOR, sites=[site01]))
    assert consort.screening["screened"] == Screening.objects.filter(site=site01).count() == 12
    assert consort.randomized == 5


def test_one_site_can_be_chosen(trial, make_user):
    consort = _consort(make_user(Role.DATA_MANAGER), site_code="02")
    assert consort.screening["screened"] == 3
    assert consort.randomized == 1


def test_the_consort_page_draws_the_counts(client, trial, make_user, login):
    login(make_user(Role.MONITOR))
    body = client.get("/dashboards/consort/").content.decode()
    assert "<svg" in body
    assert "Assessed for eligibility (n = 12)" in body
    assert "Randomized (n = 5)" in body
    # E7 is an exclusion criterion: it excluded because it was present (issue 21).
    assert "E7 present: 1" in body
    assert "E7 not met" not in body
    assert "Allocated (arms blinded, pooled)" in body
