"""Helpers for the API tests: a token for a user, and calls that carry it."""

from __future__ import annotations

from api import services


def token_for(user, *, days: int = 30, name: str = "test script") -> str:
    _token, whole = services.token_create(user=user, name=name, days=days)
    return whole


def api_get(client, path: str, token: str, **extra):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def api_post(client, path: str, token: str, data=None):
    return client.post(
        path, data or {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
