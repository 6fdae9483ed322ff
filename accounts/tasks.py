"""Celery tasks of sign-in security: thin wrappers that call the services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="trialedc.sessions_sweep")
def sessions_sweep_task() -> dict:
    return services.sessions_sweep()
