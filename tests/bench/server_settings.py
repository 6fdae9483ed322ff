"""Settings of the gunicorn server of the CRF-save benchmark: the test settings, plus the bare
view (tests/bench/urls.py) beside the real ones, so both are measured on one server."""

import os

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
# As in production: static files indexed once at start, not looked up again on every request.
WHITENOISE_AUTOREFRESH = False
# The 50 simulated coordinators sign in from one loopback address, where in production each has
# their own: the per-address login limit would refuse some of them (HTTP 429), and those would
# then "save" without a session, measuring a redirect to the login page.
RATE_LIMITS = {**RATE_LIMITS, "login": "1000/300"}  # noqa: F405
# Where each request's time goes (tests/bench/timing.py), when the benchmark asks for it.
if os.environ.get("BENCH_TIMING"):
    MIDDLEWARE = ["tests.bench.timing.RequestTimingMiddleware", *MIDDLEWARE]  # noqa: F405
# A diagnostic (issue 24, fourth pass): the interpreter's thread switch interval in seconds,
# over the one trialedc/wsgi.py sets as in production (WEB_THREAD_SWITCH_INTERVAL_SECONDS, 0.001;
# decision 0023). With 4 threads a process, a thread whose statement has returned waits for the
# one holding the GIL to give it up, up to this long, once per statement.
if os.environ.get("BENCH_SWITCH_INTERVAL"):
    import sys

    sys.setswitchinterval(float(os.environ["BENCH_SWITCH_INTERVAL"]))
