"""Alerts that must never be lost (SAE, SUSAR, emergency unblinding): the transactional outbox.

Contract for every app: call `alert_enqueue(...)` *inside* the transaction that writes the event.

1. `alert_enqueue` writes an `Alert` row in the caller's transaction: if the event commits, so
   does its alert; if it rolls back, no alert exists for an event that never happened.
2. After commit, `alert_dispatch` publishes a Celery task for the row. If the broker is down the
   publish fails quietly: the row is still pending.
3. `alert_deliver` sends the e-mail holding a row lock on the alert, and marks it sent in the
   same transaction, so two workers (a retry and the sweep) never send one alert twice. A failed
   send is recorded (attempts, last error) and retried with exponential backoff.
4. `alerts_sweep` (django-celery-beat, every few minutes) delivers every pending alert that is
   due, so an alert written while the broker or the mail server was down goes out when they
   are back.

The one gap left is the classic outbox seam: if the mail server accepts a message and the
database then fails before the commit, that alert is sent again later (at-least-once at the
seam, exactly-once otherwise). docs/safety.md explains why that is the right side to err on.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Alert
from .trial import TRIAL

logger = logging.getLogger(__name__)


def alert_enqueue(
    *, kind: str, subject: str, body: str, recipients: list[str], participant=None
) -> Alert:
    """Queue an alert e-mail. Never put the arm or identifying data in subject or body."""
    alert = alert_create(
        kind=kind, subject=subject, body=body, recipients=recipients, participant=participant
    )
    assert alert is not None  # no dedupe key: always created
    return alert


def alert_create(
    *,
    kind: str,
    subject: str,
    body: str,
    recipients: list[str],
    participant=None,
    adverse_event=None,
    dedupe_key: str | None = None,
) -> Alert | None:
    """Write the outbox row in the current transaction; None if `dedupe_key` already exists."""
    fields = {
        "kind": kind,
        "subject": subject[:250],
        "body": body,
        "recipients": sorted({r.strip() for r in recipients if r and r.strip()}),
        "participant": participant,
        "adverse_event": adverse_event,
    }
    if dedupe_key is None:
        alert = Alert.objects.create(**fields)
    else:
        try:
            # A savepoint, so that a concurrent sweep's duplicate leaves the caller's
            # transaction usable.
            with transaction.atomic():
                alert, created = Alert.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
        except IntegrityError:
            return None
        if not created:
            return None
    transaction.on_commit(partial(alert_dispatch, alert_id=alert.pk), robust=True)
    return alert


def alert_dispatch(*, alert_id: int) -> None:
    """Hand the alert to a Celery worker; if the broker is unreachable, leave it to the sweep."""
    from .broker import BrokerUnavailable, task_publish
    from .tasks import alert_deliver_task

    try:
        # One try with a short timeout: a dead broker costs the saving user milliseconds.
        task_publish(alert_deliver_task, alert_id=alert_id)
    except BrokerUnavailable:
        logger.warning("alert %s not handed to the broker; the sweep will send it", alert_id)
    except Exception:  # noqa: BLE001 - without a broker it ran here; the row is safe either way
        logger.exception("alert %s not delivered now; the sweep will send it", alert_id)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after the n-th failure, at most alert_retry_max_seconds."""
    seconds = TRIAL.alert_retry_base_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, TRIAL.alert_retry_max_seconds))


def alert_deliver(*, alert_id: int) -> bool:
    """Send one pending alert, exactly once. True if it is sent (now or before)."""
    with transaction.atomic():
        # skip_locked: if another worker is sending this alert right now, leave it to them.
        alert = (
            Alert.objects.select_for_update(skip_locked=True)
            .filter(pk=alert_id, sent_at__isnull=True)
            .first()
        )
        if alert is None:
            return Alert.objects.filter(pk=alert_id, sent_at__isnull=False).exists()
        now = timezone.now()
        alert.attempts += 1
        alert.last_attempt_at = now
        try:
            EmailMessage(subject=alert.subject, body=alert.body, to=alert.recipients).send(
                fail_silently=False
            )
        except Exception as error:  # any mail failure is recorded and retried, never lost
            alert.last_error = f"{type(error).__name__}: {error}"[:2000]
            alert.next_attempt_at = now + retry_delay(alert.attempts)
            alert.save(
                update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at"]
            )
            logger.warning(
                "alert %s not delivered (attempt %s): %s", alert.pk, alert.attempts, error
            )
            return False
        alert.sent_at = now
        alert.save(update_fields=["attempts", "last_attempt_at", "sent_at"])
    return True


def alerts_due(*, now=None) -> list[int]:
    now = now or timezone.now()
    return list(
        Alert.objects.filter(sent_at__isnull=True, next_attempt_at__lte=now)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


def alerts_sweep() -> dict[str, int]:
    """Deliver every pending alert that is due; the periodic safety net."""
    sent = failed = 0
    for alert_id in alerts_due():
        if alert_deliver(alert_id=alert_id):
            sent += 1
        else:
            failed += 1
    return {"sent": sent, "failed": failed}
