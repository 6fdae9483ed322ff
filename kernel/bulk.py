"""Bulk inserts for the large demo trial (`load_demo --participants 10000`, the benchmarks).

The small demo goes through the services, one record and one transaction at a time; at network
scale (thousands of participants) that takes hours. The bulk path writes the same tables with
multi-row INSERTs, and writes each record's first audit-trail row ("+", who, when, reason) in
bulk too, so the history page and the audit export look the same as for data entered by hand
(docs/decisions/0014-bulk-demo-and-benchmarks.md). Never used by a page or a service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Model
from django.utils import timezone

BATCH_SIZE = 2000


def insert_with_history(
    model: type[Model],
    objs: Iterable[Model],
    *,
    user,
    reason: str,
    when: datetime | None = None,
) -> list[Model]:
    """bulk_create `objs`, then their "+" history rows (if the model keeps a history)."""
    created = model.objects.bulk_create(list(objs), batch_size=BATCH_SIZE)
    history = getattr(model, "history", None)
    if history is not None and created:
        history.bulk_history_create(
            created,
            batch_size=BATCH_SIZE,
            default_user=user,
            default_change_reason=reason,
            default_date=when or timezone.now(),
        )
    return created


def update_with_history(
    model: type[Model],
    objs: list[Model],
    fields: list[str],
    *,
    user,
    reason: str,
    when: datetime | None = None,
) -> None:
    """bulk_update `fields` of `objs`, then their "~" history rows with the reason."""
    model.objects.bulk_update(objs, fields, batch_size=BATCH_SIZE)
    history = getattr(model, "history", None)
    if history is not None and objs:
        history.bulk_history_create(
            objs,
            batch_size=BATCH_SIZE,
            update=True,
            default_user=user,
            default_change_reason=reason,
            default_date=when or timezone.now(),
        )
