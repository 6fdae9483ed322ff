"""Production settings are safe by default (issue 3): run manage.py in a clean environment."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_KEY = "k3y-" + "x7Qp9Lm2Vb8Nc4Zr6Tw1Ys5Ud3Fg0Hj" * 2


def run_manage(*args, **env_overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key not in ("EMAIL_URL",)
    }
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_prints_no_warning_under_production_settings():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_SECRET_KEY=PRODUCTION_KEY
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr.replace("INFO", "")


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_manage("check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_is_off_unless_asked():
    assert settings.DEBUG is False


def test_sessions_expire_after_thirty_idle_minutes_by_default():
    assert settings.SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    # An *idle* timeout, not a fixed one: the session is saved with a new expiry at most once a
    # minute rather than on every request (issue 24; tests/test_login.py proves the timeout).
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    assert "accounts.middleware.SessionPolicyMiddleware" in settings.MIDDLEWARE


def test_idle_timeout_is_configurable():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)",
        DJANGO_SECRET_KEY=PRODUCTION_KEY,
        SESSION_IDLE_MINUTES="15",
    )
    assert result.stdout.strip().splitlines()[-1] == "900", result.stderr


def test_languages_are_english_and_persian():
    assert [code for code, _ in settings.LANGUAGES] == ["en", "fa"]
    assert settings.LANGUAGE_CODE == "en"


def test_celery_runs_tasks_in_process_without_a_broker_and_uses_redis_when_given():
    probe = (
        "from trialedc.celery import app; print(app.conf.task_always_eager, app.conf.broker_url)"
    )
    without = run_manage("shell", "-c", probe, DJANGO_SECRET_KEY=PRODUCTION_KEY, REDIS_URL="")
    assert without.stdout.strip().splitlines()[-1] == "True memory://", without.stderr
    with_redis = run_manage(
        "shell", "-c", probe, DJANGO_SECRET_KEY=PRODUCTION_KEY, REDIS_URL="redis://127.0.0.1:6379/3"
    )
    assert with_redis.stdout.strip().splitlines()[-1] == "False redis://127.0.0.1:6379/3"


def test_passwords_are_hashed_with_argon2_and_need_twelve_characters():
    result = run_manage(
        "shell",
        "-c",
        "from django.contrib.auth.hashers import make_password;"
        "from django.contrib.auth.password_validation import validate_password as v;"
        "print(make_password('x' * 20).split('$')[0]);"
        "exec('try:\\n v(\\'Kq8#pLm2x\\')\\nexcept Exception as e: print(\\'refused\\')')",
        DJANGO_SECRET_KEY=PRODUCTION_KEY,
    )
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == ["argon2", "refused"], result.stderr
