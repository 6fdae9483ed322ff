"""The web server's entry point (gunicorn `trialedc.wsgi:application`, the Dockerfile's and the
benchmark's server).

The interpreter's thread switch interval is set here, for the web processes only (decision 0023):
a gthread worker's request that has just got its statement's answer from PostgreSQL waits for the
GIL until the thread holding it (another request rendering a page) reaches its switch interval,
once per statement; Python's default, 5 ms, made a CRF save that collided with a page's rendering
wait up to 5 ms per round trip (docs/performance.md, issue 24, "the switch interval").
`WEB_THREAD_SWITCH_INTERVAL_SECONDS` (default 0.001) sets it; empty keeps Python's default."""

import os
import sys

from django.core.wsgi import get_wsgi_application

DEFAULT_SWITCH_INTERVAL = "0.001"


def switch_interval_set(environ=os.environ) -> None:
    value = environ.get("WEB_THREAD_SWITCH_INTERVAL_SECONDS", DEFAULT_SWITCH_INTERVAL).strip()
    if value:
        sys.setswitchinterval(float(value))


switch_interval_set()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialedc.settings")
application = get_wsgi_application()
