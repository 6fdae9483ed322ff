"""Worklists (issue 21): what each person has to do next, across participants, in their sites
only and with no arm for the blinded roles."""

from decimal import Decimal

import pytest
from django.core import mail

from datamanagement import selectors, services
from datamanagement.models import Notification, Query, QueryState, QueryStep, SdvMark
from kernel import concurrency
from kernel.models import Alert, AlertKind
from kernel.roles import Role
from outcomes import services as outcome_services

from . import outcomes_factories as of
from .blinding import leak_markers
from .factories import PASSWORD, ParticipantFactory, UserFactory
from .page_client import PageClient
from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return PageClient()


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    body = response.content.decode()
    for marker in leak_markers():
        assert marker not in body, f"{marker!r} on {path}"
    return body


# -- awaiting my signature ---------------------------------------------------------------------


def sign_visit(user, visit):
    return services.signature_sign(
        user=user,
        password=PASSWORD,
        participant=visit.participant,
        level="visit",
        meaning="accurate_complete",
        opened_versions=selectors.signed_versions(
            "visit", participant=visit.participant, visit=visit, crf_code=""
        ),
        visit=visit,
    )


def test_a_complete_visit_awaits_the_investigators_signature_until_signed(
    client, login, make_user, participant, murray
):
    investigator = make_user(Role.INVESTIGATOR)
    login(investigator)
    body = page(client, "/data/worklists/signatures/")
    assert f'data-testid="sign-{participant.study_id}-D0"' in body
    assert "?level=visit&amp;visit=D0" in body

    sign_visit(investigator, murray.visit)
    body = page(client, "/data/worklists/signatures/")
    assert f'data-testid="sign-{participant.study_id}-D0"' not in body


def test_a_draft_keeps_a_visit_off_the_list(client, login, make_user, participant):
    of.crf(participant, "D0", "murray", complete=False, pao2_mmhg=Decimal("70"))
    login(make_user(Role.INVESTIGATOR))
    assert participant.study_id not in page(client, "/data/worklists/signatures/")


def test_a_signature_voided_by_a_change_puts_the_visit_first_again(
    client, login, make_user, participant, murray
):
    other = ParticipantFactory(site=participant.site)
    of.schedule(other)
    of.crf(other, "D0", "murray", pao2_mmhg=Decimal("75"), fio2=Decimal("0.5"), cxr_quadrants=1)
    investigator = make_user(Role.INVESTIGATOR)
    sign_visit(investigator, murray.visit)
    outcome_services.crf_save(
        visit=murray.visit,
        crf_code="murray",
        values={"fio2": Decimal("0.7")},
        complete=True,
        user=of._entry_user(participant),
        opened_version=concurrency.version_of(murray),
        reason="Transcription error",
    )
    tasks = selectors.awaiting_signature(investigator)
    assert [(t.participant, t.visit.code) for t in tasks][0] == (participant, "D0")
    assert tasks[0].voided is not None
    login(investigator)
    assert "signature voided by a change" in page(client, "/data/worklists/signatures/")


def test_the_signature_list_of_site_02_shows_nothing_of_site_01(
    client, login, make_user, site02, participant, murray
):
    login(make_user(Role.INVESTIGATOR, sites=[site02], username="inv02"))
    body = page(client, "/data/worklists/signatures/")
    assert participant.study_id not in body
    assert "Nothing awaits your signature." in body


# -- the SDV queue -----------------------------------------------------------------------------


