"""End of follow-up and the daily status (issue 18 points 2 and 3; SPEC §10).

Sources: the 6-point ordinal scale and time to clinical improvement ("a two-point reduction in
patients' admission status on a six-point ordinal scale, or live discharge from the hospital,
whichever came first"): Wang Y et al., Lancet 2020;395:1569-78, doi:10.1016/S0140-6736(20)
31022-9. Censoring: SPEC §10 ("TTIC is censored at last contact when follow-up ends early alive;
ICU-free days are unknown (missing) then"). The values below are worked by hand in comments.
"""

from datetime import date, timedelta

import pytest

from datamanagement.models import Query
from datamanagement.services import missing_daily_status_queries_raise
from kernel import calendars
from kernel.roles import Role
from outcomes import followup, selectors, services
from outcomes.exceptions import DailyStatusRefused, HardLimitExceeded
from outcomes.models import DailyStatus, Disposition

from . import outcomes_factories as of
from .page_client import PageClient

pytestmark = pytest.mark.django_db

DAY0 = date(2026, 1, 5)


def at(day):
    return DAY0 + timedelta(days=day)


LATER = DAY0 + timedelta(days=70)


def errors(values, *, death_on=None, today=LATER):
    base = {
        "outcome": "completed",
        "last_contact_on": at(60),
        "vital_status_d28": "alive",
        "vital_status_d28_on": at(28),
        "vital_status_d28_source": "seen",
        "vital_status_d60": "alive",
        "vital_status_d60_on": at(60),
        "vital_status_d60_source": "phone_participant",
    }
    return followup.disposition_errors(
        {**base, **values},
        day0=DAY0,
        today=today,
        death_on=death_on,
        completed_from=at(53),
        show_date=calendars.shown,
    )


# --- the disposition's edit checks (pure) ---------------------------------------------------


def test_a_complete_follow_up_has_no_error():
    assert errors({}) == {}


def test_the_last_contact_cannot_be_before_randomization_or_in_the_future():
    assert (
        "randomization"
        in errors({"outcome": "lost_to_follow_up", "last_contact_on": at(-1)})["last_contact_on"]
    )
    assert (
        "future"
        in errors({"outcome": "lost_to_follow_up", "last_contact_on": at(11)}, today=at(10))[
            "last_contact_on"
        ]
    )


def test_the_last_contact_cannot_be_before_the_latest_assessment():
    # A status recorded on day 7 was a contact: a last contact on day 5 would censor TTIC
    # before data that exist.
    found = followup.disposition_errors(
        {"outcome": "lost_to_follow_up", "last_contact_on": at(5), "vital_status_d28": "unknown",
         "vital_status_d60": "unknown"},
        day0=DAY0, today=at(20), death_on=None, completed_from=at(53),
        show_date=calendars.shown, last_data_on=at(7),
    )  # fmt: skip
    assert list(found) == ["last_contact_on"]
    assert "latest assessment" in found["last_contact_on"]


def test_died_needs_the_death_recorded_and_a_recorded_death_needs_died():
    assert "outcome" in errors({"outcome": "died", "vital_status_d60": "dead"})
    found = errors({"outcome": "lost_to_follow_up", "last_contact_on": at(5)}, death_on=at(9))
    assert "Died" in found["outcome"]


def test_the_last_contact_cannot_be_after_the_death():
    found = errors(
        {
            "outcome": "died",
            "last_contact_on": at(12),
            "vital_status_d28": "dead",
            "vital_status_d28_on": at(10),
            "vital_status_d60": "dead",
            "vital_status_d60_on": at(10),
        },
        death_on=at(10),
    )
    assert list(found) == ["last_contact_on"]


def test_alive_at_day_28_cannot_be_known_before_day_28_nor_after_a_death_by_then():
    assert "vital_status_d28_on" in errors({"vital_status_d28_on": at(20)})
    found = errors({"outcome": "died", "vital_status_d60": "dead"}, death_on=at(20))
    assert "vital_status_d28" in found  # alive at 28, dead on day 20


def test_dead_at_day_28_needs_a_death_by_day_28_and_stays_dead_at_day_60():
    found = errors(
        {"outcome": "died", "last_contact_on": at(40), "vital_status_d28": "dead"},
        death_on=at(40),
    )
    assert "after day 28" in found["vital_status_d28"]
    found = errors(
        {
            "outcome": "died",
            "last_contact_on": at(20),
            "vital_status_d28": "dead",
            "vital_status_d28_on": at(21),
            "vital_status_d60": "unknown",
        },
        death_on=at(20),
    )
    assert found == {"vital_status_d60": "Dead at day 28 is dead at day 60."}


