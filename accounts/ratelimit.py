"""Rate limits on the endpoints worth hammering: sign-in, randomization, unblinding, exports.

A fixed window per (scope, who): `settings.RATE_LIMITS[scope]` is "<requests>/<seconds>". Over
the limit the view is not run at all and the user gets HTTP 429 with `Retry-After` and a page
saying when to try again. Nothing they typed is lost: the browser's back button still holds the
form. Who is counted: the signed-in user; before sign-in, the username typed at the client's
address, and the address as a whole under the much larger `login_address` ceiling, so a ward
behind one NAT address signs in at shift change while one client spraying passwords over many
accounts is still stopped (decision 0006).

The counts live in the cache (Redis, shared by every worker). A rate limit that cannot reach its
store must fail safe, not closed: while the cache is unreachable they are counted in the database
instead (`RateLimitCount`, decision 0016), the outage is written once to the security log, and
the cache is tried again every CACHE_RETRY_SECONDS.

Sign-in has one more brake, `sign_in_delay`: past the first AXES_FAILURE_LIMIT wrong passwords
for a username (from any addresses), each makes the next try of that username wait twice as
long, 1, 2, 4 ... seconds, at most SIGN_IN_DELAY_MAX_SECONDS; never at an address the account
signed in from recently, so an attacker guessing elsewhere does not keep its owner out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.shortcuts import render
from django.utils import timezone

from kernel import outages
from kernel.models import SecurityEventKind
from kernel.services import security_event_record


def parse_rate(rate: str) -> tuple[int, int]:
    """'10/300' -> (10 requests, per 300 seconds)."""
    requests, _, seconds = rate.partition("/")
    return int(requests), int(seconds)


def retry_after(*, scope: str, key: str) -> int | None:
    """Count one request of `key` in `scope`; the seconds to wait when over the limit, else None."""
    limit, seconds = parse_rate(settings.RATE_LIMITS[scope])
    now = time.time()
    window = int(now // seconds)
    count = _count(f"ratelimit:{scope}:{key}:{window}", seconds=seconds)
    if count <= limit:
        return None
    return max(1, int(seconds - now % seconds))


# --- where the counts are kept --------------------------------------------------------------

_cache_paused_until = 0.0  # monotonic time before which this process does not try the cache
_database_swept_at = 0.0


def _count(counter: str, *, seconds: int) -> int:
    """One more request on `counter`: in the cache; while it is unreachable, in the database."""
    global _cache_paused_until
    if time.monotonic() < _cache_paused_until:
        return _count_in_database(counter, seconds=seconds)
    try:
        count = _count_in_cache(counter, seconds=seconds)
    except Exception as error:  # noqa: BLE001 - any failure of the store: fail safe, not closed
        # A down Redis costs one short timeout per process every CACHE_RETRY_SECONDS, not one per
        # request.
        _cache_paused_until = time.monotonic() + settings.CACHE_RETRY_SECONDS
        outages.service_down(service=outages.CACHE, error=error)
        return _count_in_database(counter, seconds=seconds)
    outages.service_up(service=outages.CACHE)
    return count


def _count_in_cache(counter: str, *, seconds: int) -> int:
    cache.add(counter, 0, timeout=seconds)
    try:
        return cache.incr(counter)
    except ValueError:  # expired between add and incr
        cache.set(counter, 1, timeout=seconds)
        return 1


def _count_in_database(counter: str, *, seconds: int) -> int:
    """The same fixed window, counted by one atomic upsert (shared by every worker, like Redis)."""
    global _database_swept_at
    from .models import RateLimitCount

    now = timezone.now()
    table = connection.ops.quote_name(RateLimitCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, count, expires_at) VALUES (%s, 1, %s) "  # noqa: S608 - the table name is ours
            f"ON CONFLICT (key) DO UPDATE SET count = {table}.count + 1 RETURNING count",
            [counter[:400], now + timedelta(seconds=seconds)],
        )
        (count,) = cursor.fetchone()
    if time.monotonic() - _database_swept_at > 60:  # windows that are over, once a minute
        _database_swept_at = time.monotonic()
        RateLimitCount.objects.filter(expires_at__lt=now).delete()
    return count


def cache_retry_now() -> None:
    """Try the cache at the next request (tests; an operator's shell after a repair)."""
    global _cache_paused_until
    _cache_paused_until = 0.0


# --- who is counted -------------------------------------------------------------------------


def client_address(request) -> str:
    """The client's address through axes' proxy-aware lookup (the one axes locks on)."""
    return get_client_ip_address(request) or "unknown"


def typed_username(request) -> str:
    return str(request.POST.get(settings.AXES_USERNAME_FORM_FIELD, ""))[:150]


def counted_keys(request, scope: str) -> list[tuple[str, str]]:
    """The (scope, key) counters one request counts against.

    Signed in: the user. Before sign-in: the username typed at this address, and the address
    alone under `<scope>_address` (a much larger ceiling) when there is one."""
    if request.user.is_authenticated:
        return [(scope, f"user:{request.user.pk}")]
    address = client_address(request)
    keys = [(scope, f"ip:{address}|username:{typed_username(request)}")]
    if f"{scope}_address" in settings.RATE_LIMITS:
        keys.append((f"{scope}_address", f"ip:{address}"))
    return keys


def too_many_requests(request, *, scope: str, wait: int):

    from .selectors import username_logged

    security_event_record(
        kind=SecurityEventKind.RATE_LIMITED,
        request=request,
        username="" if request.user.is_authenticated else username_logged(typed_username(request)),
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
    """Limit the view's `methods` requests per user (or, before sign-in, username and address)."""
    methods = frozenset(methods)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                refusals = [
                    (wait, counted_scope)
                    for counted_scope, key in counted_keys(request, scope)
                    if (wait := retry_after(scope=counted_scope, key=key)) is not None
                ]
                if refusals:
                    wait, counted_scope = max(refusals)
                    return too_many_requests(request, scope=counted_scope, wait=wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- the per-username delay at sign-in ------------------------------------------------------


def sign_in_wait(*, username: str, address: str, now=None) -> tuple[int, int] | None:
    """(wrong passwords counted, seconds still to wait) before `username` may try its password
    from `address`, or None when it may try now.

    Counted: django-axes' failures for this username at every address within the cool-off (at
    most AXES_FAILURE_LIMIT per address: an address is locked there). The first
    AXES_FAILURE_LIMIT are free; from then on each makes the next try wait twice as long from
    the last one, 1, 2, 4 ... seconds, at most SIGN_IN_DELAY_MAX_SECONDS: guessing one account
    from many addresses is slowed, and its owner elsewhere waits seconds or minutes, never an
    hour. Never delayed: an address the account signed in from in the last
    SIGN_IN_KNOWN_ADDRESS_DAYS, and an address where axes has locked it (its lock page answers)."""
    from axes.helpers import get_cool_off

    from . import selectors

    if not username:
        return None
    now = now or timezone.now()
    limit = settings.AXES_FAILURE_LIMIT
    by_address = selectors.sign_in_failures_by_address(
        username=username, since=now - get_cool_off()
    )
    if by_address.get(address, (0, None))[0] >= limit:
        return None
    failures = sum(min(count, limit) for count, _ in by_address.values())
    if failures < limit:
        return None
    known_since = now - timedelta(days=settings.SIGN_IN_KNOWN_ADDRESS_DAYS)
    if selectors.signed_in_from(username=username, address=address, since=known_since):
        return None
    delay = min(2 ** min(failures - limit, 30), settings.SIGN_IN_DELAY_MAX_SECONDS)
    last = max(at for _, at in by_address.values())
    wait = delay - (now - last).total_seconds()
    if wait <= 0:
        return None
    return failures, max(1, math.ceil(wait))


def sign_in_delay(view) -> Callable:
    """Refuse a sign-in POST (HTTP 429, the password not even checked, so it counts as no failure)
    while its username must wait (`sign_in_wait`); every refusal is in the security log."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and not request.user.is_authenticated:
            username = typed_username(request)
            waiting = sign_in_wait(username=username, address=client_address(request))
            if waiting is not None:
                failures, wait = waiting
                security_event_record(
                    kind=SecurityEventKind.SIGN_IN_DELAYED,
                    request=request,
                    username=username,
                    detail={"failures": failures, "wait_seconds": wait},
                )
                response = render(
                    request, "registration/sign_in_delayed.html", {"seconds": wait}, status=429
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return wrapped
