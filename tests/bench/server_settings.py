"""Settings of the gunicorn server of the CRF-save benchmark: the test settings, plus the bare
view (tests/bench/urls.py) beside the real ones, so both are measured on one server."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
# As in production: static files indexed once at start, not looked up again on every request.
WHITENOISE_AUTOREFRESH = False
# The 50 simulated coordinators sign in from one loopback address, where in production each has
# their own: the per-address login limit would refuse some of them (HTTP 429), and those would
# then "save" without a session, measuring a redirect to the login page.
RATE_LIMITS = {**RATE_LIMITS, "login": "1000/300"}  # noqa: F405
