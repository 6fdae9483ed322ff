"""Celery tasks of the safety app: thin wrappers that take IDs and call the services.

Schedules (django-celery-beat, editable in the admin) are created by migration
0002_periodic_tasks: the alert sweep (its task is the kernel's now: kernel.tasks), the reminder
sweep and the daily visit digest.
"""

from __future__ import annotations

from celery import shared_task

from . import reminders


@shared_task(name="safety.reminders_send")
def reminders_send_task() -> dict:
    return reminders.reminders_send()


@shared_task(name="safety.visit_digests_send")
def visit_digests_send_task() -> dict:
    return reminders.visit_digests_send()
