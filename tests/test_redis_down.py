"""Redis down must not take the EDC down (issue 17, decision 0016).

Each test starts a redis-server of its own on a spare port (never the machine's 6379) and points
the cache and the Celery broker at it as production does (`trialedc.settings.redis_cache`, tasks
published for real), then stops it: sign-in still works and is still rate-limited (the counts go
to the database), randomization, emergency unblinding, exports and reports still answer, the
security log says so once per outage, and when Redis is back the cache is used again.
"""

import re
import socket
import threading
import time
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import RateLimitCount
from accounts.ratelimit import cache_retry_now
from dashboards.models import PreparedReport, ReportStatus
from exports.models import ExportRun, ExportStatus
from kernel import outages
from kernel.broker import BrokerUnavailable, kept_connections_close, task_publish
from kernel.models import Alert, SecurityEvent, SecurityEventKind
from kernel.roles import Role
from randomization.models import EmergencyUnblinding, Randomization
from trialedc.celery import app
from trialedc.settings import redis_cache

from .factories import PASSWORD, ParticipantFactory
from .randomization_factories import EXOSOME, PLACEBO, all_lists, randomized_participant, store_list

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def _use_broker(url: str | None) -> None:
    app.conf.task_always_eager = url is None
    if url is not None:
        app.conf.broker_url = url
    # Forget pooled connections made for another broker URL.
    app._pool = None
    app.amqp._producer_pool = None
    kept_connections_close()


@pytest.fixture
def redis_everywhere(own_redis, settings):
    """The cache and the broker are the test's Redis, as in production with REDIS_URL."""
    settings.CACHES = {"default": redis_cache(own_redis.url)}
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    _use_broker(own_redis.url)
    outages.forget()
    cache_retry_now()
    yield own_redis
    app.conf.update(saved)
    _use_broker(None if saved["task_always_eager"] else saved["broker_url"])
    outages.forget()
    cache_retry_now()


def _outages(kind=SecurityEventKind.SERVICE_DOWN) -> list[str]:
    return sorted(SecurityEvent.objects.filter(kind=kind).values_list("detail__service", flat=True))


def _sign_in(user, password=PASSWORD) -> Client:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response.status_code
    return client


@pytest.fixture
def investigator(make_user):
    user = make_user(Role.INVESTIGATOR)
    user.email = "pi@example.org"
    user.save()
    return user


# -- sign-in -------------------------------------------------------------------------------------


def test_sign_in_works_and_is_still_rate_limited_while_redis_is_down(
    redis_everywhere, settings, make_user
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "3/300"}
    user = make_user(Role.COORDINATOR)
    redis_everywhere.stop()

    started = time.monotonic()
    _sign_in(user)
    for _ in range(2):
        wrong = Client().post("/login/", {"username": user.username, "password": "wrong"})
        assert wrong.status_code == 200
    refused = Client().post("/login/", {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429  # the fourth in the window: counted in the database
    assert time.monotonic() - started < 5

    assert RateLimitCount.objects.get(key__contains=f"username:{user.username}").count == 4
    assert _outages() == ["cache"]  # once, not once per request
    down = SecurityEvent.objects.get(kind=SecurityEventKind.SERVICE_DOWN)
    assert down.username == outages.SYSTEM
    assert down.user is None
    assert "Connection" in down.detail["error"]


# -- emergency unblinding at 3 a.m. -------------------------------------------------------------


def test_an_emergency_unblinding_works_with_redis_and_the_broker_down(
    redis_everywhere, investigator, site01, django_capture_on_commit_callbacks
):
    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO] * 3)
    randomized = randomized_participant(site=site01, support="none")
    redis_everywhere.stop()

    started = time.monotonic()
    client = _sign_in(investigator)
    url = f"/randomization/participant/{randomized.participant.study_id}/unblind/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "adverse_event": "none",
                "no_event_justification": "Arrest; the SAE is being entered",
                "reason": "Anaphylactic shock",
                "password": PASSWORD,
            },
        )
    assert time.monotonic() - started < 10

    assert response.status_code == 200
    assert 'data-testid="revealed-arm"' in response.content.decode()
    assert EmergencyUnblinding.objects.get().requested_by == investigator
    # The alert is kept in the outbox for the sweep: not lost, not sent yet.
    alert = Alert.objects.get(kind="emergency_unblinding")
    assert alert.sent_at is None
    assert _outages() == ["broker", "cache"]


