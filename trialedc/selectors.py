"""Reads of the trialedc app shared by pages and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.db.models import QuerySet
from django.utils import timezone

from .models import SecurityEvent


@dataclass(frozen=True)
class SecurityFilters:
    kind: str = ""
    username: str = ""
    ip_address: str = ""
    date_from: date | None = None
    date_to: date | None = None


def security_events(filters: SecurityFilters = SecurityFilters()) -> QuerySet[SecurityEvent]:  # noqa: B008
    """The security log, newest first, filtered; dates are whole days in UTC."""
    events = SecurityEvent.objects.select_related("user", "actor")
    if filters.kind:
        events = events.filter(kind=filters.kind)
    if filters.username:
        events = events.filter(username__iexact=filters.username)
    if filters.ip_address:
        events = events.filter(ip_address=filters.ip_address)
    if filters.date_from:
        events = events.filter(at__gte=datetime.combine(filters.date_from, time.min, UTC))
    if filters.date_to:
        events = events.filter(at__lte=datetime.combine(filters.date_to, time.max, UTC))
    return events


def user_sessions_of(user):
    """The user's sessions that are still alive (not expired, not signed out), newest use first."""
    from django.contrib.sessions.models import Session

    from .models import UserSession

    alive = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return UserSession.objects.filter(user=user, session_key__in=alive)
