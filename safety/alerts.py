"""Alerts that must never be lost (SAE, SUSAR, emergency unblinding): the one entry point.

Contract for every app: call `alert_enqueue(...)` *inside* the transaction that writes the event.
Issue 7 replaces the body with a transactional outbox (a row written in the same transaction,
delivered by a Celery task that retries, and re-sent by a periodic sweep). Until then the mail
is sent after commit, which is not yet durable.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction


def alert_enqueue(
    *, kind: str, subject: str, body: str, recipients: list[str], participant=None
) -> None:
    """Queue an alert e-mail. Never put the arm or identifying data in subject or body."""
    transaction.on_commit(lambda: send_mail(subject, body, None, recipients, fail_silently=False))
