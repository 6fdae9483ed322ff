"""Handing a task to the broker from a request (decision 0016). The Celery app is the project's
(trialedc/celery.py); it is reached through the task handed in, so the kernel imports no project
module."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid

# Celery has no type stubs nor py.typed (mypy, make lint).
from celery import signals  # type: ignore[import-untyped]
from celery.backends.base import BaseBackend  # type: ignore[import-untyped]
from celery.utils.nodenames import anon_nodename  # type: ignore[import-untyped]
from celery.utils.saferepr import saferepr  # type: ignore[import-untyped]

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
            kept.publish(producer, task, kwargs)
        except BaseException:
            kept.drop(connection)
            raise
        kept.give_back(connection, producer)
    except Exception as error:  # broker down, hung, network: anything on the way to it
        outages.service_down(service=outages.BROKER, error=error)
        raise BrokerUnavailable(str(error)) from error
    outages.service_up(service=outages.BROKER)


class _Message:
    """A task's message as Celery's `apply_async(kwargs=..., retry=False)` publishes it (message
    protocol 2), built here at each publish: only the id, the keyword arguments and their
    `kwargsrepr`, the origin (this process) and `reply_to` (this thread) change from one publish
    of a task to the next. Everything else (the other headers, the embedded callbacks, and the
    exchange, routing key, queue to declare, delivery mode, serializer and compression Celery
    would publish with) is taken once, from Celery itself: a dry run of `apply_async` whose
    producer records what it is asked to publish (`_Recorder`).

    Why (docs/performance.md, issue 24, randomization fourth step): `apply_async` merges the
    task's options, routes, fires the publish signals and builds the headers at every call,
    about half of the Python of a randomization. The message is the same; tests/
    test_kernel_broker.py compares it, field by field, with apply_async's and has a worker
    execute it."""

    def __init__(self, task, kwargs: dict):
        self.task = task
        recorder = _Recorder()
        task.apply_async(kwargs=kwargs, producer=recorder, retry=False)
        body, options = recorder.published
        self.embed = body[2]
        self.headers = dict(options.pop("headers"))
        self.declare = options.pop("declare", None) or []
        for per_publish in ("correlation_id", "reply_to"):
            options.pop(per_publish)
        self.options = options

    def publish(self, producer, kwargs: dict, *, declare: bool) -> None:
        task = self.task
        if task.typing:  # as apply_async: arguments the task does not take raise TypeError
            task.__header__(**kwargs)
        app = task.app
        task_id = str(uuid.uuid4())
        headers = {
            **self.headers,
            "id": task_id,
            "root_id": task_id,
            "kwargsrepr": _kwargsrepr(kwargs, app),
            "origin": anon_nodename(),
        }
        producer.publish(
            ((), kwargs, self.embed),
            headers=headers,
            correlation_id=task_id,
            reply_to=app.thread_oid,
            declare=self.declare if declare else [],
            **self.options,
        )

    @staticmethod
    def usable(task) -> bool:
        """Whether Celery's apply_async would publish just that: not from inside a worker's task
        (the message then names its parent) and nobody listening to the publish signals (they
        would not be sent). Checked at each publish; `_Message.possible`, once."""
        return (
            task.app.current_worker_task is None
            and not signals.before_task_publish.receivers
            and not signals.after_task_publish.receivers
        )

    @staticmethod
    def possible(app) -> bool:
        """No sent events, and a result backend that does nothing when a task is sent (none, the
        EDC's): else every publish goes through apply_async."""
        return (
            not app.conf.task_send_sent_event
            and type(app.backend).on_task_call is BaseBackend.on_task_call
        )


def _kwargsrepr(kwargs: dict, app) -> str:
    """The `kwargsrepr` header, Celery's `saferepr` of the keyword arguments as apply_async writes
    it. The EDC's tasks take row ids: for keyword arguments that are all integers, `saferepr`
    writes what `repr` writes, as long as that fits in its limit (it cuts only past
    `kwargsrepr_maxsize`; tests/test_kernel_broker.py compares the two), and `repr` is that
    text without `saferepr`'s walk of the value, which was a fifteenth of the Python of a
    randomization (docs/performance.md, issue 24, sixth step). Anything else: `saferepr`."""
    maxsize = app.amqp.kwargsrepr_maxsize
    if all(type(value) is int for value in kwargs.values()):
        text = repr(kwargs)
        if len(text) <= maxsize:
            return text
    return saferepr(kwargs, maxsize, maxlevels=app.conf.task_repr_maxlevels)


class _Recorder:
    """A producer for a dry run of `apply_async`: keeps what Celery asks it to publish."""

    def __init__(self):
        self.connection = self
        self.published: tuple = ()

    def _reraise_as_library_errors(self):
        return contextlib.nullcontext()

    def publish(self, body, **options) -> None:
        self.published = (body, options)


class _Kept:
    """The idle connections of one process to one broker, each with its producer, the last given
    back first (the one most likely still open). A connection is used by one thread at a time.
    Each task's message is built once per process and broker (`_Message`); the queue it goes to
    is declared once per connection (kombu declares an entity once per connection anyway)."""

    def __init__(self, app, timeout: float):
        self.app, self.timeout = app, timeout
        self.idle: list[tuple] = []
        self.lock = threading.Lock()
        self.messages: dict[str, _Message] = {}
        self.built_here = _Message.possible(app)
        self.declared: set[int] = set()  # id() of the kept connections that declared the queue

    def publish(self, producer, task, kwargs: dict) -> None:
        if not (self.built_here and _Message.usable(task)):
            task.apply_async(kwargs=kwargs, producer=producer, retry=False)
            return
        message = self.messages.get(task.name)
        if message is None:
            message = self.messages.setdefault(task.name, _Message(task, kwargs))
        declare = id(producer.connection) not in self.declared
        message.publish(producer, kwargs, declare=declare)
        if declare:
            self.declared.add(id(producer.connection))

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
            producer = self.app.amqp.Producer(connection, auto_declare=False)
            _one_redis_client(producer.channel)
            return connection, producer
        except BaseException:
            self.drop(connection)
            raise

    def give_back(self, connection, producer) -> None:
        with self.lock:
            if len(self.idle) < KEPT_CONNECTIONS:
                self.idle.append((connection, producer))
                return
        self.drop(connection)

    def drop(self, connection) -> None:
        """Close a connection, as the fresh connection of each publish was closed before: for
        Redis, its sockets are closed without a word to the broker (which may be the one that
        hangs)."""
        with self.lock:
            self.declared.discard(id(connection))
        connection.release()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for connection, _ in idle:
            self.drop(connection)


def _one_redis_client(channel) -> None:
    """Make a kept connection's kombu channel publish through one Redis client object.

    kombu's Redis channel makes a new `redis.Redis` object for each command it sends when
    publishing (`Channel.conn_or_acquire`, no client given): a dictionary of some 400 response
    callbacks built each time, a fifth of the Python of a randomization once Celery's message
    building was gone (docs/performance.md, issue 24, fourth step). The object holds no socket:
    it takes one from the channel's connection pool for each command and gives it back, so one
    object on the same pool sends the same commands over the same sockets, with the same
    timeouts and the same check of a socket taken from the pool (a broker restart still does not
    fail the next publish; tests/test_redis_down.py). A client asked for another pool (the
    channel's asynchronous one, for consuming) is made as before. Other transports: unchanged."""
    make = getattr(channel, "Client", None)
    if make is None or not hasattr(channel, "conn_or_acquire"):
        return
    kept = []

    def client(**kwargs):
        if kwargs.get("connection_pool") is not channel.pool:
            return make(**kwargs)
        if not kept:
            kept.append(make(**kwargs))
        return kept[0]

    channel.Client = client


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
