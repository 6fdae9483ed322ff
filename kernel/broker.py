"""Handing a task to the broker from a request (decision 0016). The Celery app is the project's
(trialedc/celery.py); it is reached through the task handed in, so the kernel imports no project
module."""

from __future__ import annotations

import os
import threading

# Connections kept per process and broker, idle between publishes: one per thread that published
# at the same time (a gunicorn worker's threads, the benchmark's 20), at most this many; more are
# closed after their publish.
KEPT_CONNECTIONS = 32


class BrokerUnavailable(Exception):
    """The broker could not take the task; the row that asked for it stays for its sweep."""


def task_publish(task, /, **kwargs) -> None:
    """Hand `task(**kwargs)` to a worker from a request: one try, a short timeout (decision 0016).

    The connection is a kept one (`_Kept`): opened with TASK_PUBLISH_TIMEOUT_SECONDS to connect
    and to answer and no client-side retry, so a dead or hung broker costs the request that long
    at most instead of kombu's retries, or forever; a connection that failed is closed, never
    kept; a kept connection whose broker went away and came back is opened again before it is
    used (the Redis client checks each socket it takes from its pool), so a broker restart does
    not fail the next request. Raises BrokerUnavailable, after writing the outage once to the
    security log; without a broker (eager) the task runs here and its errors propagate as they
    are."""
    from django.conf import settings

    from . import outages

    app = task.app
    if app.conf.task_always_eager:
        task.delay(**kwargs)
        return
    kept = _kept(app, settings.TASK_PUBLISH_TIMEOUT_SECONDS)
    try:
        connection, producer = kept.take()
        try:
            task.apply_async(kwargs=kwargs, producer=producer, retry=False)
        except BaseException:
            kept.drop(connection)
            raise
        kept.give_back(connection, producer)
    except Exception as error:  # broker down, hung, network: anything on the way to it
        outages.service_down(service=outages.BROKER, error=error)
        raise BrokerUnavailable(str(error)) from error
    outages.service_up(service=outages.BROKER)


class _Kept:
    """The idle connections of one process to one broker, each with its producer, the last given
    back first (the one most likely still open). A connection is used by one thread at a time."""

    def __init__(self, app, timeout: float):
        self.app, self.timeout = app, timeout
        self.idle: list[tuple] = []
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            if self.idle:
                return self.idle.pop()
        connection = self.app.connection_for_write(
            connect_timeout=self.timeout,
            transport_options={
                "max_retries": 0,
                "socket_connect_timeout": self.timeout,
                "socket_timeout": self.timeout,
            },
        )
        try:
            return connection, self.app.amqp.Producer(connection, auto_declare=False)
        except BaseException:
            self.drop(connection)
            raise

    def give_back(self, connection, producer) -> None:
        with self.lock:
            if len(self.idle) < KEPT_CONNECTIONS:
                self.idle.append((connection, producer))
                return
        self.drop(connection)

    @staticmethod
    def drop(connection) -> None:
        """Close a connection, as the fresh connection of each publish was closed before: for
        Redis, its sockets are closed without a word to the broker (which may be the one that
        hangs)."""
        connection.release()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for connection, _ in idle:
            self.drop(connection)


_all_kept: dict[tuple, _Kept] = {}
_all_kept_lock = threading.Lock()


def _kept(app, timeout: float) -> _Kept:
    """This process's kept connections to the app's broker as configured now. A changed broker
    URL or timeout starts afresh (the old ones are closed); a forked process opens its own and
    leaves its parent's sockets alone."""
    key = (os.getpid(), app.conf.broker_url, timeout)
    kept = _all_kept.get(key)
    if kept is not None:
        return kept
    with _all_kept_lock:
        if key not in _all_kept:
            for other in list(_all_kept):
                stale = _all_kept.pop(other)
                if other[0] == key[0]:
                    stale.close()
            _all_kept[key] = _Kept(app, timeout)
        return _all_kept[key]


def kept_connections_close() -> None:
    """Close every broker connection this process keeps (tests that stop their broker)."""
    with _all_kept_lock:
        kept = [k for key, k in _all_kept.items() if key[0] == os.getpid()]
        _all_kept.clear()
    for one in kept:
        one.close()
