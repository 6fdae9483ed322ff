"""No lost updates (issue 26) on the other edit paths, tried as two people would: eligibility,
its confirmation, consent, ICU stays, study events, missed visits, SAE follow-ups, the expedited
report, query steps, e-signatures, SDV marks and the syringe hand-over. Each time the second
person's page was opened before the first person's save: nothing of theirs is applied to data
they did not see, and they are shown what changed.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from datamanagement import services as dm_services
from datamanagement.models import Query, QueryState, SdvMark, Signature
from kernel import concurrency
from kernel.roles import Role
from outcomes.models import Visit, VisitState
from participants.models import Consent, Eligibility
from randomization.models import Preparation
from safety import services as safety_services

from . import outcomes_factories as of
from .factories import PASSWORD, UserFactory
from .fuzz_http import form_fields
from .participants_factories import EligibilityFactory, ScreeningFactory
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list
from .safety_factories import report_sae, report_susar
from .test_concurrency_views import browser, opened, participant, people  # noqa: F401

pytestmark = pytest.mark.django_db


def hidden(response, path) -> dict:
    """The hidden fields of the page just answered (the new version after a conflict)."""
    fields = form_fields(response.content.decode(), path)
    return {n: f.initial[0] for n, f in fields.items() if f.kind == "hidden" and f.initial}


@pytest.fixture
def more(people, site01):  # noqa: F811
    return people | {
        "monitor": UserFactory(username="monitor", role=Role.MONITOR, sites=[site01]),
        "datamanager": UserFactory(username="datamanager", role=Role.DATA_MANAGER, sites=[site01]),
        "coordinator2": UserFactory(
            username="coordinator2", role=Role.COORDINATOR, sites=[site01], first_name="Cleo"
        ),
        "pharmacist": UserFactory(username="pharmacist", role=Role.PHARMACIST, sites=[site01]),
    }


# -- eligibility, its confirmation, consent --------------------------------------------------


ANSWERS = {
    "i1": "True", "i3": "True", "i5": "True", "e1": "False", "e2": "False", "e3": "False",
    "e4": "False", "e5": "False", "e6": "False", "e7": "False", "e8": "False", "e9": "False",
    "e10": "False", "e11": "False", "e12": "False", "e13": "False",
}  # fmt: skip


@pytest.fixture
def screening(more, site01):
    return ScreeningFactory(site=site01, screened_by=more["coordinator"])


def eligibility_url(screening) -> str:
    return f"/participants/{screening.screening_number}/eligibility/"


def test_one_eligibility_form_entered_by_two_people_is_shown_not_overwritten(more, screening):
    url = eligibility_url(screening)
    first, second = browser(more["coordinator"]), browser(more["coordinator2"])
    a, b = opened(first, url), opened(second, url)
    data = ANSWERS | {"pao2_mmhg": "60", "fio2_entered": "0.40", "fio2_unit": "fraction"}
    assert first.post(url, a | data).status_code == 302
    response = second.post(url, b | data | {"pao2_mmhg": "65"})
    assert response.status_code == 200
    assert Eligibility.objects.get(screening=screening).pao2_mmhg == 60
    assert 'data-testid="conflict-pao2_mmhg"' in response.content.decode()


def test_a_confirmation_of_answers_changed_since_is_refused(more, screening):
    EligibilityFactory(screening=screening)
    confirm = f"/participants/{screening.screening_number}/eligibility/confirm/"
    investigator, coordinator = browser(more["investigator"]), browser(more["coordinator"])
    shown = opened(investigator, confirm)
    url = eligibility_url(screening)
    response = coordinator.post(
        url, opened(coordinator, url) | {"pao2_mmhg": "70", "reason_for_change": "ABG re-read"}
    )
    assert response.status_code == 302
    response = investigator.post(confirm, shown)
    assert response.status_code == 200
    eligibility = Eligibility.objects.get(screening=screening)
    assert eligibility.confirmed_at is None  # not confirmed: the answers changed unseen
    assert 'data-testid="conflict-pao2_mmhg"' in response.content.decode()
    assert investigator.post(confirm, hidden(response, confirm)).status_code == 302
    eligibility.refresh_from_db()
    assert eligibility.confirmed_by == more["investigator"]


def test_consent_recorded_by_someone_else_meanwhile_is_shown_with_what_was_typed(more, screening):
    EligibilityFactory(screening=screening)
    url = f"/participants/{screening.screening_number}/consent/"
    first, second = browser(more["coordinator"]), browser(more["coordinator2"])
    a, b = opened(first, url), opened(second, url)
    when = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    data = {"consented_at": when, "signer": "participant", "scanned_form_reference": "ICF-1"}
    assert first.post(url, a | data | {"witness_name": "Nurse Sara"}).status_code == 302
    response = second.post(url, b | data | {"witness_name": "Nurse Mina"})
    assert response.status_code == 200
    assert Consent.objects.get(screening=screening).witness_name == "Nurse Sara"
    body = response.content.decode()
    assert 'data-testid="edit-conflict"' in body
    assert 'value="Nurse Mina"' in body  # what the second coordinator typed, kept


# -- outcomes: ICU stays, study events, missed visits ------------------------------------------


def test_an_icu_stay_corrected_by_two_people(more, participant):  # noqa: F811
    day0 = of.visit(participant, "D0").target_date
    stay = of.icu_stay(participant, admitted_on=day0)
    url = f"/outcomes/participants/{participant.study_id}/icu-stays/{stay.pk}/"
    a, b = browser(more["investigator"]), browser(more["coordinator"])
    first, second = opened(a, url), opened(b, url)
    a.post(url, first | {"admitted_on": str(day0 - timedelta(days=1)), "reason_for_change": "ICU"})
    # The discharge, checked against the admission the other person just changed: asked.
    response = b.post(
        url, second | {"discharged_on": str(day0 + timedelta(days=2)), "reason_for_change": "Out"}
    )
    assert response.status_code == 200
    stay.refresh_from_db()
    assert stay.admitted_on == day0 - timedelta(days=1)
    assert stay.discharged_on is None


def test_a_study_event_corrected_by_two_people(more, participant):  # noqa: F811
    day0 = of.visit(participant, "D0").target_date
    event = of.event(participant, "hospital_discharge", day0 + timedelta(days=1))
    url = f"/outcomes/participants/{participant.study_id}/events/{event.pk}/"
    a, b = browser(more["investigator"]), browser(more["coordinator"])
    first, second = opened(a, url), opened(b, url)
    a.post(url, first | {"occurred_on": str(day0 + timedelta(days=2)), "reason_for_change": "X"})
    response = b.post(
        url, second | {"occurred_on": str(day0 + timedelta(days=3)), "reason_for_change": "Y"}
    )
    assert response.status_code == 200
    assert 'data-testid="conflict-occurred_on"' in response.content.decode()
    event.refresh_from_db()
    assert event.occurred_on == day0 + timedelta(days=2)


def test_a_visit_marked_missed_twice_keeps_the_first_reason(more, participant):  # noqa: F811
    url = f"/outcomes/participants/{participant.study_id}/visits/D4/missed/"
    a, b = browser(more["investigator"]), browser(more["coordinator"])
    first, second = opened(a, url), opened(b, url)
    assert a.post(url, first | {"reason": "Transferred"}).status_code == 302
    response = b.post(url, second | {"reason": "In CT"})
    assert response.status_code == 200
    visit = Visit.objects.get(participant=participant, code="D4")
    assert (visit.state, visit.missed_reason) == (VisitState.MISSED, "Transferred")


# -- safety: follow-up, expedited report ----------------------------------------------------------


def test_an_sae_follow_up_on_a_version_changed_since_asks(more, participant):  # noqa: F811
    ae = report_sae(participant, more["coordinator"])
    follow_up = f"/safety/ae/{ae.pk}/follow-up/"
    edit = f"/safety/ae/{ae.pk}/edit/"
    a, b = browser(more["investigator"]), browser(more["coordinator"])
    shown = opened(b, follow_up)
    a.post(edit, opened(a, edit) | {"ctcae_grade": "3", "reason_for_change": "Re-graded"})
    # The outcome, checked together with the grade the investigator changed: asked.
    response = b.post(follow_up, shown | {"narrative": "Better", "outcome": "recovering"})
    assert response.status_code == 200
    ae.refresh_from_db()
    assert ae.ctcae_grade == 3
    assert ae.reports.count() == 1  # no follow-up report filed on data nobody saw


def test_an_expedited_report_recorded_twice_keeps_the_first(more, participant):  # noqa: F811
    # Issue 19: the sponsor's safety physician records it, on the case unblinded as a SUSAR
    # (made directly here: this participant is not randomized).
    from django.utils import timezone

    from safety.models import SusarCase, SusarOutcome

    from .factories import UserFactory

    physician = UserFactory(username="sp", role=Role.SAFETY_PHYSICIAN, sites=[])
    ae = report_susar(participant, more["investigator"])
    case = SusarCase.objects.create(
        adverse_event=ae,
        outcome=SusarOutcome.REPORTABLE,
        assessed_at=timezone.now(),
        assessed_by=physician,
        second_factor="app",
    )
    url = f"/safety/susar/{ae.pk}/expedited-report/"
    a, b = browser(physician), browser(physician)
    first, second = opened(a, url), opened(b, url)
    a.post(url, first | {"reference": "IRFDA-1"})
    response = b.post(url, second | {"reference": "IRFDA-2"})
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.expedited_report_reference == "IRFDA-1"


# -- data management: query steps, e-signatures, SDV ---------------------------------------------


@pytest.fixture
def murray(participant):  # noqa: F811
    return of.crf(
        participant,
        "D0",
        "murray",
        pao2_mmhg=Decimal("80"),
        fio2=Decimal("0.6"),
        cxr_quadrants=3,
    )


def test_a_query_closed_on_a_thread_that_moved_since_is_refused(more, participant, murray):  # noqa: F811
    query = dm_services.query_raise(
        participant=participant,
        visit=murray.visit,
        crf_code="murray",
        field_name="fio2",
        text="Check FiO2",
        user=more["monitor"],
    )
    url = f"/data/queries/{query.pk}/"
    answer = browser(more["coordinator"])
    answer.post(url, opened(answer, url) | {f"q{query.pk}-text": "0.6", "action": "answer"})
    manager = browser(more["datamanager"])
    shown = opened(manager, url)  # answered with "0.6"
    dm_services.query_reopen(
        query=query,
        user=more["datamanager"],
        text="Which chart?",
        opened_version=concurrency.version_of(query),
    )
    answer.post(url, opened(answer, url) | {f"q{query.pk}-text": "0.5!", "action": "answer"})
    response = manager.post(url, shown | {f"q{query.pk}-text": "Fine", "action": "close"})
    assert response.status_code == 200
    assert Query.objects.get(pk=query.pk).state == QueryState.ANSWERED  # not closed unseen
    assert "your step was not taken" in response.content.decode()


def test_a_signature_on_data_changed_since_the_page_was_opened_is_refused(
    more,
    participant,  # noqa: F811
    murray,
):
    url = f"/data/participants/{participant.study_id}/sign/?level=crf&visit=D0&crf=murray"
    investigator, coordinator = browser(more["investigator"]), browser(more["coordinator"])
    shown = opened(investigator, url)
    crf = f"/outcomes/participants/{participant.study_id}/visits/D0/murray/"
    coordinator.post(
        crf,
        opened(coordinator, crf)
        | {"fio2": "0.5", "action": "complete", "reason_for_change": "Chart"},
    )
    data = {"meaning": "accurate_complete", "password": PASSWORD}
    response = investigator.post(url, shown | data)
    assert response.status_code == 200
    assert not Signature.objects.exists()  # never applied to data the investigator did not see
    assert 'data-testid="conflict-fio2"' in response.content.decode()
    assert investigator.post(url, shown | hidden(response, url) | data).status_code == 302
    signature = Signature.objects.get()
    murray.refresh_from_db()
    assert ["outcomes.murray", murray.pk, concurrency.version_of(murray)] in signature.manifest


def test_sdv_of_a_crf_changed_since_the_page_was_opened_marks_nothing(
    more,
    participant,  # noqa: F811
    murray,
):
    url = f"/data/participants/{participant.study_id}/sdv/"
    monitor, coordinator = browser(more["monitor"]), browser(more["coordinator"])
    shown = opened(monitor, url)
    crf = f"/outcomes/participants/{participant.study_id}/visits/D0/murray/"
    coordinator.post(
        crf,
        opened(coordinator, crf)
        | {"fio2": "0.5", "action": "complete", "reason_for_change": "Chart"},
    )
    ticks = {"field:D0:murray:fio2": "1", "field:D0:murray:pao2_mmhg": "1"}
    response = monitor.post(url, shown | ticks)
    assert response.status_code == 200
    assert not SdvMark.objects.exists()
    body = response.content.decode()
    assert "changed since you opened this page" in body
    assert 'name="field:D0:murray:pao2_mmhg" id="f-D0-murray-pao2_mmhg" value="1" checked' in body
    assert 'name="field:D0:murray:fio2" id="f-D0-murray-fio2" value="1" checked' not in body
    assert monitor.post(url, shown | hidden(response, url) | ticks).status_code == 302
    murray.refresh_from_db()
    assert set(SdvMark.objects.values_list("crf_version", flat=True)) == {
        concurrency.version_of(murray)
    }


# -- the pharmacy --------------------------------------------------------------------------------


def test_a_syringe_handed_over_by_someone_else_meanwhile_is_not_handed_over_again(more, site01):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    randomization = randomized_participant(site=site01, support="none")
    from randomization import services as randomization_services

    # The weight is the Baseline CRF's, entered by the site (issue 18), not the pharmacist's.
    of.crf(randomization.participant, "D0", "baseline", complete=False, weight_kg=Decimal("80"))
    preparation = randomization_services.preparation_record(
        randomization=randomization,
        user=more["pharmacist"],
        lot_number="EXO-1",
        concentration_million_per_ml=Decimal("10000"),
        lot_expiry=timezone.localdate() + timedelta(days=30),
        checked_by="Second Pharmacist",
    )
    other = UserFactory(username="pharmacist2", role=Role.PHARMACIST, sites=[site01])
    url = f"/randomization/pharmacy/{randomization.participant.study_id}/"
    a, b = browser(more["pharmacist"]), browser(other)
    first, second = opened(a, url), opened(b, url)
    handover = {"handover": "1"}
    assert a.post(url, first | handover | {"handed_over_to": "Nurse Ava"}).status_code == 302
    response = b.post(url, second | handover | {"handed_over_to": "Nurse Bea"})
    assert response.status_code == 200
    assert 'data-testid="conflict-handed_over_to"' in response.content.decode()
    assert Preparation.objects.get(pk=preparation.pk).handed_over_to == "Nurse Ava"


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_signature_without_a_valid_version_signs_nothing(more, participant, murray, token):  # noqa: F811
    url = f"/data/participants/{participant.study_id}/sign/?level=crf&visit=D0&crf=murray"
    investigator = browser(more["investigator"])
    data = opened(investigator, url) | {"meaning": "accurate_complete", "password": PASSWORD}
    if token is None:
        del data["edit_version"]
    else:
        data["edit_version"] = token
    response = investigator.post(url, data)
    assert response.status_code == 200
    assert not Signature.objects.exists()
    assert "does not say which version" in response.content.decode()


def test_a_correction_that_would_void_a_causality_signature_given_since_is_shown_first(
    more,
    participant,  # noqa: F811
):
    ae = report_sae(participant, more["coordinator"])
    edit = f"/safety/ae/{ae.pk}/edit/"
    coordinator = browser(more["coordinator"])
    stale = opened(coordinator, edit)
    safety_services.ae_causality_sign(
        ae=ae,
        user=more["investigator"],
        password=PASSWORD,
        relationship=ae.relationship,
        opened_version=concurrency.version_of(ae),
    )
    response = coordinator.post(
        edit, stale | {"description": "Intubated on day 1", "reason_for_change": "Detail"}
    )
    assert response.status_code == 200
    ae.refresh_from_db()
    assert ae.causality_signed  # not voided by someone who never saw it
    assert 'data-testid="conflict-causality_signed_by"' in response.content.decode()
    # Shown it, the coordinator saves again: the correction voids the signature, knowingly.
    again = stale | hidden(response, edit)
    data = {"description": "Intubated on day 1", "reason_for_change": "Detail"}
    assert coordinator.post(edit, again | data).status_code == 302
    ae.refresh_from_db()
    assert not ae.causality_signed


def test_a_correction_that_would_void_a_confirmation_given_since_is_shown_first(more, screening):
    EligibilityFactory(screening=screening)
    url = eligibility_url(screening)
    coordinator = browser(more["coordinator"])
    stale = opened(coordinator, url)
    confirm = f"/participants/{screening.screening_number}/eligibility/confirm/"
    investigator = browser(more["investigator"])
    assert investigator.post(confirm, opened(investigator, confirm)).status_code == 302
    response = coordinator.post(url, stale | {"pao2_mmhg": "70", "reason_for_change": "ABG"})
    assert response.status_code == 200
    assert Eligibility.objects.get(screening=screening).confirmed_by == more["investigator"]
    assert 'data-testid="conflict-confirmed_by"' in response.content.decode()
