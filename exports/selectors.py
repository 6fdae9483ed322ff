"""Reads of the exports app."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import ExportRun


def export_runs() -> QuerySet[ExportRun]:
    """Every export run, newest first: the export log the data manager reviews."""
    return ExportRun.objects.select_related("release", "requested_by")


def export_run(pk: int) -> ExportRun:
    return export_runs().get(pk=pk)