def test_a_known_vital_status_needs_its_date_and_source():
    found = errors({"vital_status_d60_on": None, "vital_status_d60_source": ""})
    assert set(found) == {"vital_status_d60_on", "vital_status_d60_source"}


def test_completed_needs_a_last_contact_in_the_day_60_window():
    # D60's window opens on day 60 - 7 = 53 (kernel.trial); day 40 is an early end.
    assert "last_contact_on" in errors({"last_contact_on": at(40)})


def test_the_last_contact_day_is_given_only_when_follow_up_ended_early_alive():
    for outcome in ("withdrew_consent", "lost_to_follow_up", "investigator_decision"):
        assert followup.last_contact_day(outcome=outcome, last_contact=at(5), day0=DAY0) == 5
    for outcome in ("completed", "died", None):
        assert followup.last_contact_day(outcome=outcome, last_contact=at(5), day0=DAY0) is None


def test_the_expected_and_missing_days():
    # Today is day 10; discharged on day 6: days 1..6 expected; recorded 1, 2, 4; a day is
    # missing a whole day after it: 3, 5, 6 (all before day 10 - 1).
    assert list(followup.expected_days(today_day=10, horizon=28, end_day=6)) == [1, 2, 3, 4, 5, 6]
    assert followup.missing_days(recorded={1, 2, 4}, today_day=10, horizon=28, end_day=6) == [
        3,
        5,
        6,
    ]
    # Today is day 3: day 2 may still be entered all of day 3; day 1 is missing.
    assert followup.missing_days(recorded=set(), today_day=3, horizon=28, end_day=None) == [1]


def test_the_worse_status_counts_where_the_daily_page_and_a_visit_crf_give_the_same_day():
    assert followup.merged_statuses(daily={3: 3, 4: 4}, visits={3: 4, 7: 2}) == {3: 4, 4: 4, 7: 2}


# --- through the services and the pages -----------------------------------------------------


@pytest.fixture
def client():
    return PageClient()


@pytest.fixture
def coordinator(make_user, login):
    user = make_user(Role.COORDINATOR)
    login(user)
    return user


def today(p):
    return selectors.site_today(p.site)


def daily_url(p):
    return f"/outcomes/participants/{p.study_id}/daily-status/"


def disposition_url(p):
    return f"/outcomes/participants/{p.study_id}/disposition/"


def test_the_daily_status_gives_the_day_of_improvement(participant, coordinator):
    # Baseline 5 (invasive ventilation); the D1 visit CRF says 5; the daily page says 3 on
    # day 2: 3 <= 5 - 2, improvement on day 2 (visits alone would see it on day 3 at best).
    of.crf(participant, "D0", "clinical_status", status_score=5)
    of.crf(participant, "D1", "clinical_status", status_score=5)
    services.daily_status_save(
        participant=participant, day=2, status=3, user=coordinator, opened_version=None
    )
    ttic = selectors.participant_endpoints(participant, today=today(participant))["ttic"]
    assert (ttic["day"], ttic["event"]) == (2, True)


