"""What the investigator dashboard shows, on a small constructed trial."""

import statistics
from datetime import timedelta

import pytest

from dashboards import selectors, svg
from kernel.roles import Role
from outcomes import schedule
from outcomes.models import EventKind
from outcomes.selectors import site_today

from . import outcomes_factories
from .dashboards_randomization import randomize
from .factories import ParticipantFactory
from .safety_factories import report_ae, report_sae, report_susar

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR, username="dash-coordinator")


@pytest.fixture
def three(site01, coordinator):
    """Three randomized participants, Day 0 twenty days ago: D0-D14 windows have closed."""
    participants = [ParticipantFactory(site=site01) for _ in range(3)]
    day0 = site_today(site01) - timedelta(days=20)
    for p in participants:
        randomize(p, user=coordinator, day0=day0)
    return participants


def test_pooled_trends_are_the_median_and_quartiles_of_complete_crfs(three, make_user):
    values = ["40", "80", "200"]
    for p, value in zip(three, values, strict=True):
        outcomes_factories.crf(p, "D0", "crp", crp_mg_l=value, entered_value=value)
    outcomes_factories.crf(
        three[0], "D5", "crp", complete=False, crp_mg_l="300", entered_value="300"
    )
    scope = selectors.scope_for(make_user(Role.DATA_MANAGER))
    trends = selectors.pooled_trends(scope)
    expected = statistics.quantiles([40, 80, 200], n=4, method="inclusive")
    assert trends["crp"] == [(0, expected[0], 80.0, expected[2], 3)]  # the draft is left out


def test_the_matrix_shows_each_visit_status_and_crfs_complete(three, make_user, coordinator):
    outcomes_factories.crf(
        three[0],
        "D1",
        "murray",
        pao2_mmhg="80",
        fio2="0.5",
        cxr_quadrants=2,
        peep_cmh2o="8",
        compliance_ml_cmh2o="40",
    )
    outcomes_factories.crf(three[0], "D1", "clinical_status", status_score=4)
    # D1's vital signs too (issue 19): every CRF of the visit complete makes it done.
    outcomes_factories.crf(three[0], "D1", "vital_signs", **outcomes_factories.VITAL_SIGNS)
    outcomes_factories.event(
        three[2], EventKind.DEATH, site_today(three[2].site) - timedelta(days=18)
    )
    scope = selectors.scope_for(make_user(Role.MONITOR))
    matrix = selectors.completeness_matrix(scope)
    assert [r.study_id for r in matrix.rows] == [p.study_id for p in three]
    first = {c.code: c for c in matrix.rows[0].cells}
    assert first["D1"].status == schedule.DONE
    assert (first["D1"].complete, first["D1"].expected) == (3, 3)
    assert first["D3"].status == schedule.OVERDUE
    assert first["D28"].status == schedule.UPCOMING
    dead = {c.code: c for c in matrix.rows[2].cells}
    assert dead["D3"].status == schedule.NOT_APPLICABLE


def test_overdue_visits_leave_out_those_after_death(three, make_user):
    outcomes_factories.event(
        three[2], EventKind.DEATH, site_today(three[2].site) - timedelta(days=18)
    )
    scope = selectors.scope_for(make_user(Role.MONITOR))
    overdue = selectors.overdue_visits(scope)
    per_participant = {}
    for row in overdue["rows"]:
        per_participant.setdefault(row["study_id"], []).append(row["code"])
    assert per_participant[three[0].study_id] == [
        "D0",
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "D7",
        "D10",
        "D14",
    ]
    assert per_participant[three[2].study_id] == ["D0", "D1"]
    assert overdue["total"] == 9 + 9 + 2