def test_the_sdv_queue_lists_complete_crfs_in_the_monitoring_plans_order(
    client, login, make_user, participant, murray
):
    of.crf(participant, "D0", "clinical_status", status_score=5)
    monitor = make_user(Role.MONITOR)
    tasks = selectors.sdv_queue(monitor)
    # The clinical status (primary endpoint) is verified in full, Murray in part: the plan puts
    # the full ones first.
    assert [(t.visit.code, t.crf_code, t.whole) for t in tasks] == [
        ("D0", "clinical_status", True),
        ("D0", "murray", False),
    ]
    login(monitor)
    body = page(client, "/data/worklists/sdv/")
    assert body.index(f"sdv-{participant.study_id}-D0-clinical_status") < body.index(
        f"sdv-{participant.study_id}-D0-murray"
    )

    services.sdv_mark_many(
        user=monitor,
        items=[(murray.visit, "murray", None)],
        opened_versions={("outcomes.murray", murray.pk): concurrency.version_of(murray)},
    )
    assert SdvMark.objects.filter(visit=murray.visit, crf_code="murray").exists()
    assert [t.crf_code for t in selectors.sdv_queue(monitor)] == ["clinical_status"]


def test_the_sdv_queue_of_site_02_shows_nothing_of_site_01(
    client, login, make_user, site02, participant, murray
):
    login(make_user(Role.MONITOR, sites=[site02], username="mon02"))
    body = page(client, "/data/worklists/sdv/")
    assert participant.study_id not in body


# -- queries by ageing, bulk steps ---------------------------------------------------------------


@pytest.fixture
def queries(participant, murray):
    return [
        services.query_raise(
            participant=participant,
            visit=murray.visit,
            crf_code="murray",
            field_name=name,
            text=f"Please confirm {name}.",
            origin="edit_check",
            auto_key=f"wl:{name}",
        )
        for name in ("fio2", "pao2_mmhg", "cxr_quadrants")
    ]


def test_the_site_answers_several_queries_at_once_each_in_its_own_thread(
    client, login, make_user, queries
):
    login(make_user(Role.COORDINATOR))
    body = page(client, "/data/worklists/queries/")
    assert all(f'data-testid="wq-{q.pk}"' in body for q in queries)
    assert "Answer the ticked" in body
    assert "Close the ticked" not in body
    response = client.post(
        "/data/worklists/queries/",
        {"query": [queries[0].pk, queries[1].pk], "action": "answer", "text": "Checked the chart."},
    )
    assert response.status_code == 302
    states = dict(Query.objects.values_list("pk", "state"))
    assert states[queries[0].pk] == states[queries[1].pk] == QueryState.ANSWERED
    assert states[queries[2].pk] == QueryState.OPEN
    for query in queries[:2]:
        steps = QueryStep.objects.filter(query=query, action="answer")
        assert [s.text for s in steps] == ["Checked the chart."]
        # Audited as one by one: the query's own history row with the step as its reason.
        assert query.history.latest().history_change_reason.startswith("Answered: Checked")


def test_the_data_manager_closes_answered_queries_in_bulk_from_the_filtered_card(
    client, login, make_user, queries
):
    coordinator = make_user(Role.COORDINATOR)
    for query in queries:
        services.query_answer(
            query=query,
            user=coordinator,
            text="Done.",
            opened_version=concurrency.version_of(query),
        )
    manager = make_user(Role.DATA_MANAGER)
    login(manager)
    home = client.get("/").content.decode()
    assert "/data/worklists/queries/?state=answered" in home
    body = page(client, "/data/worklists/queries/?state=answered")
    assert "Close the ticked" in body
    assert "Answer the ticked" not in body
    response = client.post(
        "/data/worklists/queries/?state=answered",
        {"query": [q.pk for q in queries], "action": "close", "text": "Resolved."},
    )
    assert response.status_code == 302
    assert set(Query.objects.values_list("state", flat=True)) == {QueryState.CLOSED}
    assert QueryStep.objects.filter(action="close").count() == 3


