"""Where a request's time goes, measured inside the bench server (tests/bench/server_settings.py
adds this middleware when BENCH_TIMING names a folder): one JSON line per request with its wall
time in Django, the time in database statements, the time spent opening the connection, the
thread's own CPU time, the statement count and the slowest statement. Compared with what locust
measured for the same requests (tests/bench/locustfile.py writes those), it tells queueing in
front of Django (gunicorn's threads, the CPU) from time in the view, and the view's CPU from its
database time and lock waits (docs/performance.md)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper

_local = threading.local()
_connect = DatabaseWrapper.connect


def _timed_connect(self):
    started = time.perf_counter()
    try:
        return _connect(self)
    finally:
        _local.connect = getattr(_local, "connect", 0.0) + time.perf_counter() - started


DatabaseWrapper.connect = _timed_connect  # type: ignore[method-assign]


class RequestTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.out = Path(os.environ["BENCH_TIMING"]) / f"server-{os.getpid()}.jsonl"

    def __call__(self, request):
        stats = {"n": 0, "db": 0.0, "slowest": 0.0, "slowest_sql": ""}

        def timed(execute, sql, params, many, context):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent = time.perf_counter() - started
                stats["n"] += 1
                stats["db"] += spent
                if spent > stats["slowest"]:
                    stats["slowest"], stats["slowest_sql"] = spent, sql[:160]

        _local.connect = 0.0
        wall, started, cpu = time.time(), time.perf_counter(), time.thread_time()
        with connection.execute_wrapper(timed):
            response = self.get_response(request)
        line = {
            "t": wall,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": 1000 * (time.perf_counter() - started),
            "cpu_ms": 1000 * (time.thread_time() - cpu),
            "db_ms": 1000 * stats["db"],
            "connect_ms": 1000 * _local.connect,
            "queries": stats["n"],
            "slowest_ms": 1000 * stats["slowest"],
            "slowest_sql": stats["slowest_sql"],
            "pid": os.getpid(),
            "thread": threading.get_ident(),
        }
        with self.out.open("a") as out:
            out.write(json.dumps(line) + "\n")
        return response
