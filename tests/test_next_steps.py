"""Next step, always (issue 21): each page that ends a step offers the one after it."""

from decimal import Decimal

import pytest

from kernel.roles import Role

from . import outcomes_factories as of
from .factories import ParticipantFactory
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list

pytestmark = pytest.mark.django_db


def test_after_randomization_the_page_offers_the_day_0_visit(client, login, make_user, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    randomization = randomized_participant(site=site01)
    study_id = randomization.participant.study_id
    login(make_user(Role.COORDINATOR))
    body = client.get(f"/randomization/participant/{study_id}/").content.decode()
    assert f'href="/outcomes/participants/{study_id}/visits/D0/" data-testid="next-step"' in body


def test_a_visit_offers_the_visit_after_it(client, login, make_user, site01, roles):
    participant = ParticipantFactory(site=site01)
    of.schedule(participant)
    of.crf(
        participant, "D0", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
    login(make_user(Role.COORDINATOR))
    body = client.get(f"/outcomes/participants/{participant.study_id}/visits/D0/").content.decode()
    assert f'href="/outcomes/participants/{participant.study_id}/visits/D1/"' in body
    assert "Next: visit D1" in body
