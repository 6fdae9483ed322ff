"""Celery tasks of the data-management app: thin wrappers that call a service.

The safety app's daily job (SPEC §7) calls `raise_missing_crf_queries` after its visit digest.
"""

from celery import shared_task

from . import services


@shared_task(name="datamanagement.raise_missing_crf_queries")
def raise_missing_crf_queries() -> int:
    """Raise one query per CRF missing after its visit window closed (idempotent)."""
    return services.missing_crf_queries_raise()
