"""The request being served, for the few services that record who and from where deep inside a
transaction without having the request passed down (the security log's address and browser).

Our own context variable, set by `CurrentRequestMiddleware` (first in MIDDLEWARE, so every later
middleware and view sees it) and reset when the response is made: not simple-history's
`HistoricalRecords.context`, whose thread-local is that library's internal state. A context
variable is right under threads (gunicorn, the test server) and under asyncio alike.
"""

from __future__ import annotations

from contextvars import ContextVar

_request: ContextVar = ContextVar("trialedc_current_request", default=None)


def current_request():
    """The request being served in this context, or None (a task, a command, a shell)."""
    return _request.get()


class CurrentRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
