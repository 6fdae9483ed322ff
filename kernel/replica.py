"""Reads from a PostgreSQL replica, for the heavy read-only work, when one is configured.

`DATABASE_REPLICA_URL` adds a database alias `replica` (trialedc/settings.py; a streaming
standby of the primary). Nothing reads from it unless the code asks: the dashboards, the DSMB
and casebook PDFs, the IPD export and the long list pages run inside `reading_from_replica()`
(a context manager and a decorator). Even there a read goes to the primary when

- it is inside a transaction (`transaction.atomic`, `select_for_update`): a transaction is one
  connection's, on the primary;
- this request or task has written (any model save, update or delete through the ORM; sessions
  excepted, which every request saves): a page never reads its own write from a replica that
  may not have replayed it yet. Entering the block after a write, the replica is used only if it
  has already replayed the primary's current WAL position (`pg_last_wal_replay_lsn`), which a
  worker's export, started by a write, usually finds within milliseconds;
- the request comes from a browser that wrote in the last `DATABASE_REPLICA_PIN_SECONDS`
  (`ReplicaMiddleware`'s cookie: the page after a form's redirect shows what was saved);
- the replica cannot be reached (logged; the primary answers instead, and the process tries the
  replica again after RETRY_AFTER_SECONDS).

A write inside the block goes to the primary, as every write does, and sends the block's later
reads there too, except writes made under `writes_not_read_back()` (an export's progress
heartbeat), which the block never reads.

Without `DATABASE_REPLICA_URL` the router sends everything to `default`: the single-host
deployment is unchanged. See docs/scaling.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ContextDecorator, contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
PIN_COOKIE = "edc_primary"

# The alias the innermost reading_from_replica() block chose (None outside any block).
_block_alias: ContextVar[str | None] = ContextVar("replica_block_alias", default=None)
# This request or task wrote (outside writes_not_read_back()).
_wrote: ContextVar[bool] = ContextVar("replica_wrote", default=False)
# A write since the current block was entered (outside writes_not_read_back()).
_block_dirty: ContextVar[bool] = ContextVar("replica_block_dirty", default=False)
# Writes not counted as such (writes_not_read_back()).
_unread_writes: ContextVar[bool] = ContextVar("replica_unread_writes", default=False)
# The request's browser wrote moments ago (the pin cookie).
_pinned: ContextVar[bool] = ContextVar("replica_pinned", default=False)


def replica_configured() -> bool:
    """Reads may go to a replica: DATABASE_REPLICA_URL is set (settings.DATABASE_REPLICA_ROUTING)
    and the alias exists."""
    return bool(getattr(settings, "DATABASE_REPLICA_ROUTING", False)) and REPLICA in (
        settings.DATABASES
    )


def wrote() -> bool:
    """This request or task has written through the ORM."""
    return _wrote.get()


def forget_writes() -> None:
    """A new request or task begins: nothing written yet."""
    _wrote.set(False)
    _pinned.set(False)


def _in_transaction() -> bool:
    return connections[DEFAULT_DB_ALIAS].in_atomic_block


# After the replica could not be reached, this process tries it again only this much later: a
# replica host that drops packets must not cost every page the connect timeout.
RETRY_AFTER_SECONDS = 30.0
_unreachable_until = 0.0


def _replica_reachable() -> bool:
    global _unreachable_until
    if time.monotonic() < _unreachable_until:
        return False
    try:
        connections[REPLICA].ensure_connection()
    except DatabaseError:
        _unreachable_until = time.monotonic() + RETRY_AFTER_SECONDS
        logger.warning(
            "the database replica cannot be reached: reading from the primary, trying it again "
            "in %s s",
            RETRY_AFTER_SECONDS,
        )
        return False
    return True


def _replica_caught_up() -> bool:
    """The replica has replayed everything the primary has written so far. A replica that is no
    standby (pg_last_wal_replay_lsn() is NULL: the same server, a logical copy) proves nothing,
    so the answer is no."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            (position,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
            (replayed,) = cursor.fetchone()
    except DatabaseError:
        logger.warning("the database replica's position could not be read: using the primary")
        return False
    return bool(replayed)


def _choose(wait_seconds: float) -> str:
    if not replica_configured() or _in_transaction() or _pinned.get():
        return DEFAULT_DB_ALIAS
    if not _replica_reachable():
        return DEFAULT_DB_ALIAS
    if _wrote.get():
        deadline = time.monotonic() + wait_seconds
        while not _replica_caught_up():
            if time.monotonic() >= deadline:
                return DEFAULT_DB_ALIAS
            time.sleep(0.05)
    return REPLICA


class reading_from_replica(ContextDecorator):  # noqa: N801 - reads as the plain function it wraps
    """Heavy read-only work: its reads may go to the replica (module docstring for when not).

    The alias is chosen once, on entering the outermost block, and kept for the block."""

    def __init__(self, *, wait_seconds: float = 0):
        # After a write, how long to wait for the replica to replay it before reading from the
        # primary instead (a background task that is about to read for minutes can afford it).
        self.wait_seconds = wait_seconds

    def _recreate_cm(self):
        # One per call of a decorated function: concurrent calls share no state.
        return type(self)(wait_seconds=self.wait_seconds)

    def __enter__(self):
        self._tokens = None
        if _block_alias.get() is None:
            self._tokens = (_block_alias.set(_choose(self.wait_seconds)), _block_dirty.set(False))
        return self

    def __exit__(self, *exc):
        if self._tokens is not None:
            alias_token, dirty_token = self._tokens
            _block_dirty.reset(dirty_token)
            _block_alias.reset(alias_token)
        return False


def current_alias() -> str:
    """Where a read made now would go."""
    block = _block_alias.get()
    if block != REPLICA or _block_dirty.get() or _in_transaction():
        return DEFAULT_DB_ALIAS
    return REPLICA


@contextmanager
def writes_not_read_back() -> Iterator[None]:
    """Writes the surrounding reading block never reads back (a progress heartbeat): they do not
    send the block's later reads to the primary."""
    token = _unread_writes.set(True)
    try:
        yield
    finally:
        _unread_writes.reset(token)


class ReplicaRouter:
    """settings.DATABASE_ROUTERS: reads inside reading_from_replica() to `replica` when allowed;
    every write, and every migration, to the primary."""

    def db_for_read(self, model, **hints):
        return current_alias()

    def db_for_write(self, model, **hints):
        if model._meta.app_label != "sessions" and not _unread_writes.get():
            _wrote.set(True)
            _block_dirty.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two ways in

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS


class ReplicaMiddleware:
    """Outermost: each request starts having written nothing; a browser whose request wrote is
    sent to the primary for DATABASE_REPLICA_PIN_SECONDS (a cookie that holds no data), so the
    page after a form's redirect reads what was just saved even from a lagging replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        forget_writes()
        active = replica_configured()
        if active and request.COOKIES.get(PIN_COOKIE):
            _pinned.set(True)
        try:
            response = self.get_response(request)
            if active and _wrote.get():
                response.set_cookie(
                    PIN_COOKIE,
                    "1",
                    max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                    secure=settings.SESSION_COOKIE_SECURE,
                    httponly=True,
                    samesite="Lax",
                )
            return response
        finally:
            forget_writes()


def forget_writes_before_task(sender=None, task=None, **kwargs) -> None:
    """Celery's task_prerun: a worker's task starts having written nothing (a task run eagerly
    inside a request keeps the request's state)."""
    request = getattr(task, "request", None)
    if request is not None and getattr(request, "is_eager", False):
        return
    forget_writes()
