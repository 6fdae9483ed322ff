"""The visit schedule: created from configuration at randomization, statuses, the digest."""

from datetime import date, timedelta

import pytest

from kernel import concurrency
from kernel.roles import Role
from kernel.trial import TRIAL
from outcomes import schedule, selectors, services
from outcomes.models import Visit, VisitState

from . import outcomes_factories as of
from .factories import ParticipantFactory, SiteFactory

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 3, 1)


@pytest.fixture
def participant(site01, roles):
    return ParticipantFactory(site=site01)


def test_it_creates_every_configured_visit_with_target_and_window(participant):
    services.visit_schedule_create(participant=participant, day0=DAY0)
    visits = list(Visit.objects.filter(participant=participant).order_by("day"))
    assert [v.code for v in visits] == [v.code for v in TRIAL.visits]
    d14 = next(v for v in visits if v.code == "D14")
    # SPEC §4: D14 ±2 -> target 2026-03-15, window 03-13 to 03-17.
    assert (d14.target_date, d14.window_start, d14.window_end) == (
        date(2026, 3, 15),
        date(2026, 3, 13),
        date(2026, 3, 17),
    )
    d60 = next(v for v in visits if v.code == "D60")
    # D60 ±7: 2026-03-01 + 60 days = 2026-04-30; window 04-23 to 05-07.
    assert (d60.target_date, d60.window_start, d60.window_end) == (
        date(2026, 4, 30),
        date(2026, 4, 23),
        date(2026, 5, 7),
    )
    assert all(v.state == VisitState.SCHEDULED for v in visits)


def test_it_is_idempotent(participant):
    services.visit_schedule_create(participant=participant, day0=DAY0)
    services.visit_schedule_create(participant=participant, day0=DAY0 + timedelta(days=5))
    assert Visit.objects.filter(participant=participant).count() == len(TRIAL.visits)
    assert selectors.day0_of(participant) == DAY0


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 12), schedule.UPCOMING),  # D14 window opens 03-13
        (date(2026, 3, 13), schedule.OPEN),  # window open, before target 03-15
        (date(2026, 3, 15), schedule.DUE),  # target day
        (date(2026, 3, 17), schedule.DUE),  # last day of the window
        (date(2026, 3, 18), schedule.OVERDUE),  # window closed
    ],
)
def test_the_status_follows_the_window(today, expected):
    status = schedule.visit_status(
        state="scheduled",
        target_date=date(2026, 3, 15),
        window_start=date(2026, 3, 13),
        window_end=date(2026, 3, 17),
        today=today,
    )
    assert status == expected


def test_done_and_missed_win_over_dates_and_death_makes_later_visits_not_applicable():
    kwargs = {
        "target_date": date(2026, 3, 15),
        "window_start": date(2026, 3, 13),
        "window_end": date(2026, 3, 17),
        "today": date(2026, 4, 1),
    }
    assert schedule.visit_status(state="done", **kwargs) == schedule.DONE
    assert schedule.visit_status(state="missed", **kwargs) == schedule.MISSED
    assert (
        schedule.visit_status(state="scheduled", ended_on=date(2026, 3, 10), **kwargs)
        == schedule.NOT_APPLICABLE
    )
    assert (
        schedule.visit_status(state="scheduled", ended_on=date(2026, 3, 20), **kwargs)
        == schedule.OVERDUE
    )


def test_a_visit_is_done_when_all_its_crfs_are_complete(participant):
    of.schedule(participant, day0=DAY0)
    of.crf(participant, "D1", "murray", cxr_quadrants=2, pao2_mmhg=80, fio2="0.5")
    assert of.visit(participant, "D1").state == VisitState.SCHEDULED
    of.crf(participant, "D1", "clinical_status", status_score=5)
    # D1 lists the vital signs too since issue 19.
    of.crf(participant, "D1", "vital_signs", **of.VITAL_SIGNS)
    assert of.visit(participant, "D1").state == VisitState.DONE


def test_a_missed_visit_keeps_its_reason(participant, make_user):
    of.schedule(participant, day0=DAY0)
    d4 = of.visit(participant, "D4")
    visit = services.visit_mark_missed(
        visit=d4,
        reason="Patient in CT",
        user=make_user(Role.COORDINATOR),
        opened_version=concurrency.version_of(d4),
    )
    assert visit.state == VisitState.MISSED
    assert visit.history.first().history_change_reason == "Visit missed: Patient in CT"


