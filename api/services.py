"""Every write of the API app: making, using and revoking API tokens (issue 22)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import twofactor
from kernel.models import SecurityEventKind, User
from kernel.roles import roles_of
from kernel.services import security_event_record

from .exceptions import TokenRefused
from .models import ApiToken

TOKEN_START = "edc_"  # noqa: S105 - the fixed start of every token, no secret
# Writing last_used_at on every call would make every read a write: once a minute is enough to
# tell a user which token is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str, days: int, request=None) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for `days` days; returns the row and the whole token, which
    is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise TokenRefused(_("Give the token a name (what or where it is used)."))
    limit = settings.API_TOKEN_MAX_DAYS
    if not 1 <= days <= limit:
        raise TokenRefused(
            _("A token lives from 1 to %(limit)s days; %(days)s is outside.")
            % {"limit": limit, "days": days}
        )
    if not roles_of(user):
        raise TokenRefused(_("You hold no trial role: a token would open nothing."))
    # A token is used without the second factor, so only a session that gave it may make one
    # (TwoFactorMiddleware already keeps an unverified session off every page; this holds even
    # for a caller that is not a page).
    if twofactor.required(user) and not (request is not None and _verified(request)):
        raise TokenRefused(_("Sign in with your second factor before making a token."))
    now = timezone.now()
    for _attempt in range(5):  # a prefix clash (1 in 4 billion) is tried again
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        try:
            with transaction.atomic():
                token = ApiToken(
                    user=user,
                    name=name[:100],
                    prefix=prefix,
                    key_hash=key_hash(secret),
                    created_at=now,
                    expires_at=now + timedelta(days=days),
                )
                token.full_clean()
                token.save()
                security_event_record(
                    kind=SecurityEventKind.API_TOKEN_CREATED,
                    request=request,
                    user=user,
                    detail={"token": prefix, "name": token.name, "days": days},
                )
        except IntegrityError:
            continue
        return token, f"{TOKEN_START}{prefix}_{secret}"
    raise TokenRefused(_("No token could be made; try again."))


def _verified(request) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def token_find(raw: str) -> ApiToken | None:
    """The usable token `raw` is, or None (unknown, wrong secret, expired, revoked, inactive
    user). The secret is compared in constant time."""
    if not raw.startswith(TOKEN_START):
        return None
    prefix, _sep, secret = raw[len(TOKEN_START) :].partition("_")
    if len(prefix) != 8 or not secret:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, key_hash(secret)):
        return None
    if not token.is_usable() or not token.user.is_active:
        return None
    return token


def token_used(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def token_revoke(*, token_id: int, user: User, request=None) -> ApiToken:
    """Revoke a token: its owner's own, or anyone's by a holder of `api.revoke_any_apitoken`.
    Another user's token is ApiToken.DoesNotExist for anyone else (as if it did not exist)."""
    with transaction.atomic():
        tokens = ApiToken.objects.select_for_update()
        if not user.has_perm("api.revoke_any_apitoken"):
            tokens = tokens.filter(user=user)
        token = tokens.get(pk=token_id)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.revoked_by = user
            token.save(update_fields=["revoked_at", "revoked_by"])
            security_event_record(
                kind=SecurityEventKind.API_TOKEN_REVOKED,
                request=request,
                user=token.user,
                actor=user if user != token.user else None,
                detail={"token": token.prefix, "name": token.name},
            )
    return token