def test_adverse_events_are_counted_by_grade_and_seriousness(three, make_user, coordinator):
    report_ae(three[0], coordinator)
    report_ae(three[1], coordinator, ctcae_grade=2)
    report_sae(three[1], coordinator)
    counts = selectors.adverse_event_counts(selectors.scope_for(make_user(Role.SPONSOR)))
    by_grade = {r["grade"]: r for r in counts["rows"]}
    assert by_grade[1]["non_serious"] == 1
    assert by_grade[2]["non_serious"] == 1
    assert sum(r["serious"] for r in counts["rows"]) == 1
    assert counts["totals"]["participants"] == 2
    assert counts["totals"]["serious_participants"] == 1


def test_the_dashboard_shows_every_part(client, three, make_user, login, coordinator):
    report_susar(three[0], coordinator)
    login(make_user(Role.INVESTIGATOR))
    body = client.get("/dashboards/").content.decode()
    for part in (
        "enrollment-plot",
        "consort-diagram",
        "completeness-matrix",
        "overdue-visits",
        "ae-counts",
        "dashboard-clocks",
        "trend-pf_ratio",
        "trend-murray_score",
        "trend-crp",
    ):
        assert f'data-testid="{part}"' in body, part
    # Data management is installed: the open-queries part counts its queries (none here).
    assert 'data-testid="open-queries"' in body
    assert "0 open queries." in body
    assert "The data-management module is not installed" not in body
    assert "SUSAR expedited report" in body
    assert f"/outcomes/participants/{three[0].study_id}/visits/D3/" in body


def test_the_sponsor_sees_aggregates_only(client, three, make_user, login):
    login(make_user(Role.SPONSOR))
    body = client.get("/dashboards/").content.decode()
    assert 'data-testid="consort-diagram"' in body
    assert 'data-testid="completeness-matrix"' not in body
    assert three[0].study_id not in body


def test_a_site_outside_the_viewers_sites_is_not_found(client, make_user, login, site02):
    login(make_user(Role.INVESTIGATOR))
    assert client.get("/dashboards/?site=02").status_code == 404


def test_plots_have_a_title_a_description_and_labelled_axes():
    picture = svg.trend_plot(
        title="CRP <by day>",
        x_label="Study day",
        y_label="CRP (mg/L)",
        points=((0, 40.0, 80.0, 140.0, 3), (5, 20.0, 30.0, 60.0, 3)),
        empty_text="none",
        legend_median="Median",
        legend_iqr="IQR",
    )
    assert 'role="img"' in picture
    assert "<title" in picture
    assert "<desc" in picture
    assert "CRP &lt;by day&gt;" in picture
    assert "CRP (mg/L)" in picture
    assert "Study day" in picture
    assert "0: 80 [40–140] n=3" in picture


def test_enrollment_is_counted_by_phase_and_stratum(three, make_user):
    enrollment = selectors.enrollment(selectors.scope_for(make_user(Role.SPONSOR)))
    assert enrollment.by_phase_stratum == {("I", "A"): 2, ("I", "B"): 1}
    phase_one = enrollment.targets()[0]
    assert (phase_one["count"], phase_one["target"]) == (3, 12)
    assert [(s["count"], s["target"]) for s in phase_one["strata"]] == [(2, 6), (1, 6)]
    assert enrollment.randomized == 3


def test_the_enrollment_plot_dates_its_axis_in_the_readers_calendar():
    from datetime import date

    from dashboards import svg

    arguments = dict(
        title="Enrollment",
        x_label="Date",
        y_label="n",
        series=(("Enrolled", ((date(2021, 3, 5), 1), (date(2021, 3, 21), 2))),),
        targets=(("Target", 72),),
        empty_text="none",
    )
    gregorian = svg.cumulative_plot(**arguments)
    jalali = svg.cumulative_plot(**arguments, day_format=("jalali", True))
    assert ">2021-03-05</text>" in gregorian
    # 2021-03-05 = 1399/12/15 and Nowruz 1400 = 2021-03-21 (registry record), Persian digits.
    assert ">۱۳۹۹/۱۲/۱۵</text>" in jalali
    assert ">۱۴۰۰/۰۱/۰۱</text>" in jalali