def test_the_digest_lists_opening_due_and_overdue_visits_of_the_site(participant):
    of.schedule(participant, day0=DAY0)
    other_site = ParticipantFactory(site=SiteFactory(code="02"))
    of.schedule(other_site, day0=DAY0)
    of.crf(participant, "D10", "crp", crp_mg_l=40, assessed_on=date(2026, 3, 11))
    of.crf(participant, "D10", "clinical_status", status_score=4, assessed_on=date(2026, 3, 11))
    # D10 lists the vital signs too since issue 19.
    of.crf(participant, "D10", "vital_signs", assessed_on=date(2026, 3, 11), **of.VITAL_SIGNS)
    # Today 2026-03-12 (study day 11): D14 opens tomorrow (03-13); D10 (03-10 ±1) done;
    # D7 (03-08 ±1) and D0-D5 overdue; nothing due today at site 01.
    digest = selectors.visit_digest(site=participant.site, today=date(2026, 3, 12))
    assert set(digest) == {"opening_tomorrow", "due_today", "overdue"}
    assert [r["visit"] for r in digest["opening_tomorrow"]] == ["D14"]
    assert digest["due_today"] == []
    assert [r["visit"] for r in digest["overdue"]] == ["D0", "D1", "D2", "D3", "D4", "D5", "D7"]
    assert digest["opening_tomorrow"][0] == {
        "study_id": participant.study_id,
        "visit": "D14",
        "target_date": date(2026, 3, 15),
        "window_start": date(2026, 3, 13),
        "window_end": date(2026, 3, 17),
    }
    # Due today: the D14 window (03-13 to 03-17) on 03-16.
    due = selectors.visit_digest(site=participant.site, today=date(2026, 3, 16))["due_today"]
    assert [r["visit"] for r in due] == ["D14"]


def test_the_digest_leaves_out_visits_after_death(participant):
    of.schedule(participant, day0=DAY0)
    of.event(participant, "death", date(2026, 3, 4))
    digest = selectors.visit_digest(site=participant.site, today=date(2026, 3, 12))
    # Death on 03-04, the D3 target date: D3 and later no longer apply.
    assert [r["visit"] for r in digest["overdue"]] == ["D0", "D1", "D2"]
    assert digest["opening_tomorrow"] == []


def test_the_digest_is_empty_without_visits(site01):
    assert selectors.visit_digest(site=site01, today=DAY0) == {
        "opening_tomorrow": [],
        "due_today": [],
        "overdue": [],
    }


def test_schedule_creation_joins_the_callers_transaction_and_is_audited(participant):
    from django.db import transaction

    def randomize_and_fail():
        with transaction.atomic():
            services.visit_schedule_create(participant=participant, day0=DAY0)
            raise RuntimeError("randomization failed after the schedule was made")

    with pytest.raises(RuntimeError, match="randomization failed"):
        randomize_and_fail()
    assert not Visit.objects.filter(participant=participant).exists()

    services.visit_schedule_create(participant=participant, day0=DAY0)
    d0 = Visit.objects.get(participant=participant, code="D0")
    assert d0.history.get().history_change_reason == "Initial entry"


def test_the_outcomes_configuration_is_in_the_trial_file():
    # docs/outcomes.md: soft-limit deltas; CRP mg/dL x 10 -> mg/L (SPEC §4).
    assert set(TRIAL.soft_limit_deltas) == {
        "pf_ratio",
        "crp_mg_l",
        "murray_score",
        "clinical_status",
    }
    assert TRIAL.crp_unit_factors["mg/dL"] == 10
    assert TRIAL.crp_unit == "mg/L"


def test_the_timeline_reads_each_crf_table_once_whatever_the_crfs_saved(participant):
    """visit_rows reads each CRF table once for all the visits (issue 24: a statement for each
    CRF of each visit), and shows each visit's CRFs as crfs_of reads them."""
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    of.schedule(participant)
    today = selectors.site_today(participant.site)
    with CaptureQueriesContext(connection) as none_saved:
        selectors.visit_rows(participant, today=today)
    of.crf(participant, "D0", "murray", complete=False, pao2_mmhg=Decimal("70"))
    of.crf(participant, "D1", "clinical_status", status_score=3)
    of.crf(participant, "D3", "clinical_status", complete=False, status_score=4)
    with CaptureQueriesContext(connection) as three_saved:
        rows = selectors.visit_rows(participant, today=today)
    assert len(three_saved.captured_queries) == len(none_saved.captured_queries)
    assert len(none_saved.captured_queries) < len(rows) * 2
    for row in rows:
        assert [(c["code"], c["crf"]) for c in row.crfs] == list(
            selectors.crfs_of(row.visit).items()
        )
    shown = {(row.visit.code, c["code"]) for row in rows for c in row.crfs if c["crf"]}
    assert shown == {("D0", "murray"), ("D1", "clinical_status"), ("D3", "clinical_status")}
