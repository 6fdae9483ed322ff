"""Alerts that are never lost (SPEC §5): the transactional outbox against a real Redis broker.

The broker-down test points Celery at a dead port, saves 50 SAEs, then brings the broker back
(the real Redis, DB 7), starts a real worker and races sweeps and deliveries: every alert must go
out exactly once. The mail-down test does the same with an SMTP server that refuses.
"""

import os
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from kernel import alerts
from kernel.alerts import alert_dispatch, alert_enqueue
from kernel.models import Alert
from kernel.roles import Role
from kernel.tasks import alert_deliver_task, alerts_sweep_task
from safety.models import AdverseEvent
from trialedc.celery import app

from .celery_worker import worker_running
from .factories import ParticipantFactory
from .safety_factories import report_sae

LIVE_BROKER = os.environ.get("EDC_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
DEAD_BROKER = "redis://127.0.0.1:6390/7"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
FAILING = "tests.safety_mail.FailingBackend"


@pytest.fixture
def live_redis():
    client = redis.Redis.from_url(LIVE_BROKER)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"the outbox tests need Redis at {LIVE_BROKER}")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def coordinator(make_user):
    return make_user(Role.COORDINATOR)


def _fifty_saes(site, user) -> None:
    participants = [ParticipantFactory(site=site) for _ in range(5)]
    for i in range(50):
        report_sae(participants[i % 5], user)


def _wait_until(condition, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_50_saes_saved_while_the_broker_is_down_are_each_delivered_once_when_it_is_back(
    transactional_db, settings, broker, live_redis, site01, coordinator
):
    settings.EMAIL_BACKEND = LOCMEM
    mail.outbox = []
    broker(DEAD_BROKER)

    started = time.monotonic()
    _fifty_saes(site01, coordinator)
    # A dead broker costs the saving user no noticeable time (no client-side retry loop).
    assert time.monotonic() - started < 30

    assert AdverseEvent.objects.filter(serious=True).count() == 50
    assert Alert.objects.count() == 50
    assert Alert.objects.filter(sent_at__isnull=False).count() == 0
    assert mail.outbox == []

    broker(LIVE_BROKER)
    with worker_running(
        app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30
    ):
        # The sweep three times at once, and a delivery task per alert on top: all racing.
        with app.connection_for_write() as connection:
            for _ in range(3):
                alerts_sweep_task.apply_async(connection=connection)
        for alert_id in Alert.objects.values_list("pk", flat=True):
            alert_dispatch(alert_id=alert_id)
        _wait_until(lambda: not Alert.objects.filter(sent_at__isnull=True).exists())
        _wait_until(lambda: live_redis.llen("celery") == 0)
        time.sleep(1)  # let in-flight tasks finish: a duplicate would show up now

    assert Alert.objects.filter(sent_at__isnull=True).count() == 0
    assert len(mail.outbox) == 50
    subjects = Counter(message.subject for message in mail.outbox)
    assert set(subjects.values()) == {1}
    assert set(Alert.objects.values_list("attempts", flat=True)) == {1}


def test_50_saes_saved_while_the_mail_server_is_down_are_each_delivered_once_when_it_is_back(
    transactional_db, settings, site01, coordinator
):
    settings.EMAIL_BACKEND = FAILING
    _fifty_saes(site01, coordinator)

    assert Alert.objects.count() == 50
    assert Alert.objects.filter(sent_at__isnull=False).count() == 0
    for alert in Alert.objects.all():
        assert alert.attempts == 1
        assert "SMTPServerDisconnected" in alert.last_error
        assert alert.next_attempt_at > alert.last_attempt_at  # backoff

    # Still down at the next sweep: recorded again, nothing lost, nothing sent.
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert alerts.alerts_sweep() == {"sent": 0, "failed": 50}
    assert set(Alert.objects.values_list("attempts", flat=True)) == {2}

    settings.EMAIL_BACKEND = LOCMEM
    mail.outbox = []
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assert alerts.alerts_sweep() == {"sent": 50, "failed": 0}
        assert alerts.alerts_sweep() == {"sent": 0, "failed": 0}
    assert len(mail.outbox) == 50
    assert set(Counter(m.subject for m in mail.outbox).values()) == {1}
    assert not Alert.objects.filter(sent_at__isnull=True).exists()
    assert set(Alert.objects.values_list("attempts", flat=True)) == {3}


def test_an_sae_rolled_back_leaves_no_alert(transactional_db, settings, site01, coordinator):
    settings.EMAIL_BACKEND = LOCMEM
    participant = ParticipantFactory(site=site01)
    seen_inside = []

    def save_then_fail():
        with transaction.atomic():
            report_sae(participant, coordinator)
            seen_inside.append(Alert.objects.count())  # written in the SAE's transaction
            raise RuntimeError("the save fails after the alert row was written")

    with pytest.raises(RuntimeError):
        save_then_fail()
    assert seen_inside == [1]
    assert AdverseEvent.objects.count() == 0
    assert Alert.objects.count() == 0


def test_the_alert_is_sent_only_after_the_sae_commits(
    transactional_db, settings, site01, coordinator
):
    settings.EMAIL_BACKEND = LOCMEM
    mail.outbox = []
    participant = ParticipantFactory(site=site01)
    with transaction.atomic():
        report_sae(participant, coordinator)
        assert mail.outbox == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "SAE 01-" in message.subject
    assert "safety@sponsor.example.org" in message.to
    assert "medical.monitor@example.org" in message.to
    assert Alert.objects.get().sent_at is not None


def test_delivering_an_alert_twice_sends_it_once(transactional_db, settings):
    settings.EMAIL_BACKEND = LOCMEM
    mail.outbox = []
    with transaction.atomic():
        alert = alert_enqueue(
            kind="emergency_unblinding", subject="S", body="B", recipients=["a@example.org"]
        )
    assert alerts.alert_deliver(alert_id=alert.pk) is True  # already sent after commit: no-op
    assert alert_deliver_task.apply(kwargs={"alert_id": alert.pk}).get() is True
    assert len(mail.outbox) == 1
    alert.refresh_from_db()
    assert alert.attempts == 1


def test_retry_delay_backs_off_exponentially_up_to_a_cap():
    assert [alerts.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [
        60,
        120,
        240,
        480,
        900,
        900,
    ]
