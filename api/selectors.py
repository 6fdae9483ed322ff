"""Reads of the API app."""

from __future__ import annotations

from django.db.models import QuerySet

from kernel.models import User

from .models import ApiToken


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones too, for the record)."""
    return ApiToken.objects.filter(user=user).select_related("revoked_by")


def tokens_of_everyone() -> QuerySet[ApiToken]:
    """Every usable-or-not token, for the data manager's review."""
    return ApiToken.objects.select_related("user", "revoked_by")
