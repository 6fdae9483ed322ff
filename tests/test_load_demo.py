from datetime import timedelta

import pytest
from django.core.management import call_command

from kernel.models import Site, User
from kernel.roles import Role
from participants.models import IdentifyingData, Participant, Screening

pytestmark = pytest.mark.django_db

EXPECTED = {
    "coordinator": (Role.COORDINATOR, ["01"]),
    "investigator": (Role.INVESTIGATOR, ["01"]),
    "pharmacist": (Role.PHARMACIST, ["01"]),
    "monitor": (Role.MONITOR, ["01"]),
    "datamanager": (Role.DATA_MANAGER, ["01"]),
    "statistician": (Role.STATISTICIAN, ["01"]),
    "sponsor": (Role.SPONSOR, ["01"]),
    "coordinator2": (Role.COORDINATOR, ["02"]),
    "investigator2": (Role.INVESTIGATOR, ["02"]),
    # Issue 18: an infusion CRF is completed after the dose's hand-over, by the site's pharmacist.
    "pharmacist2": (Role.PHARMACIST, ["02"]),
    # Issue 19: the sponsor's safety physician, who unblinds one suspected SUSAR at a time.
    "safetyphysician": (Role.SAFETY_PHYSICIAN, ["01"]),
}


def test_it_creates_sites_and_one_user_per_role_and_prints_logins(capsys):
    call_command("load_demo", "--participants", "4", "--password", "pw-for-test-1")
    out = capsys.readouterr().out
    assert sorted(Site.objects.values_list("code", flat=True)) == ["01", "02"]
    for username, (role, sites) in EXPECTED.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role.value]
        assert sorted(user.sites.values_list("code", flat=True)) == sites
        assert user.check_password("pw-for-test-1")
        assert username in out
    assert Participant.objects.count() == 4


def test_it_is_idempotent():
    call_command("load_demo", "--participants", "3")
    screenings = Screening.objects.count()
    call_command("load_demo", "--participants", "3")
    assert User.objects.count() == len(EXPECTED)
    assert Participant.objects.count() == 3
    # Screen failures come on top of the enrolled (issue 4): one identity per screening.
    assert Screening.objects.count() == screenings
    assert IdentifyingData.objects.count() == screenings
    assert Site.objects.count() == 2


def test_demo_participants_have_valid_study_ids_and_a_history():
    call_command("load_demo", "--participants", "5")
    for p in Participant.objects.all():
        assert p.study_id.startswith(p.site.code + "-")
        # Registered once; a randomized demo participant has one more, reasoned, status change.
        history = list(p.history.order_by("history_date", "pk"))
        assert history[0].history_type == "+"
        assert all(h.history_change_reason for h in history)
        # enrolled; then randomized; then died, for the demo courses that end in death.
        assert len(history) == {"randomized": 2, "died": 3}.get(p.status, 1)
    _every_screening_has_its_vital_signs()


def _every_screening_has_its_vital_signs():
    """Issue 19: the demo records the vital signs at screening of every screening (through the
    service's checks: within every usual range, so none asked for a confirmation)."""
    from kernel.limits import vital_sign_warnings
    from participants.models import ScreeningVitalSigns

    assert ScreeningVitalSigns.objects.count() == Screening.objects.count()
    for record in ScreeningVitalSigns.objects.select_related("screening"):
        assert record.measured_on == record.screening.screened_on
        assert not vital_sign_warnings(
            {f.name: getattr(record, f.name) for f in record._meta.fields}
        )
        assert record.history.filter(history_type="+").count() == 1


def test_the_bulk_path_writes_a_whole_trial_with_its_audit_rows():
    # The path of `load_demo --participants 10000` (issue 13), here on 40 participants.
    from outcomes.models import CRF_MODELS, Visit
    from randomization.models import Randomization, Slot
    from safety.models import AdverseEvent

    call_command("load_demo", "--participants", "40", "--bulk")
    assert Participant.objects.count() == 40
    # Screen failures and refusals come on top, each with its reason and identity.
    assert Screening.objects.count() > 40
    assert IdentifyingData.objects.count() == Screening.objects.count()
    assert (
        Screening.objects.exclude(not_enrolled_reason="").count() == Screening.objects.count() - 40
    )
    for p in Participant.objects.all():
        assert p.status == "randomized"
        history = list(p.history.order_by("history_date", "pk"))
        assert [h.history_type for h in history] == ["+", "~"]
        assert history[1].history_change_reason == "Randomized"
        assert history[0].history_user == p.enrolled_by
    # Each slot used once, in order within its list: the used sequences are 1..n.
    for list_id in Slot.objects.values_list("randomization_list", flat=True).distinct():
        used = sorted(
            Randomization.objects.filter(slot__randomization_list=list_id).values_list(
                "slot__sequence", flat=True
            )
        )
        assert used == list(range(1, len(used) + 1))
    assert Visit.objects.count() == 40 * 12
    assert Visit.history.filter(history_type="+").count() == Visit.objects.count()
    murray = CRF_MODELS["murray"].objects.exclude(score=None)
    assert murray.exists()
    assert all(m.history.count() == 1 for m in murray[:5])
    assert AdverseEvent.objects.exists()
    _every_screening_has_its_vital_signs()
    _bulk_follow_up_is_consistent()
    # Idempotent, like the service path; and the services can go on numbering after it.
    call_command("load_demo", "--participants", "40", "--bulk")
    assert Participant.objects.count() == 40
    call_command("load_demo", "--participants", "41", "--no-bulk")
    assert Participant.objects.count() == 41


