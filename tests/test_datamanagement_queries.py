"""Queries (SPEC §6, issue 10): the state machine, who may take each step, the field widget in
the CRF, automatic queries from edit checks and missing CRFs, the lists with ageing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from datamanagement import selectors, services, tasks
from datamanagement.exceptions import QueryTransitionRefused
from datamanagement.models import (
    TRANSITIONS,
    Query,
    QueryAction,
    QueryOrigin,
    QueryState,
    QueryStep,
)
from kernel import concurrency
from kernel.roles import Role
from outcomes.models import Visit

from . import outcomes_factories as of
from .factories import ParticipantFactory
from .page_client import PageClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    """Posts carry the version their page showed, as a browser's do (tests/page_client.py)."""
    return PageClient()


@pytest.fixture
def users(make_user):
    return {role: make_user(role) for role in Role}


def raise_query(participant, murray, users):
    return services.query_raise(
        participant=participant,
        visit=murray.visit,
        crf_code="murray",
        field_name="fio2",
        text="FiO2 differs from the ventilator chart.",
        user=users[Role.MONITOR],
    )


def put_in_state(query, state, users):
    """Walk a fresh (open) query to `state` through allowed steps."""
    if state in (QueryState.ANSWERED, QueryState.CLOSED):
        services.query_answer(
            query=query,
            user=users[Role.COORDINATOR],
            text="Checked.",
            opened_version=concurrency.version_of(query),
        )
    if state == QueryState.CLOSED:
        services.query_close(
            query=query,
            user=users[Role.DATA_MANAGER],
            text="Accepted.",
            opened_version=concurrency.version_of(query),
        )
    query.refresh_from_db()
    assert query.state == state
    return query


# Who takes each step in the tests of the state machine.
ACTOR = {
    QueryAction.ANSWER: Role.COORDINATOR,
    QueryAction.CLOSE: Role.DATA_MANAGER,
    QueryAction.REOPEN: Role.DATA_MANAGER,
}
ALL_STEPS = [
    (state, action)
    for state in QueryState
    for action in (QueryAction.ANSWER, QueryAction.CLOSE, QueryAction.REOPEN)
]


def test_a_raised_query_is_open_with_its_first_step(participant, murray, users):
    query = raise_query(participant, murray, users)
    assert query.state == QueryState.OPEN
    step = query.steps.get()
    assert (step.action, step.by, step.state_after) == (
        QueryAction.RAISE,
        users[Role.MONITOR],
        QueryState.OPEN,
    )
    assert step.text == "FiO2 differs from the ventilator chart."


@pytest.mark.parametrize(("state", "action"), ALL_STEPS)
def test_the_state_machine_allows_exactly_its_transitions(
    participant, murray, users, state, action
):
    query = put_in_state(raise_query(participant, murray, users), state, users)
    steps_before = query.steps.count()
    expected = TRANSITIONS.get((state, action))
    if expected is None:
        with pytest.raises(QueryTransitionRefused):
            services.query_step(
                query=query,
                action=action,
                user=users[ACTOR[action]],
                text="x",
                opened_version=concurrency.version_of(query),
            )
        query.refresh_from_db()
        assert query.state == state
        assert query.steps.count() == steps_before
    else:
        services.query_step(
            query=query,
            action=action,
            user=users[ACTOR[action]],
            text="why",
            opened_version=concurrency.version_of(query),
        )
        query.refresh_from_db()
        assert query.state == expected
        last = query.steps.last()
        assert (last.action, last.by, last.text, last.state_after) == (
            action,
            users[ACTOR[action]],
            "why",
            expected,
        )
        assert (query.closed_at is not None) == (expected == QueryState.CLOSED)


def test_the_transition_table_is_the_documented_one():
    assert TRANSITIONS == {
        ("open", "answer"): "answered",
        ("open", "close"): "closed",
        ("answered", "close"): "closed",
        ("answered", "reopen"): "open",
        ("closed", "reopen"): "open",
    }


ALLOWED_ROLES = {
    QueryAction.ANSWER: {Role.COORDINATOR, Role.INVESTIGATOR},
    QueryAction.CLOSE: {Role.DATA_MANAGER},
    QueryAction.REOPEN: {Role.DATA_MANAGER},
}


@pytest.mark.parametrize("action", list(ALLOWED_ROLES))
@pytest.mark.parametrize("role", list(Role))
def test_only_the_right_roles_take_each_step(participant, murray, users, action, role):
    start = {QueryAction.ANSWER: "open", QueryAction.CLOSE: "answered", "reopen": "closed"}
    query = put_in_state(raise_query(participant, murray, users), start[action], users)
    if role in ALLOWED_ROLES[action]:
        services.query_step(
            query=query,
            action=action,
            user=users[role],
            text="ok",
            opened_version=concurrency.version_of(query),
        )
    else:
        with pytest.raises(QueryTransitionRefused):
            services.query_step(
                query=query,
                action=action,
                user=users[role],
                text="ok",
                opened_version=concurrency.version_of(query),
            )


