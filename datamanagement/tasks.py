"""Celery tasks of the data-management app: thin wrappers that call a service.

Scheduled daily by migration 0003_missing_crf_schedule (django-celery-beat), a quarter of an hour
after the safety app's visit digest (SPEC §7).
"""

from celery import shared_task

from . import services


@shared_task(name="datamanagement.raise_missing_crf_queries")
def raise_missing_crf_queries() -> int:
    """Raise one query per CRF missing after its visit window closed (idempotent)."""
    return services.missing_crf_queries_raise()