def test_save_all_saves_the_good_rows_and_keeps_the_bad_one_as_typed(
    client, coordinator, participant
):
    # Day 3 is today (may be entered); day 4 has not come: refused, its choice kept.
    response = client.post(
        daily_url(participant),
        {"d1": "5", "d2": "4", "d3": "4", "d4": "3", "save_day": "all"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Day 4 has not come yet." in body
    assert dict(
        DailyStatus.objects.filter(participant=participant).values_list("day", "status_score")
    ) == {1: 5, 2: 4, 3: 4}
    row4 = body[body.index('name="d4"') : body.index("</select>", body.index('name="d4"'))]
    assert '<option value="3" selected>' in row4


def test_one_row_saved_alone_keeps_what_was_typed_in_the_others(client, coordinator, participant):
    response = client.post(daily_url(participant), {"d1": "5", "d2": "4", "save_day": "1"})
    assert response.status_code == 200  # day 2 typed, not saved: the page keeps it
    assert list(DailyStatus.objects.filter(participant=participant).values_list("day")) == [(1,)]
    body = response.content.decode()
    row2 = body[body.index('name="d2"') : body.index("</select>", body.index('name="d2"'))]
    assert '<option value="4" selected>' in row2
    response = client.post(daily_url(participant), {"d1": "5", "d2": "4", "save_day": "all"})
    assert response.status_code == 302


def test_a_saved_day_is_corrected_only_with_a_reason(client, coordinator, participant):
    client.post(daily_url(participant), {"d1": "5", "save_day": "all"})
    response = client.post(daily_url(participant), {"d1": "4", "save_day": "1"})
    assert "give the reason" in response.content.decode()
    assert DailyStatus.objects.get(participant=participant, day=1).status_score == 5
    response = client.post(
        daily_url(participant), {"d1": "4", "save_day": "1", "reason": "Chart re-read"}
    )
    assert response.status_code == 302
    row = DailyStatus.objects.get(participant=participant, day=1)
    assert row.status_score == 4
    assert row.history.first().history_change_reason == "Chart re-read"


def test_no_daily_status_after_discharge(participant, coordinator):
    of.event(participant, "hospital_discharge", today(participant) - timedelta(days=2))
    with pytest.raises(DailyStatusRefused, match="after the discharge"):
        services.daily_status_save(
            participant=participant, day=2, status=2, user=coordinator, opened_version=None
        )


def test_missing_days_become_queries_once(participant):
    # Day 0 three days ago: day 1 is missing (a whole day has passed), day 2 not yet.
    assert missing_daily_status_queries_raise() == 1
    assert missing_daily_status_queries_raise() == 0
    query = Query.objects.get(auto_key=f"missing-daily-status:{participant.pk}:1")
    assert "day 1" in query.text


def test_the_disposition_refuses_a_last_contact_before_randomization_and_keeps_the_typing(
    client, coordinator, participant
):
    day0 = selectors.day0_of(participant)
    response = client.post(
        disposition_url(participant),
        {
            "outcome": "lost_to_follow_up",
            "last_contact_on": (day0 - timedelta(days=1)).isoformat(),
            "vital_status_d28": "unknown",
            "vital_status_d60": "unknown",
            "notes": "Telephone number out of service",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "cannot be before randomization" in body
    assert "Telephone number out of service" in body
    assert 'value="lost_to_follow_up" selected' in body
    assert not Disposition.objects.filter(participant=participant).exists()


def test_withdrawn_on_day_2_censors_ttic_there_and_icu_free_days_are_unknown(
    client, coordinator, participant
):
    # Baseline 5, day 1: 5, day 2: 4 (one point only); withdrew on day 2, 2 ICU days.
    # TTIC: (2, False), not (28, False); ICU-free days: unknown, not 60 - 3 = 57.
    day0 = selectors.day0_of(participant)
    of.crf(participant, "D0", "clinical_status", status_score=5)
    of.icu_stay(participant, admitted_on=day0, discharged_on=day0 + timedelta(days=3))
    client.post(daily_url(participant), {"d1": "5", "d2": "4", "save_day": "all"})
    response = client.post(
        disposition_url(participant),
        {
            "outcome": "withdrew_consent",
            "last_contact_on": (day0 + timedelta(days=2)).isoformat(),
            "vital_status_d28": "unknown",
            "vital_status_d60": "unknown",
        },
    )
    assert response.status_code == 302
    endpoints = selectors.participant_endpoints(participant, today=today(participant))
    assert (endpoints["ttic"]["day"], endpoints["ttic"]["event"]) == (2, False)
    assert endpoints["ttic_censored_at_last_contact"]
    assert endpoints["icu_free_days"]["value"] is None
    page = client.get(f"/outcomes/participants/{participant.study_id}/visits/").content.decode()
    assert 'data-testid="censored-last-contact"' in page
    assert 'data-testid="icu-free-unknown"' in page


def test_the_service_refuses_died_without_a_recorded_death(participant, coordinator):
    with pytest.raises(HardLimitExceeded) as refused:
        services.disposition_save(
            participant=participant,
            values={
                "outcome": "died",
                "last_contact_on": today(participant),
                "vital_status_d28": "unknown",
                "vital_status_d60": "unknown",
            },
            user=coordinator,
            opened_version=None,
        )
    assert "outcome" in refused.value.errors