@pytest.mark.parametrize("role", list(Role))
def test_only_monitors_and_data_managers_raise_queries_by_hand(participant, murray, users, role):
    call = {
        "participant": participant,
        "visit": murray.visit,
        "crf_code": "murray",
        "field_name": "fio2",
        "text": "Check.",
        "user": users[role],
    }
    if role in (Role.MONITOR, Role.DATA_MANAGER):
        assert services.query_raise(**call).state == QueryState.OPEN
    else:
        with pytest.raises(QueryTransitionRefused):
            services.query_raise(**call)


def test_every_step_needs_a_text(participant, murray, users):
    query = raise_query(participant, murray, users)
    with pytest.raises(QueryTransitionRefused, match="Write a text"):
        services.query_answer(
            query=query,
            user=users[Role.COORDINATOR],
            text="  ",
            opened_version=concurrency.version_of(query),
        )
    with pytest.raises(QueryTransitionRefused, match="Write the question"):
        services.query_raise(participant=participant, text="", user=users[Role.MONITOR])


def test_a_query_on_a_field_the_crf_does_not_have_is_refused(participant, murray, users):
    with pytest.raises(QueryTransitionRefused, match="no field"):
        services.query_raise(
            participant=participant,
            visit=murray.visit,
            crf_code="murray",
            field_name="arm",
            text="?",
            user=users[Role.MONITOR],
        )


