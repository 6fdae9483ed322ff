"""Celery tasks of the dashboards app: thin wrappers that take IDs and call the services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="dashboards.build_report", acks_late=True)
def report_build_task(*, report_id: int) -> str:
    return services.report_build(report_id=report_id).status


@shared_task(name="dashboards.reports_sweep")
def reports_sweep_task() -> dict:
    return services.reports_sweep()
