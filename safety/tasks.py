"""Celery tasks of the safety app: thin wrappers that take IDs and call the services.

Schedules (django-celery-beat, editable in the admin) are created by migration
0002_periodic_tasks: the alert sweep, the reminder sweep and the daily visit digest.
"""

from __future__ import annotations

from celery import shared_task

from . import alerts, reminders


@shared_task(bind=True, name="safety.alert_deliver", max_retries=8, acks_late=True)
def alert_deliver_task(self, *, alert_id: int) -> bool:
    delivered = alerts.alert_deliver(alert_id=alert_id)
    if not delivered and not self.request.is_eager:
        # Backoff from the attempts already recorded on the row; after max_retries the
        # periodic sweep keeps trying, so nothing is dropped.
        attempts = self.request.retries + 1
        raise self.retry(countdown=alerts.retry_delay(attempts).total_seconds())
    return delivered


@shared_task(name="safety.alerts_sweep")
def alerts_sweep_task() -> dict:
    return alerts.alerts_sweep()


@shared_task(name="safety.reminders_send")
def reminders_send_task() -> dict:
    return reminders.reminders_send()


@shared_task(name="safety.visit_digests_send")
def visit_digests_send_task() -> dict:
    return reminders.visit_digests_send()
