"""Test run: the one settings module, with the environment a test machine needs.

Only environment defaults are set here; everything else is trialedc/settings.py, so the tests
exercise the production configuration (DEBUG off, a secret key required, axes on).
"""

import os
import secrets

os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
# The test client and the browser tests talk plain HTTP to a local server.
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("DJANGO_PLAIN_STATIC", "true")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
# One connection per request, as the threads of the concurrency and browser tests expect (a kept
# connection would outlive its thread and hold the test database open at teardown).
os.environ.setdefault("DJANGO_CONN_MAX_AGE", "0")
# The demo users (initial passwords) sign in throughout the suite; the forced-change tests
# (tests/test_passwords_and_sessions.py) switch it on, as it is in production (not DEBUG).
os.environ.setdefault("DJANGO_FORCE_PASSWORD_CHANGE", "false")
# Likewise two-factor sign-in: required of most roles in production, it is switched on by the
# tests that prove it (tests/test_two_factor.py, the pharmacist's browser journey); a user who
# has set up a device is asked its code either way.
os.environ.setdefault("DJANGO_TWO_FACTOR_ENFORCED", "false")

from trialedc.settings import *  # noqa: E402, F403

# Fast hashing for the many logins the role matrix does; production keeps the default.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in-process in the test client; the broker-down tests switch this off themselves.
CELERY_TASK_ALWAYS_EAGER = True
# Rate-limit counters in this process only: never the Redis that CI also uses as the broker, and
# emptied before each test (tests/conftest.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Static files come straight from the apps (no collectstatic before a test run).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
(BASE_DIR / "var" / "static").mkdir(parents=True, exist_ok=True)  # noqa: F405
# A `replica` alias always exists in the tests: a mirror of the test database (another connection
# to the same rows). Reads go to it only when DATABASE_REPLICA_URL is set (then it is the one
# trialedc/settings.py made) or a test turns DATABASE_REPLICA_ROUTING on (tests/test_replica.py).
if "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {  # noqa: F405
        **DATABASES["default"],  # noqa: F405
        "OPTIONS": {
            **DATABASES["default"]["OPTIONS"],  # noqa: F405
            "options": "-c default_transaction_read_only=on",
        },
        "TEST": {"MIRROR": "default"},
    }
