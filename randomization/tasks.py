"""Celery tasks of the randomization app: thin wrappers that call the services."""

from __future__ import annotations

import logging

from celery import shared_task

from .allocation import lists_verified

logger = logging.getLogger(__name__)


@shared_task(name="randomization.lists_verify")
def lists_verify_task() -> int:
    """The periodic check of every stored list (slots are immutable by trigger and the slot an
    assignment takes is checked against its seal; this re-hashes every list): an ERROR log line
    per list that does not match (the error log reaches the administrators). Returns how many
    lists failed."""
    failed = [item for item in lists_verified() if item.problem]
    for item in failed:
        logger.error("randomization list %s/%s: %s", item.phase, item.stratum, item.problem)
    return len(failed)
