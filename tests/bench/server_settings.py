"""Settings of the gunicorn server of the CRF-save benchmark: the test settings, plus the bare
view (tests/bench/urls.py) beside the real ones, so both are measured on one server."""

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
# As in production: static files indexed once at start, not looked up again on every request.
WHITENOISE_AUTOREFRESH = False
