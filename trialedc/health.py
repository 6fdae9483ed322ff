"""Is the trial working? What an operator's probe needs (/health/, `manage.py health`).

| component | how it is checked | down when |
|---|---|---|
| `database` | `SELECT 1`, timed | the query fails |
| `broker` | a Redis PING, short timeout, no retry | it fails or times out |
| `worker` | the row the heartbeat task writes (beat sends it every minute) | none, or too old |
| `beat` | the newest `last_run_at` of django-celery-beat's schedules | none, or too old |
| `alert_outbox` | the oldest alert not yet delivered (kernel.models.Alert) | older than its limit |
| `file_store` | MEDIA_ROOT writable; in an object store, a HEAD of the bucket | it fails |
| `replica` | its WAL replay position against the primary's | (degraded) unreachable, stuck |

In-process mode (no `REDIS_URL`: tasks run eagerly) has no broker, worker or beat: they are
"not used"; without `DATABASE_REPLICA_URL` the replica is "not used". When the database is down,
what is read from it is "unknown". The report is down (HTTP 503) when any component is down. A
replica that fails is "degraded", not down: every read then goes to the primary
(kernel/replica.py), so the trial works, slower; the report says "degraded" with HTTP 200.
The answer is open to anyone, so it holds statuses, ages, counts and latencies only: no
participant, alert, host or error message (those go to the log). Limits: the HEALTH_*
settings (docs/configuration.md).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min
from django.utils import timezone

from kernel.models import Alert, Heartbeat, HeartbeatProcess
from kernel.replica import replica_configured

logger = logging.getLogger(__name__)

OK = "ok"
DOWN = "down"
DEGRADED = "degraded"
NOT_USED = "not used"
UNKNOWN = "unknown"

COMPONENTS = ("database", "broker", "worker", "beat", "alert_outbox", "file_store", "replica")
REDIS_SCHEMES = {"redis", "rediss", "unix"}

Fact = int | float | str | None


@dataclass(frozen=True)
class Component:
    status: str
    facts: dict[str, Fact] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    components: dict[str, Component]
    checked_at: datetime
    duration_ms: float

    @property
    def ok(self) -> bool:
        return all(component.status != DOWN for component in self.components.values())

    @property
    def status(self) -> str:
        """down (a component the trial needs is down), degraded (one that only speeds it up),
        or ok."""
        statuses = {component.status for component in self.components.values()}
        return DOWN if DOWN in statuses else DEGRADED if DEGRADED in statuses else OK

    def failing(self, names=COMPONENTS) -> list[str]:
        """`name status` of those of `names` not known to work (down, degraded or unknown)."""
        return [
            f"{name} {self.components[name].status}"
            for name in names
            if self.components[name].status in (DOWN, DEGRADED, UNKNOWN)
        ]

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "duration_ms": self.duration_ms,
            "components": {
                name: {"status": component.status, **component.facts}
                for name, component in self.components.items()
            },
        }

    def summary(self) -> str:
        """One line: `ok: database ok (latency_ms=0.4); broker not used; …`."""

        def one(name: str, component: Component) -> str:
            facts = ", ".join(f"{key}={value}" for key, value in component.facts.items())
            return f"{name} {component.status}" + (f" ({facts})" if facts else "")

        parts = "; ".join(one(name, component) for name, component in self.components.items())
        return f"{self.status}: {parts}"


# --- Pure rules: from what was read to a status ----------------------------------------------


def _seconds_since(at: datetime, now: datetime) -> int:
    # Clocks of the worker's and the web's hosts may differ by a little: never a negative age.
    return max(0, int((now - at).total_seconds()))


def age_check(*, at: datetime | None, now: datetime, limit: int, age: str, never: str) -> Component:
    """Down when `at` is missing (reason `never`) or more than `limit` seconds before `now`."""
    if at is None:
        return Component(DOWN, {age: None, "limit_seconds": limit, "reason": never})
    seconds = _seconds_since(at, now)
    return Component(OK if seconds <= limit else DOWN, {age: seconds, "limit_seconds": limit})


def alert_outbox_check(
    *, undelivered: int, oldest: datetime | None, now: datetime, limit: int
) -> Component:
    """Down when an alert has waited more than `limit` seconds: a lost SAE alert breaks the law
    (ICH E6 4.11, 21 CFR 312.64(b)); an alert of any kind stuck means the path SAE alerts take
    (worker, beat's sweep, the mail server) is broken."""
    age = None if oldest is None else _seconds_since(oldest, now)
    return Component(
        DOWN if age is not None and age > limit else OK,
        {"undelivered": undelivered, "oldest_undelivered_age_seconds": age, "limit_seconds": limit},
    )


def replica_check(*, lag_bytes: int | None, replay_age: int | None, limit: int) -> Component:
    """A standby behind the primary (`lag_bytes` > 0) that has replayed nothing for more than
    `limit` seconds is stuck: degraded (the router's reads after a write already go to the
    primary until it catches up; the long reads still go to it and would show old data). A
    standby that is caught up is ok however long ago it last replayed (an idle primary sends
    nothing). `lag_bytes` None: not a standby (a copy of another kind), nothing to measure."""
    facts: dict[str, Fact] = {
        "lag_bytes": lag_bytes,
        "replay_age_seconds": replay_age,
        "limit_seconds": limit,
    }
    stuck = bool(lag_bytes) and (replay_age is None or replay_age > limit)
    return Component(DEGRADED if stuck else OK, facts)


# --- Readings: each one query or one ping, each quick ----------------------------------------


def database_check() -> Component:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return Component(OK, {"latency_ms": _ms_since(started)})


def broker_check(*, url: str, timeout: float) -> Component:
    """One PING, `timeout` seconds to connect and as many to answer, no retry: a probe calling
    every few seconds must never hang on a dead or silent broker."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if urlsplit(url).scheme not in REDIS_SCHEMES:
        return Component(DOWN, {"reason": "not a Redis URL"})
    started = time.perf_counter()
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
    )
    try:
        client.ping()
    finally:
        client.close()
    return Component(OK, {"latency_ms": _ms_since(started)})


def file_store_check(*, timeout: float) -> Component:
    """Where the EDC writes its files (export ZIPs, prepared PDFs): on this host's disk,
    MEDIA_ROOT (or the folder that will hold it) is writable; in an object store, the bucket
    answers a HEAD within `timeout` seconds, no retry. Nothing is written by the probe."""
    from django.core.files.storage import default_storage

    started = time.perf_counter()
    bucket = getattr(default_storage, "bucket_name", None)
    if bucket:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            endpoint_url=default_storage.endpoint_url,
            region_name=default_storage.region_name,
            aws_access_key_id=default_storage.access_key,
            aws_secret_access_key=default_storage.secret_key,
            verify=default_storage.verify,
            config=Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"max_attempts": 1, "mode": "standard"},
                s3={"addressing_style": default_storage.addressing_style},
                signature_version=default_storage.signature_version,
            ),
        )
        try:
            client.head_bucket(Bucket=bucket)
        finally:
            client.close()
        return Component(OK, {"latency_ms": _ms_since(started)})
    folder = Path(settings.MEDIA_ROOT)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # MEDIA_ROOT is made at the first write, under a writable parent
    if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        return Component(DOWN, {"reason": "not writable"})
    return Component(OK, {"latency_ms": _ms_since(started)})


def replica_reading() -> tuple[int | None, int | None]:
    """How many bytes of WAL the replica has still to replay (None: not a standby), and how
    many seconds ago it replayed its last transaction (None: never, or not a standby)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from kernel.replica import REPLICA

    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (position,) = cursor.fetchone()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())::bigint,"
            " extract(epoch FROM now() - pg_last_xact_replay_timestamp())::bigint",
            [position],
        )
        lag, age = cursor.fetchone()
    if lag is None:
        return None, None
    return max(0, int(lag)), None if age is None else max(0, int(age))