def test_a_bulk_step_on_a_query_that_moved_since_changes_none(client, login, make_user, queries):
    coordinator = make_user(Role.COORDINATOR)
    login(coordinator)
    opened = client.get("/data/worklists/queries/")
    from .fuzz_http import form_fields

    token = {
        name: field.initial[0]
        for name, field in form_fields(opened.content.decode(), "/data/worklists/queries/").items()
        if name.endswith(concurrency.FIELD) and field.initial
    }
    # Someone answers the second query after the list was opened.
    other = make_user(Role.COORDINATOR, username="coord2")
    services.query_answer(
        query=queries[1],
        user=other,
        text="Me first.",
        opened_version=concurrency.version_of(queries[1]),
    )
    response = client.post(
        "/data/worklists/queries/?state=waiting",
        {**token, "query": [queries[0].pk, queries[1].pk], "action": "answer", "text": "Both."},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f"Query #{queries[1].pk}" in body
    assert "Nothing was changed" in body
    assert Query.objects.get(pk=queries[0].pk).state == QueryState.OPEN
    assert "Both.</textarea>" in body  # what was typed stays


def test_the_query_worklist_of_site_02_shows_nothing_of_site_01(
    client, login, make_user, site02, queries
):
    login(make_user(Role.COORDINATOR, sites=[site02], username="coord02"))
    body = page(client, "/data/worklists/queries/?state=waiting")
    assert not any(f'data-testid="wq-{q.pk}"' in body for q in queries)
    response = client.post(
        "/data/worklists/queries/",
        {"query": [queries[0].pk], "action": "answer", "text": "Not mine."},
    )
    assert response.status_code == 200
    assert Query.objects.get(pk=queries[0].pk).state == QueryState.OPEN


# -- the pharmacy queue and its notice -----------------------------------------------------------


@pytest.fixture
def pharmacists(roles, site01, site02):
    return (
        UserFactory(
            username="pharma", role=Role.PHARMACIST, sites=[site01], email="ph01@example.org"
        ),
        UserFactory(
            username="pharma02", role=Role.PHARMACIST, sites=[site02], email="ph02@example.org"
        ),
    )


def test_each_randomization_tells_the_sites_pharmacist_in_the_same_words_whatever_the_arm(
    pharmacists, site01, django_capture_on_commit_callbacks
):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    with django_capture_on_commit_callbacks(execute=True):
        active = randomized_participant(site=site01, support="none")
        placebo = randomized_participant(site=site01, support="none")
    assert (active.slot.arm, placebo.slot.arm) == (EXOSOME, PLACEBO)
    pharma, pharma02 = pharmacists
    notes = list(Notification.objects.filter(recipient=pharma).order_by("pk"))
    assert len(notes) == 2
    assert not Notification.objects.filter(recipient=pharma02).exists()
    alerts = list(Alert.objects.filter(kind=AlertKind.DOSE_TO_PREPARE).order_by("pk"))
    assert [a.recipients for a in alerts] == [[pharma.email], [pharma.email]]
    for note, alert, r in zip(notes, alerts, (active, placebo), strict=True):
        assert note.text == alert.body
        assert r.participant.study_id in note.text
    # The same words once the study ID is taken out: nothing follows the arm.
    texts = {
        n.text.replace(r.participant.study_id, "ID")
        for n, r in zip(notes, (active, placebo), strict=True)
    }
    assert len(texts) == 1
    for text in [*texts, *(a.subject for a in alerts)]:
        assert "xosome" not in text
        assert "lacebo" not in text
    assert len(mail.outbox) == 2  # the outbox delivered them (one e-mail per randomization)


def test_the_pharmacy_queue_lists_the_unprepared_most_urgent_first_in_the_pharmacists_sites(
    client, login, pharmacists, site01, site02
):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    first = randomized_participant(site=site01, support="none")
    second = randomized_participant(site=site01, support="none")
    login(pharmacists[0])
    body = client.get("/randomization/pharmacy/to-prepare/").content.decode()
    one, two = (f"to-prepare-{r.participant.study_id}" for r in (first, second))
    assert body.index(one) < body.index(two)
    assert "data-arm=" not in body
    home = client.get("/").content.decode()
    assert "/randomization/pharmacy/to-prepare/" in home
    client.logout()
    login(pharmacists[1])
    body = client.get("/randomization/pharmacy/to-prepare/").content.decode()
    assert first.participant.study_id not in body
    assert "No dose waits to be prepared." in body
