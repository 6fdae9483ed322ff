"""Celery tasks of the kernel: thin wrappers that call the services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="trialedc.heartbeat")
def heartbeat_task() -> None:
    services.worker_heartbeat_record()
