"""Writes of sign-in security: preferences, password changes, the list of signed-in sessions."""

from __future__ import annotations

from datetime import UTC

from django.db import transaction

from kernel.models import SecurityEventKind, User
from kernel.services import security_event_record

from .models import UserSession


def user_preferences_update(*, user: User, language: str, calendar: str) -> User:
    """Save the user's own language and calendar ('' = browser language / site calendar)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.language, user.calendar = language, calendar
        user.full_clean(exclude=["password", "username"])
        user.save(update_fields=["language", "calendar"])
    return user


def password_changed(*, user: User, request=None) -> User:
    """The user chose a new password themselves: the initial-password flag is cleared."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(must_change_password=False)
        user.must_change_password = False
        security_event_record(kind=SecurityEventKind.PASSWORD_CHANGED, request=request, user=user)
    return user


def password_set_by_administrator(
    *, user: User, password: str, actor: User, reason: str, request=None
) -> User:
    """An administrator sets a user's password (a forgotten one; issue 20). The password is an
    initial one: the user must choose their own at the next sign-in. The reason and the
    administrator are in the security log, and the user is told by e-mail (if it was not them,
    they hear of it at once); their sessions elsewhere end (the password is part of them)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.must_change_password = True
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        security_event_record(
            kind=SecurityEventKind.PASSWORD_SET_BY_ADMIN,
            request=request,
            user=user,
            actor=actor,
            detail={"reason": reason},
        )
    return user


# -- the list of one's sessions (ASVS 3.3.4) -----------------------------------------------------

# Session keys: when this session was last recorded as used, and under which session key (Django
# gives a session a new key at sign-in and at a password change).
SEEN_AT = "edc_seen_at"
SEEN_KEY = "edc_seen_key"
SEEN_EVERY_SECONDS = 60


def _client(request) -> tuple[str | None, str]:
    from axes.helpers import get_client_ip_address

    return (
        get_client_ip_address(request) or None,
        str(request.META.get("HTTP_USER_AGENT", ""))[:300],
    )


def user_session_seen(*, request, user, signed_in_at=None) -> None:
    """Record that this session is in use (at most once a minute: accounts.middleware)."""
    from django.utils import timezone

    if not request.session.session_key:
        request.session.save()
    key = request.session.session_key
    now = timezone.now()
    ip_address, user_agent = _client(request)
    defaults = {
        "user": user,
        "last_seen_at": now,
        "ip_address": ip_address,
        "user_agent": user_agent,
    }
    UserSession.objects.update_or_create(
        session_key=key,
        defaults=defaults,
        create_defaults={**defaults, "signed_in_at": signed_in_at or now},
    )
    request.session[SEEN_AT] = now.isoformat()
    request.session[SEEN_KEY] = key


def user_session_forget(*, request) -> None:
    """The session is signed out: it leaves the list."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()


def user_session_end(*, request, pk: int) -> UserSession:
    """End one of the user's sessions on another device, at once (its next request signs in
    again). Raises UserSession.DoesNotExist for a session that is not the user's."""
    from django.contrib.sessions.models import Session

    with transaction.atomic():
        row = UserSession.objects.select_for_update().get(pk=pk, user=request.user)
        if row.session_key == request.session.session_key:
            raise UserSession.DoesNotExist("this session: sign out instead")
        Session.objects.filter(session_key=row.session_key).delete()
        row.delete()
        security_event_record(
            kind=SecurityEventKind.SESSION_ENDED,
            request=request,
            detail={
                "signed_in_at": row.signed_in_at.astimezone(UTC).isoformat(timespec="seconds"),
                "ip_address": row.ip_address or "",
                "browser": row.user_agent[:100],
            },
        )
    return row


def sessions_sweep() -> dict:
    """The nightly job: expired sessions are deleted (Django's `clearsessions`) and, with them,
    their lines in the users' lists of sessions."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    expired, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    orphans, _ = UserSession.objects.exclude(
        session_key__in=Session.objects.values("session_key")
    ).delete()
    return {"sessions": expired, "listed": orphans}


def sessions_end_everywhere(*, user: User, request=None) -> User:
    """End every session of `user` on every device (the current one too) at its next request."""
    from django.utils import timezone

    with transaction.atomic():
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(sessions_valid_after=now)
        user.sessions_valid_after = now
        UserSession.objects.filter(user=user).delete()
        security_event_record(
            kind=SecurityEventKind.SIGNED_OUT_EVERYWHERE, request=request, user=user
        )
    return user
