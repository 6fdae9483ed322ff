"""DRF authentication by API token: `Authorization: Bearer edc_<prefix>_<secret>`."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from . import services


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: the session (if any) is tried next
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be: Bearer <token>.")
            )
        try:
            raw = header[1].decode("ascii")
        except UnicodeError as bad:
            raise exceptions.AuthenticationFailed(_("That token is not valid.")) from bad
        token = services.token_find(raw)
        if token is None:
            # One answer for unknown, wrong, expired and revoked: nothing to learn by trying.
            raise exceptions.AuthenticationFailed(
                _("That token is not valid (unknown, expired or revoked).")
            )
        services.token_used(token=token)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword  # a refusal is 401 with WWW-Authenticate: Bearer


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "edc_<prefix>_<secret>"}
