import zoneinfo

from django.conf import settings
from django.utils import timezone, translation

from . import calendars
from .backends import first_site_preferences


class ResetActivationsMiddleware:
    """Outermost: after the response is complete, forget the request's language, time zone and
    calendar, so the thread's next request, task or test starts from the defaults (Django itself
    leaves the last activated language on the thread)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            translation.deactivate()
            timezone.deactivate()
            calendars.deactivate()


class UserPreferencesMiddleware:
    """Activate the signed-in user's time zone, language and calendar for this request.

    Time zone and default calendar come from the user's (first) site; the user's own language and
    calendar, when set, win. The database stays in UTC and Gregorian whatever is shown.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        site = None  # (time zone, default calendar) of the user's first site
        if user is not None and user.is_authenticated:
            # Read with the session's user (kernel.backends, issue 24): no query of its own.
            site = first_site_preferences(user)
            if user.language:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
        if site is not None:
            timezone.activate(zoneinfo.ZoneInfo(site[0]))
        else:
            timezone.deactivate()
        signed_in = user is not None and user.is_authenticated
        site_calendar = site[1] if site is not None else calendars.GREGORIAN
        calendars.activate((user.calendar if signed_in else "") or site_calendar)
        try:
            return self.get_response(request)
        finally:
            # Nothing of this user's settings may leak into the thread's next request or task.
            calendars.deactivate()
            timezone.deactivate()


class PermissionsPolicyMiddleware:
    """Send `Permissions-Policy` (settings.PERMISSIONS_POLICY): the camera, microphone,
    geolocation and the like are off for every page, so injected code could not use them either."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(origins)})"
            for feature, origins in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


class NoStoreMiddleware:
    """Send `Cache-Control: no-store` (and `Pragma: no-cache` for old proxies) on every response
    to a signed-in user: pages, CSVs and PDFs may hold identifying data or the allocation, and a
    browser or proxy must never keep a copy (issue 20, docs/security.md). Static files never get
    here: WhiteNoise answers them before the session is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if "no-store" not in response.get("Cache-Control", ""):
                response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response
