"""Running without Redis (decision 0016): the cache and the Celery broker may be unreachable; the
EDC keeps serving and the security log says so once per outage, not once per request.

`service_down` is called at every failure to reach a service and `service_up` at every success;
each process remembers what it has found down, so a request pays a database query only when the
service changes state for this process. Across processes (gunicorn workers, Celery), a
PostgreSQL advisory lock and the last event written decide whether this outage is already in the
log: the first process to see Redis go writes "unreachable", the first to see it back writes
"reachable again".
"""

from __future__ import annotations

import logging
import threading
import zlib

from django.db import connection, transaction

logger = logging.getLogger(__name__)

CACHE = "cache"
BROKER = "broker"
# What the security log names as the account of an event no user caused. Parentheses are not
# allowed in usernames, so no account can be called this.
SYSTEM = "(system)"

_found_down: set[str] = set()  # services this process has found unreachable (and logged)
_state_lock = threading.Lock()


def service_down(*, service: str, error: BaseException) -> None:
    """`service` could not be reached: the first time in this outage, log it."""
    if service in _found_down:
        return
    with _state_lock:
        if service in _found_down:
            return
        logger.warning("%s unreachable, running without it: %s", service, error)
        if _record(service=service, down=True, error=error):
            _found_down.add(service)


def service_up(*, service: str) -> None:
    """`service` answered: if this process had found it down, log that it is back."""
    if service not in _found_down:
        return
    with _state_lock:
        if service not in _found_down:
            return
        logger.warning("%s reachable again", service)
        if _record(service=service, down=False, error=None):
            _found_down.discard(service)


def _record(*, service: str, down: bool, error: BaseException | None) -> bool:
    """Append the change to the security log unless another process already did. False if the
    database could not be written (the next request tries again)."""
    from .models import SecurityEvent, SecurityEventKind
    from .services import security_event_record

    kind = SecurityEventKind.SERVICE_DOWN if down else SecurityEventKind.SERVICE_RESTORED
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # One writer per service at a time, across every process.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(service)])
            last = (
                SecurityEvent.objects.filter(
                    kind__in=[SecurityEventKind.SERVICE_DOWN, SecurityEventKind.SERVICE_RESTORED],
                    detail__service=service,
                )
                .order_by("-at", "-pk")
                .values_list("kind", flat=True)
                .first()
            )
            already = (last == SecurityEventKind.SERVICE_DOWN) == down
            if not already:
                detail = {"service": service}
                if error is not None:
                    detail["error"] = f"{type(error).__name__}: {error}"[:300]
                security_event_record(kind=kind, username=SYSTEM, detail=detail)
    except Exception:  # the database is the one service we cannot run without: say so, go on
        logger.exception("the %s outage could not be written to the security log", service)
        return False
    return True


def _lock_id(service: str) -> int:
    return zlib.crc32(f"kernel.outages:{service}".encode())


def forget() -> None:
    """Forget what this process has found down (tests start each from a clean state)."""
    with _state_lock:
        _found_down.clear()