def _bulk_follow_up_is_consistent():
    """Issue 18 in the bulk demo: daily statuses on the expected days without a visit status,
    the ending event and disposition of each participant whose follow-up ended early, and the
    censoring the endpoints derive from them."""
    from outcomes import demo, followup, selectors
    from outcomes.models import DailyStatus, Disposition, EventKind, StudyEvent, VisitState

    assert DailyStatus.objects.exists()
    assert DailyStatus.history.filter(history_type="+").count() == DailyStatus.objects.count()
    ended = 0
    for p in Participant.objects.all():
        day0 = selectors.day0_of(p)
        page = selectors.daily_rows(p, today=selectors.site_today(p.site))
        recorded = set(p.daily_statuses.values_list("day", flat=True))
        # Every expected day up to yesterday has its status, from the daily page or a visit.
        for row in page["rows"]:
            if row.expected and row.day < page["today_day"]:
                assert row.day in recorded or row.visit_status is not None, (p, row.day)
            if row.day in recorded:
                assert row.expected, (p, row.day)
        course = demo.bulk_course(p.study_id)
        disposition = Disposition.objects.filter(participant=p).first()
        if course in demo.BULK_END_DAY and disposition is not None:
            ended += 1
            end_day = demo.BULK_END_DAY[course]
            kind = EventKind.WITHDRAWAL if course == "withdrawal" else EventKind.LOST_TO_FOLLOW_UP
            event = StudyEvent.objects.get(participant=p, kind=kind)
            assert event.occurred_on == disposition.last_contact_on == day0 + timedelta(end_day)
            assert disposition.vital_status_d60 == "unknown"
            assert max(recorded) <= end_day
            # No visit done after the end of follow-up.
            assert not p.visits.filter(day__gte=end_day, state=VisitState.DONE).exists()
            endpoints = selectors.participant_endpoints(p, today=selectors.site_today(p.site))
            assert endpoints["last_contact_day"] == end_day
            # Status 5, then 4 from day 7: never 2 points better, so censored at the last contact.
            assert (endpoints["ttic"]["day"], endpoints["ttic"]["event"]) == (end_day, False)
            assert endpoints["ttic_censored_at_last_contact"]
            assert endpoints["icu_free_days"]["value"] is None
        elif disposition is not None:
            assert disposition.outcome == "completed"
            assert p.visits.get(code="D60").state == VisitState.DONE
        else:
            assert not p.visits.filter(code="D60", state=VisitState.DONE).exists()
            assert not StudyEvent.objects.filter(participant=p).exists()
    assert followup.VITAL_DAYS  # the rules the dispositions were checked against
    assert ended, "no bulk participant's follow-up ended early"


def test_the_demo_shows_a_withdrawn_a_lost_and_a_dead_participant_censored(tmp_path):
    # Issue 18: the export and the dashboards show censoring. The default demo (8
    # participants) has one withdrawn (day 8) and one lost (day 6), each with its disposition,
    # TTIC censored at the last contact and ICU-free days unknown; and one who died (0 days).
    from django.utils import timezone

    from outcomes import selectors
    from outcomes.models import DailyStatus, Disposition

    call_command("load_demo", "--participants", "8")
    outcomes = dict(Disposition.objects.values_list("outcome", "participant"))
    assert {"withdrew_consent", "lost_to_follow_up", "died"} <= set(outcomes)
    for outcome, last in (("withdrew_consent", 8), ("lost_to_follow_up", 6)):
        participant = Participant.objects.get(pk=outcomes[outcome])
        endpoints = selectors.participant_endpoints(participant, today=timezone.localdate())
        assert endpoints["last_contact_day"] == last
        if "ttic" in endpoints and not endpoints["ttic"]["event"]:
            assert endpoints["ttic"]["day"] == last
        assert endpoints["icu_free_days"]["value"] is None
    died = Participant.objects.get(pk=outcomes["died"])
    assert (
        selectors.participant_endpoints(died, today=timezone.localdate())["icu_free_days"]["value"]
        == 0
    )
    assert DailyStatus.objects.exists()
