"""Reads of sign-in security: the security log, the sessions list, sign-in history."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from kernel.models import SecurityEvent, SecurityEventKind, User

# A name typed at sign-in that is no account's is kept only as this keyed hash (issue 20).
UNKNOWN_NAME_PREFIX = "unknown:"
_UNKNOWN_NAME_SALT = "trialedc.security-log.unknown-username"


def username_logged(typed: str) -> str:
    """The name typed at sign-in as the security log keeps it. An account's name as it is; any
    other text only as an HMAC-SHA256 keyed with SECRET_KEY ("unknown:…"): it may be a password
    typed into the wrong box, which the data manager must not read. The same text gives the same
    hash, so repeated tries with one name are still seen together, and searching the log for the
    name finds them (security_events)."""
    typed = str(typed or "")[:150]
    if not typed:
        return ""
    if User.objects.filter(username=typed).exists():
        return typed
    digest = salted_hmac(_UNKNOWN_NAME_SALT, typed, algorithm="sha256").hexdigest()
    return UNKNOWN_NAME_PREFIX + digest[:32]


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
        events = events.filter(
            Q(username__iexact=filters.username) | Q(username=username_logged(filters.username))
        )
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


# --- sign-in history, for the per-username delay (accounts.ratelimit.sign_in_wait) -----------


def signed_in_from(*, username: str, address: str, since: datetime) -> bool:
    """Whether `username` signed in successfully from `address` since `since`."""
    try:
        ipaddress.ip_address(address)
    except ValueError:  # no address known: never a known one
        return False
    return SecurityEvent.objects.filter(
        kind=SecurityEventKind.SIGN_IN, username=username, ip_address=address, at__gte=since
    ).exists()


def sign_in_failures_by_address(
    *, username: str, since: datetime
) -> dict[str, tuple[int, datetime]]:
    """django-axes' count of wrong passwords for `username` per client address, of the addresses
    with a failure since `since`: {address: (failures, time of the last)}. Axes forgets an address
    when the account signs in there."""
    from axes.models import AccessAttempt

    counts: dict[str, tuple[int, datetime]] = {}
    for address, failures, at in AccessAttempt.objects.filter(
        username=username, attempt_time__gte=since
    ).values_list("ip_address", "failures_since_start", "attempt_time"):
        before, last = counts.get(address or "", (0, at))
        counts[address or ""] = (before + failures, max(last, at))
    return counts
