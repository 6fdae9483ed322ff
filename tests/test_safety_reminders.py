"""Reminders (SPEC §5, §7): SAE follow-up after 24 h, SUSAR clocks at 2 and 1 days left, and
the daily visit digest per site. Time is moved with time-machine."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from kernel import concurrency
from kernel.models import Alert
from kernel.roles import Role
from safety import reminders, services

from .factories import ParticipantFactory
from .safety_factories import report_sae, report_susar

pytestmark = pytest.mark.django_db

START = datetime(2021, 4, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def coordinator(make_user):
    user = make_user(Role.COORDINATOR)
    user.email = "coordinator01@example.org"
    user.save()
    return user


@pytest.fixture
def participant(site01):
    return ParticipantFactory(site=site01)


def _reminders(kind):
    return Alert.objects.filter(kind=kind).order_by("pk")


def test_an_sae_without_follow_up_for_24_hours_is_reminded_once(coordinator, participant):
    with time_machine.travel(START, tick=False):
        ae = report_sae(participant, coordinator, aware_at=START - timedelta(hours=1))
    with time_machine.travel(START + timedelta(hours=23), tick=False):
        assert reminders.reminders_send()["follow_up_due"] == 0
    with time_machine.travel(START + timedelta(hours=24, minutes=1), tick=False):
        assert reminders.reminders_send()["follow_up_due"] == 1
        assert reminders.reminders_send()["follow_up_due"] == 0  # once per occasion
    alert = _reminders("sae_follow_up_due").get()
    assert alert.recipients == ["coordinator01@example.org"]
    assert "no follow-up for 24 hours" in alert.subject
    assert f"/safety/ae/{ae.pk}/follow-up/" in alert.body

    with time_machine.travel(START + timedelta(hours=26), tick=False):
        services.sae_follow_up_submit(
            ae=ae,
            user=coordinator,
            narrative="Still ventilated",
            values={},
            final=False,
            opened_version=concurrency.version_of(ae),
        )
    with time_machine.travel(START + timedelta(hours=49), tick=False):
        assert reminders.reminders_send()["follow_up_due"] == 0
    with time_machine.travel(START + timedelta(hours=50, minutes=1), tick=False):
        assert reminders.reminders_send()["follow_up_due"] == 1
    assert _reminders("sae_follow_up_due").count() == 2


def test_a_resolved_sae_is_not_reminded(coordinator, participant):
    with time_machine.travel(START, tick=False):
        ae = report_sae(participant, coordinator, aware_at=START - timedelta(hours=1))
        services.sae_follow_up_submit(
            ae=ae,
            user=coordinator,
            narrative="Recovered",
            values={"outcome": "recovered", "ongoing": False, "end_date": START.date()},
            final=True,
            opened_version=concurrency.version_of(ae),
        )
    with time_machine.travel(START + timedelta(days=3), tick=False):
        assert reminders.reminders_send()["follow_up_due"] == 0


def test_a_susar_clock_reminds_at_2_days_and_at_1_day_left(coordinator, participant):
    with time_machine.travel(START, tick=False):
        ae = report_susar(
            participant,
            coordinator,
            onset_date=START.date() - timedelta(days=1),
            aware_at=START,
        )
    deadline = START + timedelta(days=7)
    assert ae.susar_deadline == deadline
    with time_machine.travel(deadline - timedelta(days=2, hours=1), tick=False):
        assert reminders.reminders_send()["susar_clock"] == 0
    with time_machine.travel(deadline - timedelta(days=1, hours=23), tick=False):
        assert reminders.reminders_send()["susar_clock"] == 1
        assert reminders.reminders_send()["susar_clock"] == 0
    with time_machine.travel(deadline - timedelta(hours=23), tick=False):
        assert reminders.reminders_send()["susar_clock"] == 1
    subjects = [a.subject for a in _reminders("susar_clock")]
    assert "2 day(s) left" in subjects[0]
    assert "1 day(s) left" in subjects[1]


def test_a_reported_susar_is_not_reminded(coordinator, participant, make_user):
    # Issue 19: the safety physician unblinds the case (here made directly, the participant is
    # not randomized) and records the expedited report; nobody is reminded after that.
    from safety.models import SusarCase, SusarOutcome

    physician = make_user(Role.SAFETY_PHYSICIAN)
    with time_machine.travel(START, tick=False):
        ae = report_susar(
            participant, coordinator, onset_date=START.date() - timedelta(days=1), aware_at=START
        )
        SusarCase.objects.create(
            adverse_event=ae,
            outcome=SusarOutcome.REPORTABLE,
            assessed_at=START,
            assessed_by=physician,
            second_factor="app",
            expedited_report_submitted_at=START,
            expedited_report_reference="EC-1",
            completion_report_submitted_at=START,
            completion_report_reference="EC-1b",
        )
    with time_machine.travel(START + timedelta(days=6, hours=12), tick=False):
        assert reminders.reminders_send()["susar_clock"] == 0


def _visit(study_id, visit, day):
    target = date(2021, 4, day)
    return {
        "study_id": study_id,
        "visit": visit,
        "target_date": target,
        "window_start": target - timedelta(days=1),
        "window_end": target + timedelta(days=1),
    }


def test_the_daily_digest_goes_to_each_sites_coordinators_with_its_own_visits(
    monkeypatch,
    settings,
    django_capture_on_commit_callbacks,
    coordinator,
    make_user,
    site01,
    site02,
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    other = make_user(Role.COORDINATOR, sites=[site02], username="coordinator2")
    other.email = "coordinator02@example.org"
    other.save()
    monitor = make_user(Role.MONITOR)
    monitor.email = "monitor@example.org"  # not a coordinator: no digest
    monitor.save()
    by_site = {
        "01": {
            "opening_tomorrow": [_visit("01-0001", "D7", 11)],
            "due_today": [_visit("01-0002", "D3", 10)],
            "overdue": [_visit("01-0003", "D14", 7)],
        },
        "02": {"opening_tomorrow": [], "due_today": [_visit("02-0001", "D1", 10)], "overdue": []},
    }
    seen = []

    def fake_digest(*, site, today):
        seen.append((site.code, today))
        return by_site.get(site.code, {"opening_tomorrow": [], "due_today": [], "overdue": []})

    monkeypatch.setattr(reminders, "visit_digest", fake_digest)
    mail.outbox = []
    # 06:30 in Tehran is 03:00 UTC: "today" is the site's date.
    with (
        time_machine.travel(datetime(2021, 4, 10, 3, 0, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert reminders.visit_digests_send() == {"digests": 2}
        assert reminders.visit_digests_send() == {"digests": 0}  # once a day
    assert ("01", date(2021, 4, 10)) in seen

    site01_mail = next(m for m in mail.outbox if "Site 01" in m.subject)
    site02_mail = next(m for m in mail.outbox if "Site 02" in m.subject)
    assert site01_mail.to == ["coordinator01@example.org"]
    assert site02_mail.to == ["coordinator02@example.org"]
    body = site01_mail.body
    opening, due, overdue = (
        body.index("Opening tomorrow"),
        body.index("Due today"),
        body.index("Overdue"),
    )
    assert opening < body.index("01-0001 D7") < due
    assert due < body.index("01-0002 D3") < overdue
    assert overdue < body.index("01-0003 D14")
    assert "02-0001" not in body
    assert "02-0001 D1" in site02_mail.body
    assert "01-000" not in site02_mail.body


def test_a_site_with_nothing_due_gets_no_digest(coordinator):
    # The outcomes app's stub returns empty lists until the visit schedule exists.
    assert reminders.visit_digests_send() == {"digests": 0}
    assert not Alert.objects.exists()


def test_the_migration_puts_the_schedules_in_django_celery_beat_and_keeps_admin_edits():
    from importlib import import_module

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    migration = import_module("safety.migrations.0002_periodic_tasks")
    # (A transactional test elsewhere may have flushed the rows the migration made.)
    migration.create(apps, None)
    tasks = dict(PeriodicTask.objects.values_list("task", "enabled"))
    assert tasks["safety.alerts_sweep"] is True
    assert tasks["safety.reminders_send"] is True
    assert tasks["safety.visit_digests_send"] is True
    digest = PeriodicTask.objects.get(task="safety.visit_digests_send")
    assert str(digest.crontab.timezone) == "Asia/Tehran"

    # Edited in the admin (no deploy): a later migrate leaves the edit alone.
    digest.enabled = False
    digest.save()
    migration.create(apps, None)
    assert PeriodicTask.objects.filter(task="safety.visit_digests_send").count() == 1
    assert PeriodicTask.objects.get(task="safety.visit_digests_send").enabled is False


def test_the_sweep_command_runs_the_schedules_in_process(
    settings, django_capture_on_commit_callbacks, coordinator, participant
):
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "tests.safety_mail.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        report_sae(participant, coordinator)
    assert Alert.objects.get().sent_at is None  # the mail server was down

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        call_command("run_schedules")
        call_command("run_schedules")
    assert len(mail.outbox) == 1
    assert Alert.objects.get().sent_at is not None
