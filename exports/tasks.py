"""Celery tasks of the exports app: thin wrappers that take IDs and call the services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="exports.build", acks_late=True)
def export_build_task(*, run_id: int) -> str:
    run = services.export_run_build(run_id=run_id)
    return run.status


@shared_task(name="exports.sweep")
def exports_sweep_task() -> dict:
    return services.exports_sweep()