# -- the other pages behind the rate limits, and the pages that enqueue tasks -------------------


def test_randomization_exports_and_reports_answer_with_redis_and_the_broker_down(
    redis_everywhere, make_user, site01, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    all_lists()
    participant = ParticipantFactory(site=site01, status="enrolled")
    coordinator = make_user(Role.COORDINATOR)
    sponsor = make_user(Role.SPONSOR)
    monitor = make_user(Role.MONITOR)
    statistician = make_user(Role.STATISTICIAN)
    redis_everywhere.stop()
    started = time.monotonic()

    client = _sign_in(coordinator)
    url = f"/randomization/participant/{participant.study_id}/randomize/"
    client.post(url, {"respiratory_support": "face_mask"})
    done = client.post(
        url, {"respiratory_support": "face_mask", "confirm_step": "1", "confirm": "on"}
    )
    assert done.status_code == 302
    assert Randomization.objects.filter(participant=participant).exists()

    client = _sign_in(sponsor)
    started_export = client.post("/exports/new/", {}, follow=True)
    assert started_export.status_code == 200
    assert "The background worker could not be reached" in started_export.content.decode()
    run = ExportRun.objects.get()
    assert run.status == ExportStatus.FAILED  # not left "queued" for a worker that never hears
    assert "broker unreachable" in run.error
    assert run.finished_at is not None

    client = _sign_in(monitor)
    prepared = client.post("/dashboards/reports/prepare/blank-crfs/", follow=True)
    assert prepared.status_code == 200
    assert "the report is queued" in prepared.content.decode()
    # Kept for the sweep (dashboards.services.reports_sweep) to hand over again.
    assert PreparedReport.objects.get().status == ReportStatus.QUEUED

    client = _sign_in(statistician)
    rlist = Randomization.objects.get().slot.randomization_list
    assert client.get(f"/randomization/lists/{rlist.pk}/csv/").status_code == 200

    assert time.monotonic() - started < 20
    assert _outages() == ["broker", "cache"]  # many requests, one line each


# -- Redis back -----------------------------------------------------------------------------------


def test_when_redis_is_back_the_cache_and_the_broker_are_used_again(
    redis_everywhere, settings, make_user
):
    settings.CACHE_RETRY_SECONDS = 3600  # this process does not try the cache again on its own
    user = make_user(Role.MONITOR)
    redis_everywhere.stop()
    _sign_in(user)
    with pytest.raises(BrokerUnavailable):
        task_publish(_probe_task())
    counted_in_database = RateLimitCount.objects.count()
    assert counted_in_database == 2  # the user at this address, and the address

    redis_everywhere.start()
    _sign_in(user)
    assert RateLimitCount.objects.count() == counted_in_database  # still paused
    cache_retry_now()  # the retry time is over
    _sign_in(user)
    task_publish(_probe_task())

    assert RateLimitCount.objects.count() == counted_in_database
    keys = [key.decode() for key in redis_everywhere.client().keys("*ratelimit:login*")]
    assert any(f"username:{user.username}" in key for key in keys), keys
    assert redis_everywhere.client().llen("celery") == 1  # the task is in the queue
    assert _outages() == ["broker", "cache"]
    assert _outages(SecurityEventKind.SERVICE_RESTORED) == ["broker", "cache"]


def test_a_second_outage_is_logged_again(redis_everywhere, make_user):
    user = make_user(Role.MONITOR)
    for _ in range(2):
        redis_everywhere.stop()
        _sign_in(user)
        _sign_in(user)
        redis_everywhere.start()
        cache_retry_now()
        _sign_in(user)
    assert _outages() == ["cache", "cache"]
    assert _outages(SecurityEventKind.SERVICE_RESTORED) == ["cache", "cache"]


def test_another_process_that_finds_the_outage_logged_does_not_log_it_again(
    redis_everywhere, make_user
):
    user = make_user(Role.MONITOR)
    redis_everywhere.stop()
    _sign_in(user)
    outages.forget()  # a second gunicorn worker: its own memory, the same database
    cache_retry_now()
    _sign_in(user)
    assert _outages() == ["cache"]


# -- the kept connection (issue 24): one per process, never stale, never hung for long ---------


def _connections_received(server) -> int:
    return server.client().info("stats")["total_connections_received"]


def test_publishes_go_through_one_kept_connection(redis_everywhere):
    before = _connections_received(redis_everywhere)
    for _ in range(20):
        task_publish(_probe_task())
    # One kept connection for the twenty: two sockets (kombu's channel checks the broker on one
    # and publishes on the other), opened once; and one for the count itself. A connection per
    # publish was 2 × 20 + 1.
    assert _connections_received(redis_everywhere) - before == 2 + 1
    assert redis_everywhere.client().llen("celery") == 20


def test_a_broker_restart_does_not_fail_the_next_publish(redis_everywhere):
    """The kept connection's socket is closed by the restart: it is opened again before use."""
    task_publish(_probe_task())
    redis_everywhere.stop()
    redis_everywhere.start()  # same port, empty: the first task went with the old server
    started = time.monotonic()
    task_publish(_probe_task())
    assert time.monotonic() - started < 1
    assert redis_everywhere.client().llen("celery") == 1
    assert _outages() == []  # no request saw the broker down


def test_a_kept_connection_to_a_broker_that_hangs_costs_one_timeout_and_is_dropped(
    redis_everywhere, settings
):
    settings.TASK_PUBLISH_TIMEOUT_SECONDS = 0.5
    task_publish(_probe_task())
    redis = redis_everywhere.client()
    redis.client_pause(5000, all=False)  # writes hang: the broker stops taking tasks
    try:
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            task_publish(_probe_task())
        hung = time.monotonic() - started
    finally:
        redis.client_unpause()
    task_publish(_probe_task())  # a fresh connection: the one that timed out was not kept
    assert hung < settings.TASK_PUBLISH_TIMEOUT_SECONDS + 1  # one try, no retry loop
    assert _outages() == ["broker"]
    assert _outages(SecurityEventKind.SERVICE_RESTORED) == ["broker"]


# -- a hung Redis (accepts, never answers) costs milliseconds, not seconds -------------------------


@pytest.fixture
def hung_redis():
    """A server that accepts connections and never answers (Redis stuck, or a half-dead link)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_hung_redis_costs_one_short_timeout_per_retry_period(hung_redis, settings, make_user):
    settings.CACHES = {"default": redis_cache(hung_redis)}
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    _use_broker(hung_redis)
    outages.forget()
    cache_retry_now()
    try:
        user = make_user(Role.MONITOR)
        started = time.monotonic()
        _sign_in(user)
        first = time.monotonic() - started
        started = time.monotonic()
        for _ in range(5):
            _sign_in(user)
        next_five = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            task_publish(_probe_task())
        publish = time.monotonic() - started
    finally:
        app.conf.update(saved)
        _use_broker(None if saved["task_always_eager"] else saved["broker_url"])
        outages.forget()
        cache_retry_now()

    assert first < settings.CACHE_TIMEOUT_SECONDS + 2
    assert next_five < 2  # the cache is not tried again within CACHE_RETRY_SECONDS
    assert publish < settings.TASK_PUBLISH_TIMEOUT_SECONDS + 2  # was: forever
    assert _outages() == ["broker", "cache"]


# -- every cache use and every enqueue in a request goes the fail-safe way ----------------------

PRODUCT_APPS = (
    "kernel",
    "accounts",
    "trialedc",
    "participants",
    "randomization",
    "outcomes",
    "safety",
    "exports",
    "dashboards",
    "datamanagement",
)


def _product_sources():
    for app_dir in PRODUCT_APPS:
        for path in sorted((ROOT / app_dir).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, path.read_text()


def test_the_rate_limiter_is_the_only_user_of_the_cache():
    """A new cache use must fall back like accounts.ratelimit does (decision 0016)."""
    users = [
        str(path.relative_to(ROOT))
        for path, text in _product_sources()
        if re.search(r"django\.core\.cache import|django\.core import cache|\bcaches\[", text)
    ]
    assert users == ["accounts/ratelimit.py"]


def test_pages_hand_tasks_to_the_broker_only_through_task_publish():
    """`.delay` / `.apply_async` in a request would hang on a hung broker and 500 on a dead one."""
    offenders = [
        str(path.relative_to(ROOT))
        for path, text in _product_sources()
        if path.name in ("views.py", "alerts.py") and re.search(r"\.delay\(|\.apply_async\(", text)
    ]
    assert offenders == []


def _probe_task():
    from accounts.tasks import sessions_sweep_task

    return sessions_sweep_task
