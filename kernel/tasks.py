"""Celery tasks of the kernel: thin wrappers that call the services."""

from __future__ import annotations

from celery import shared_task

from . import alerts, services


@shared_task(name="trialedc.heartbeat")
def heartbeat_task() -> None:
    services.worker_heartbeat_record()


# The outbox's tasks keep the names they had in the safety app: django-celery-beat's schedules
# and queued messages name them so (decision 0019).
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