def worker_heartbeat_at() -> datetime | None:

    return (
        Heartbeat.objects.filter(process=HeartbeatProcess.WORKER)
        .values_list("at", flat=True)
        .first()
    )


def beat_last_run_at() -> datetime | None:
    """Beat writes when it last sent each periodic task (at most 3 minutes late)."""
    from django_celery_beat.models import PeriodicTask

    return PeriodicTask.objects.aggregate(at=Max("last_run_at"))["at"]


def alerts_undelivered() -> tuple[int, datetime | None]:
    """How many alerts are not yet delivered, and when the oldest was written."""

    pending = Alert.objects.filter(sent_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    return pending["count"], pending["oldest"]


# --- The report ------------------------------------------------------------------------------


def health_report() -> Report:
    """Every component, never raising: a failed check is that component down, logged in full."""
    from .celery import app

    started = time.perf_counter()
    in_process = bool(app.conf.task_always_eager)
    not_used = Component(NOT_USED)
    components = {
        "database": _guarded("database", database_check),
        "broker": not_used
        if in_process
        else _guarded(
            "broker",
            lambda: broker_check(
                url=app.conf.broker_url, timeout=settings.HEALTH_BROKER_TIMEOUT_SECONDS
            ),
        ),
    }
    if components["database"].status != OK:
        unknown = Component(UNKNOWN, {"reason": "database down"})
        components["worker"] = components["beat"] = not_used if in_process else unknown
        components["alert_outbox"] = unknown
    else:
        now = timezone.now()
        if in_process:
            components["worker"] = components["beat"] = not_used
        else:
            components["worker"] = _guarded("worker", lambda: _worker(now))
            components["beat"] = _guarded("beat", lambda: _beat(now))
        components["alert_outbox"] = _guarded("alert_outbox", lambda: _alert_outbox(now))
    components["file_store"] = _guarded(
        "file_store", lambda: file_store_check(timeout=settings.HEALTH_STORE_TIMEOUT_SECONDS)
    )
    components["replica"] = _replica() if replica_configured() else not_used
    return Report(
        components={name: components[name] for name in COMPONENTS},
        checked_at=timezone.now(),
        duration_ms=_ms_since(started),
    )


def _worker(now: datetime) -> Component:
    return age_check(
        at=worker_heartbeat_at(),
        now=now,
        limit=settings.HEALTH_WORKER_MAX_AGE_SECONDS,
        age="heartbeat_age_seconds",
        never="no heartbeat recorded",
    )


def _beat(now: datetime) -> Component:
    return age_check(
        at=beat_last_run_at(),
        now=now,
        limit=settings.HEALTH_BEAT_MAX_AGE_SECONDS,
        age="last_run_age_seconds",
        never="no run recorded",
    )


def _alert_outbox(now: datetime) -> Component:
    undelivered, oldest = alerts_undelivered()
    return alert_outbox_check(
        undelivered=undelivered,
        oldest=oldest,
        now=now,
        limit=settings.HEALTH_ALERT_MAX_AGE_SECONDS,
    )


def _replica() -> Component:
    try:
        lag, age = replica_reading()
    except Exception as error:  # the router reads from the primary meanwhile: degraded
        logger.warning("health: replica degraded: %s: %s", type(error).__name__, error)
        return Component(DEGRADED, {"reason": type(error).__name__})
    return replica_check(
        lag_bytes=lag, replay_age=age, limit=settings.HEALTH_REPLICA_MAX_STUCK_SECONDS
    )


def _guarded(name: str, check: Callable[[], Component]) -> Component:
    try:
        return check()
    except Exception as error:  # any failure is this component down, never a 500
        logger.warning("health: %s down: %s: %s", name, type(error).__name__, error)
        return Component(DOWN, {"reason": type(error).__name__})


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
