"""The API's rate limit: DRF's throttle hook over the project's counters (accounts.ratelimit),
so the count is shared by every worker through the cache, and kept in the database while the
cache is down (decision 0016), like every other rate limit of the EDC."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from accounts.ratelimit import client_address, retry_after
from kernel.models import SecurityEventKind
from kernel.services import security_event_record


class ApiRateThrottle(BaseThrottle):
    scope = "api"

    def allow_request(self, request, view) -> bool:
        user = request.user
        key = f"user:{user.pk}" if user.is_authenticated else f"ip:{client_address(request)}"
        self.wait_seconds = retry_after(scope=self.scope, key=key)
        if self.wait_seconds is None:
            return True
        security_event_record(
            kind=SecurityEventKind.RATE_LIMITED,
            request=request._request,
            user=user if user.is_authenticated else None,
            detail={"scope": self.scope, "path": request.path[:200]},
        )
        return False

    def wait(self):
        return self.wait_seconds