def test_the_coordinator_answers_on_the_field_in_the_crf(client, login, participant, murray, users):
    query = raise_query(participant, murray, users)
    login(users[Role.COORDINATOR])
    page = client.get(f"/outcomes/participants/{participant.study_id}/visits/D0/murray/")
    body = page.content.decode()
    assert 'data-testid="queries-fio2"' in body
    assert f'data-testid="query-{query.pk}"' in body
    assert "FiO2 differs from the ventilator chart." in body
    response = client.post(
        f"/data/queries/{query.pk}/",
        {"action": "answer", f"q{query.pk}-text": "Chart rechecked: 0.6 is right."},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'data-state="answered"' in response.content.decode()
    query.refresh_from_db()
    assert query.state == QueryState.ANSWERED


def test_a_refused_step_keeps_the_text_typed(client, login, participant, murray, users):
    query = put_in_state(raise_query(participant, murray, users), "answered", users)
    login(users[Role.COORDINATOR])
    response = client.post(
        f"/data/queries/{query.pk}/",
        {"action": "answer", f"q{query.pk}-text": "A second answer"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "cannot be answered" in body


def test_the_data_manager_closes_from_the_query_page(client, login, participant, murray, users):
    query = put_in_state(raise_query(participant, murray, users), "answered", users)
    login(users[Role.DATA_MANAGER])
    response = client.post(
        f"/data/queries/{query.pk}/", {"action": "close", f"q{query.pk}-text": "Resolved."}
    )
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.state == QueryState.CLOSED


def test_a_monitor_raises_a_query_from_the_review_page(client, login, participant, murray, users):
    login(users[Role.MONITOR])
    review = client.get(f"/data/participants/{participant.study_id}/visits/D0/murray/")
    assert "Raise a query on FiO₂" in review.content.decode()
    response = client.post(
        f"/data/participants/{participant.study_id}/queries/new/?visit=D0&crf=murray&field=pao2_mmhg",
        {"text": "PaO2 not in the lab print-out."},
    )
    assert response.status_code == 302
    query = Query.objects.get()
    assert (query.field_name, query.raised_by, query.origin) == (
        "pao2_mmhg",
        users[Role.MONITOR],
        QueryOrigin.MANUAL,
    )


def test_queries_of_another_site_are_not_listed(client, login, make_user, site02, users):
    other = ParticipantFactory(site=site02)
    of.schedule(other)
    crf = of.crf(
        other, "D0", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
    services.query_raise(
        participant=other,
        visit=crf.visit,
        crf_code="murray",
        text="Other site's question",
        user=make_user(Role.MONITOR, sites=[site02], username="monitor2"),
    )
    login(users[Role.MONITOR])
    assert "Other site&#x27;s question" not in client.get("/data/queries/").content.decode()
    client.logout()
    login(users[Role.DATA_MANAGER])  # trial-wide
    assert "Other site&#x27;s question" in client.get("/data/queries/").content.decode()


def test_the_list_filters_by_state_and_age(client, login, participant, murray, users):
    old = raise_query(participant, murray, users)
    Query.objects.filter(pk=old.pk).update(raised_at=timezone.now() - timedelta(days=20))
    put_in_state(raise_query(participant, murray, users), "answered", users)
    login(users[Role.DATA_MANAGER])
    rows = client.get("/data/queries/?state=open").context["rows"]
    assert [r["query"].pk for r in rows] == [old.pk]
    assert rows[0]["days"] == 20
    assert rows[0]["band"] == "14–29"
    assert len(client.get("/data/queries/?older_than_days=10").context["rows"]) == 1
    assert len(client.get("/data/queries/?state=answered").context["rows"]) == 1


def test_ageing_bands_follow_the_configuration():
    assert [selectors.ageing_band(d) for d in (0, 6, 7, 13, 14, 29, 30, 400)] == [
        "0–6",
        "0–6",
        "7–13",
        "7–13",
        "14–29",
        "14–29",
        "30+",
        "30+",
    ]


def test_a_confirmed_soft_warning_becomes_one_edit_check_query(participant):
    crf = of.crf(participant, "D0", "crp", crp_mg_l=Decimal("10"), entered_value=Decimal("10"))
    warnings = ["The date is outside the D0 window."]
    services.edit_check_queries_raise(crf=crf, warnings=warnings, warning_reason="Lab late")
    services.edit_check_queries_raise(crf=crf, warnings=warnings, warning_reason="Lab late")
    query = Query.objects.get()
    assert query.origin == QueryOrigin.EDIT_CHECK
    assert query.raised_by is None
    assert "Lab late" in query.text


def test_a_crf_saved_with_confirmed_warnings_raises_the_query(participant):
    visit = Visit.objects.get(participant=participant, code="D3")
    from outcomes import services as outcome_services

    # Status 5 at D0, 2 at D3: moved 3 points, more than 2 since the previous visit. The
    # warning is the service's own (outcomes.checks), confirmed with a reason.
    of.crf(participant, "D0", "clinical_status", status_score=5)
    outcome_services.crf_save(
        visit=visit,
        crf_code="clinical_status",
        values={"assessed_on": visit.target_date, "status_score": 2},
        complete=True,
        user=of._entry_user(participant),
        opened_version=None,  # a new CRF
        confirm_warnings=True,
        warning_reason="Confirmed at the bedside",
    )
    query = Query.objects.get(origin=QueryOrigin.EDIT_CHECK, visit=visit)
    assert "Clinical status moved from 5 at D0 to 2," in query.text


def test_missing_crfs_after_the_window_become_queries_once(participant):
    # Day 0 was three days ago: D0, D1 and D2 are overdue with no CRF entered.
    first = services.missing_crf_queries_raise()
    expected = sum(
        len(v.crf_codes)
        for v in Visit.objects.filter(participant=participant, code__in=["D0", "D1", "D2"])
    )
    # And the daily 6-point status of day 1, missing a whole day after it (issue 18 point 3).
    assert Query.objects.filter(auto_key__startswith="missing-daily-status:").count() == 1
    expected += 1
    assert first == expected
    assert services.missing_crf_queries_raise() == 0
    assert tasks.raise_missing_crf_queries() == 0
    assert Query.objects.filter(origin=QueryOrigin.MISSING_CRF).count() == expected
    assert not Query.objects.filter(visit__code="D3").exists()  # due today, window open


def test_a_complete_crf_is_not_missing(participant):
    of.crf(
        participant, "D1", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
    services.missing_crf_queries_raise()
    assert not Query.objects.filter(visit__code="D1", crf_code="murray").exists()
    assert Query.objects.filter(visit__code="D1", crf_code="clinical_status").exists()


def test_the_thread_is_kept_in_the_audit_trail(participant, murray, users):
    query = put_in_state(raise_query(participant, murray, users), "closed", users)
    assert query.history.count() == 3
    assert QueryStep.objects.filter(query=query).count() == 3


def test_the_daily_job_raises_queries_for_crfs_missing_after_their_window(participant, users):
    from importlib import import_module

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # Scheduled every morning by its own beat entry, enabled (migration 0003).
    # (A transactional test elsewhere may have flushed the rows the migration made.)
    import_module("datamanagement.migrations.0003_missing_crf_schedule").create(apps, None)
    job = PeriodicTask.objects.get(task="datamanagement.raise_missing_crf_queries")
    assert job.enabled
    assert job.crontab is not None
    assert (job.crontab.hour, job.crontab.minute) == ("6", "45")
    # Day 0 three days ago: D0, D1 and D2 have closed windows and no CRF entered.
    assert tasks.raise_missing_crf_queries() > 0
    assert Query.objects.filter(participant=participant, origin=QueryOrigin.MISSING_CRF).exists()
    assert tasks.raise_missing_crf_queries() == 0  # idempotent


def test_the_in_process_schedules_raise_them_too(participant, users):
    # `make run` without Redis has no beat: run_schedules runs the same jobs in-process.
    from django.core.management import call_command

    call_command("run_schedules")
    raised = Query.objects.filter(participant=participant, origin=QueryOrigin.MISSING_CRF).count()
    assert raised > 0
    call_command("run_schedules")
    assert (
        Query.objects.filter(participant=participant, origin=QueryOrigin.MISSING_CRF).count()
        == raised
    )
