import zoneinfo

from django.utils import timezone


class SiteTimezoneMiddleware:
    """Show times in the time zone of the user's (first) site; the database stays in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tz_name = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            site = user.sites.order_by("code").first()
            tz_name = site.time_zone if site else None
        if tz_name:
            timezone.activate(zoneinfo.ZoneInfo(tz_name))
        else:
            timezone.deactivate()
        return self.get_response(request)
