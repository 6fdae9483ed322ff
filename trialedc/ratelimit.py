"""Rate limits on the endpoints worth hammering: sign-in, randomization, unblinding, exports.

A fixed window per (scope, who) counted in the cache: `settings.RATE_LIMITS[scope]` is
"<requests>/<seconds>". Over the limit the view is not run at all and the user gets HTTP 429 with
`Retry-After` and a page saying when to try again. Nothing they typed is lost: the browser's back
button still holds the form. django-axes still locks an account after five wrong passwords; this
stops a client that tries many accounts, or a script that repeats an expensive or sensitive POST.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import wraps

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/300' -> (10 requests, per 300 seconds)."""
    requests, _, seconds = rate.partition("/")
    return int(requests), int(seconds)


def retry_after(*, scope: str, key: str) -> int | None:
    """Count one request of `key` in `scope`; the seconds to wait when over the limit, else None."""
    limit, seconds = parse_rate(settings.RATE_LIMITS[scope])
    now = time.time()
    window = int(now // seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=seconds)
        count = 1
    if count <= limit:
        return None
    return max(1, int(seconds - now % seconds))


def client_key(request) -> str:
    """The signed-in user, or the client's address (through axes' proxy-aware lookup)."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"ip:{get_client_ip_address(request) or 'unknown'}"


def too_many_requests(request, *, scope: str, wait: int):
    from .models import SecurityEventKind
    from .services import security_event_record

    security_event_record(
        kind=SecurityEventKind.RATE_LIMITED,
        request=request,
        username=str(request.POST.get("username", ""))[:150]
        if not request.user.is_authenticated
        else "",
        detail={"scope": scope, "path": request.path[:200]},
    )
    minutes = max(1, -(-wait // 60))
    response = render(request, "429.html", {"minutes": minutes, "scope": scope}, status=429)
    response["Retry-After"] = str(wait)
    return response


def rate_limit(
    scope: str,
    *,
    methods: Iterable[str] = ("POST",),
) -> Callable:
    """Limit the view's `methods` requests per user (or, before sign-in, client address)."""
    methods = frozenset(methods)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                wait = retry_after(scope=scope, key=client_key(request))
                if wait is not None:
                    return too_many_requests(request, scope=scope, wait=wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
