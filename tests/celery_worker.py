"""A real Celery worker inside the test process, for as long as a ``with`` block lasts.

Celery's ``start_worker`` sends ``worker_init``; on it Celery's Django fix-up connects its
worker half (``DjangoWorkerFixup``) to ``task_prerun``/``task_postrun`` and never disconnects
it. Left connected, every later task run outside eager mode in the same process (a test that
executes a broker message with Celery's ``Request``) closes that test's database connection.
``worker_running`` disconnects it when the worker stops, so no test depends on which tests
the same process ran before it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from celery import signals
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoFixup

# The signals DjangoWorkerFixup.install connects, with the receiver's name.
WORKER_FIXUP_RECEIVERS = (
    (signals.beat_embedded_init, "close_database"),
    (signals.task_prerun, "on_task_prerun"),
    (signals.task_postrun, "on_task_postrun"),
    (signals.worker_process_init, "on_worker_process_init"),
)


def worker_fixups(app) -> list:
    """The Django worker fix-ups Celery made for ``app`` (none before a worker started)."""
    return [
        fixup._worker_fixup
        for fixup in app._fixups
        if isinstance(fixup, DjangoFixup) and fixup._worker_fixup is not None
    ]


def worker_fixup_connected(app) -> bool:
    """Whether a Django worker fix-up of ``app`` still listens to a task signal."""
    return any(
        getattr(_resolved(receiver), "__self__", None) is fixup
        for fixup in worker_fixups(app)
        for signal, _name in WORKER_FIXUP_RECEIVERS
        for _key, receiver in signal.receivers
    )


def _resolved(receiver):
    """A signal's receiver, through its weak reference if it holds one."""
    return receiver() if isinstance(receiver, weakref.ref) else receiver


@contextmanager
def worker_running(app, **options) -> Iterator[object]:
    """``start_worker(app, **options)``, leaving no Django worker fix-up connected after."""
    try:
        with start_worker(app, **options) as worker:
            yield worker
    finally:
        for fixup in worker_fixups(app):
            for signal, name in WORKER_FIXUP_RECEIVERS:
                signal.disconnect(getattr(fixup, name))
