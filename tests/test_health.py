"""/health/: what an operator's probe needs (issue 17), and /health/live/ for load balancers.

The broker tests use a redis-server of their own on a spare port (stopped by the test), a closed
port, or a socket that accepts and never answers: never the machine's Redis.
"""

import json
import socket
import time
from datetime import timedelta
from importlib import import_module

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from kernel.models import Alert, Heartbeat, HeartbeatProcess
from kernel.roles import Role
from kernel.services import worker_heartbeat_record
from kernel.tasks import heartbeat_task
from trialedc import health
from trialedc.celery import app

from .blinding import leak_markers
from .celery_worker import worker_fixup_connected, worker_running
from .factories import ParticipantFactory
from .own_redis import spare_port
from .randomization_factories import all_lists, randomized_participant
from .safety_factories import report_sae

pytestmark = pytest.mark.django_db

FAILING_MAIL = "tests.safety_mail.FailingBackend"
HEARTBEAT_SCHEDULE = "trialedc: worker heartbeat (for /health/)"


@pytest.fixture
def silent_broker():
    """A port that accepts connections and never answers: a hung broker."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


def beat_ran(*, ago: timedelta = timedelta(0)) -> None:
    """As beat does when it sends the heartbeat (django-celery-beat writes last_run_at)."""
    # The migration's schedule, again if a transactional test has emptied the tables since.
    import_module("kernel.migrations.0012_heartbeat_schedule").schedule(django_apps, None)
    PeriodicTask.objects.filter(name=HEARTBEAT_SCHEDULE).update(last_run_at=timezone.now() - ago)


@pytest.fixture
def all_up(broker, own_redis):
    """A deployment with a broker (our own Redis), a worker that just beat, beat that just ran."""
    broker(own_redis.url)
    heartbeat_task.apply()
    beat_ran()
    return own_redis


def get_health(client):
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    return response, response.json()


def statuses(body) -> dict[str, str]:
    return {name: component["status"] for name, component in body["components"].items()}


# --- All green, in both modes ---------------------------------------------------------------


def test_it_answers_200_with_every_component_ok_when_all_is_up(client, all_up, settings):
    settings.DATABASE_REPLICA_ROUTING = False  # no replica (one is checked further down)
    response, body = get_health(client)
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert statuses(body) == {
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "beat": "ok",
        "alert_outbox": "ok",
        "file_store": "ok",
        "replica": "not used",
    }
    assert body["components"]["worker"]["heartbeat_age_seconds"] <= 5
    assert body["components"]["beat"]["last_run_age_seconds"] <= 5
    assert body["components"]["alert_outbox"]["undelivered"] == 0
    assert "no-cache" in response["Cache-Control"]


def test_in_process_mode_answers_200_with_broker_worker_and_beat_not_used(client, settings):
    settings.DATABASE_REPLICA_ROUTING = False  # no replica (one is checked further down)
    assert app.conf.task_always_eager  # the tests' default: no REDIS_URL
    response, body = get_health(client)
    assert response.status_code == 200
    assert statuses(body) == {
        "database": "ok",
        "broker": "not used",
        "worker": "not used",
        "beat": "not used",
        "alert_outbox": "ok",
        "file_store": "ok",
        "replica": "not used",
    }


def test_the_database_answers_a_query_and_its_latency_is_shown(client):
    _, body = get_health(client)
    latency = body["components"]["database"]["latency_ms"]
    assert isinstance(latency, float)
    assert 0 <= latency < 1000


def test_a_database_that_fails_answers_503_and_what_it_holds_is_unknown(
    client, monkeypatch, all_up
):
    def refused():
        raise OperationalError('connection to server at "10.1.2.3", port 5432 failed')

    monkeypatch.setattr(health, "database_check", refused)
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["components"]["database"] == {"status": "down", "reason": "OperationalError"}
    assert statuses(body)["broker"] == "ok"
    for name in ("worker", "beat", "alert_outbox"):
        assert body["components"][name] == {"status": "unknown", "reason": "database down"}
    assert "10.1.2.3" not in response.content.decode()  # the error itself goes to the log only


# --- The broker -----------------------------------------------------------------------------


def test_a_broker_that_stops_answers_503_with_the_broker_down(client, all_up):
    assert get_health(client)[0].status_code == 200
    all_up.stop()

    started = time.monotonic()
    response, body = get_health(client)
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["components"]["broker"] == {"status": "down", "reason": "ConnectionError"}
    # The rest is read from the database, which still holds the recent heartbeat.
    assert statuses(body)["worker"] == "ok"
    assert str(all_up.port) not in response.content.decode()


def test_a_broker_on_a_closed_port_answers_503_at_once(client, broker):
    broker(f"redis://127.0.0.1:{spare_port()}/0")
    heartbeat_task.apply()
    beat_ran()
    started = time.monotonic()
    response, body = get_health(client)
    assert time.monotonic() - started < 1.5
    assert response.status_code == 503
    assert statuses(body)["broker"] == "down"


def test_a_broker_that_never_answers_costs_the_probe_only_the_timeout(
    client, broker, silent_broker, settings
):
    settings.HEALTH_BROKER_TIMEOUT_SECONDS = 0.3
    broker(silent_broker)
    started = time.monotonic()
    response, body = get_health(client)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert body["components"]["broker"] == {"status": "down", "reason": "TimeoutError"}
    assert 0.3 <= elapsed < 1.5  # one wait of the timeout, no retries


# --- The worker and beat --------------------------------------------------------------------


def test_a_worker_heartbeat_older_than_the_limit_answers_503(client, all_up, settings):
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 300
    with time_machine.travel(timezone.now() + timedelta(seconds=290)):
        beat_ran()
        response, body = get_health(client)
        assert response.status_code == 200
        assert body["components"]["worker"]["heartbeat_age_seconds"] >= 290
    with time_machine.travel(timezone.now() + timedelta(seconds=400)):
        beat_ran()  # beat runs; no worker takes its heartbeats
        response, body = get_health(client)
    assert response.status_code == 503
    worker = body["components"]["worker"]
    assert worker["status"] == "down"
    assert 400 <= worker["heartbeat_age_seconds"] < 410
    assert worker["limit_seconds"] == 300
    assert statuses(body)["beat"] == "ok"


def test_no_heartbeat_ever_answers_503_with_the_worker_down(client, broker, own_redis):
    broker(own_redis.url)
    beat_ran()
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["components"]["worker"] == {
        "status": "down",
        "heartbeat_age_seconds": None,
        "limit_seconds": 300,
        "reason": "no heartbeat recorded",
    }


def test_beat_that_stopped_running_answers_503(client, all_up, settings):
    settings.HEALTH_BEAT_MAX_AGE_SECONDS = 600
    beat_ran(ago=timedelta(minutes=11))
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["components"]["beat"]["status"] == "down"
    assert body["components"]["beat"]["last_run_age_seconds"] >= 660


def test_beat_schedules_the_heartbeat_every_minute_and_it_expires_unrun_after_one():
    migration = import_module("kernel.migrations.0012_heartbeat_schedule")
    # (A transactional test elsewhere may have flushed the rows the migration made.)
    migration.schedule(django_apps, None)
    schedule = PeriodicTask.objects.get(name=HEARTBEAT_SCHEDULE)
    assert schedule.enabled
    assert (schedule.interval.every, schedule.interval.period) == (1, "minutes")
    assert schedule.expire_seconds == 60
    assert schedule.task in app.tasks  # beat sends a task a worker knows

    # Edited in the admin (no deploy): a later migrate leaves the edit alone.
    schedule.expire_seconds = 90
    schedule.save()
    migration.schedule(django_apps, None)
    assert PeriodicTask.objects.get(name=HEARTBEAT_SCHEDULE).expire_seconds == 90


def test_a_real_worker_taking_the_heartbeat_from_the_broker_turns_the_worker_ok(
    transactional_db, client, broker, own_redis
):
    """What beat does every minute: publish the heartbeat; a worker runs it from the broker."""
    broker(own_redis.url)
    beat_ran()
    assert statuses(get_health(client)[1])["worker"] == "down"
    with worker_running(app, pool="threads", concurrency=1, perform_ping_check=False):
        assert worker_fixup_connected(app)  # Celery's Django fix-up, on worker_init
        with app.connection_for_write() as connection:
            heartbeat_task.apply_async(connection=connection)
        deadline = time.monotonic() + 30
        while not Heartbeat.objects.filter(process=HeartbeatProcess.WORKER).exists():
            assert time.monotonic() < deadline, "the worker never ran the heartbeat"
            time.sleep(0.1)
    # Stopped, the worker leaves nothing behind that would close a later test's connection.
    assert not worker_fixup_connected(app)
    response, body = get_health(client)
    assert response.status_code == 200, body
    assert statuses(body)["worker"] == "ok"


def test_recording_the_heartbeat_twice_keeps_one_row_with_the_latest_time():
    first = worker_heartbeat_record()
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        second = worker_heartbeat_record()
    assert Heartbeat.objects.count() == 1
    assert second.at - first.at >= timedelta(minutes=1)


# --- The alert outbox -----------------------------------------------------------------------


def test_an_sae_alert_undelivered_past_the_limit_answers_503_with_its_age(
    client, settings, make_user, site01, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING_MAIL  # the mail server is down: the alert stays pending
    settings.HEALTH_ALERT_MAX_AGE_SECONDS = 1800
    with django_capture_on_commit_callbacks(execute=True):
        report_sae(ParticipantFactory(site=site01), make_user(Role.COORDINATOR))
    assert Alert.objects.get().attempts == 1
    assert Alert.objects.filter(sent_at__isnull=True).count() == 1

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        response, body = get_health(client)
    assert response.status_code == 200
    outbox = body["components"]["alert_outbox"]
    assert outbox["status"] == "ok"
    assert outbox["undelivered"] == 1
    assert 1200 <= outbox["oldest_undelivered_age_seconds"] < 1210

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        response, body = get_health(client)
    assert response.status_code == 503
    assert body["components"]["alert_outbox"] == {
        "status": "down",
        "undelivered": 1,
        "oldest_undelivered_age_seconds": pytest.approx(1860, abs=10),
        "limit_seconds": 1800,
    }


def test_a_delivered_alert_counts_for_nothing(
    client, make_user, site01, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report_sae(ParticipantFactory(site=site01), make_user(Role.COORDINATOR))
    assert Alert.objects.filter(sent_at__isnull=False).count() == 1
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        response, body = get_health(client)
    assert response.status_code == 200
    assert body["components"]["alert_outbox"]["undelivered"] == 0
    assert body["components"]["alert_outbox"]["oldest_undelivered_age_seconds"] is None


# --- What it reveals, and to whom -----------------------------------------------------------


def test_it_shows_statuses_ages_and_counts_only_never_a_participant_or_an_arm(
    client, settings, make_user, site01, login
):
    settings.EMAIL_BACKEND = FAILING_MAIL
    all_lists()
    participant = randomized_participant(site=site01).participant
    report_sae(participant, make_user(Role.COORDINATOR))  # its alert waits in the outbox
    alert = Alert.objects.get()

    anonymous = client.get("/health/")
    login(make_user(Role.PHARMACIST, username="unblinded"))
    signed_in = client.get("/health/")

    for response in (anonymous, signed_in):
        text = response.content.decode()
        body = json.loads(text)
        assert set(body) == {"status", "checked_at", "duration_ms", "components"}
        assert set(body["components"]) == set(health.COMPONENTS)
        for component in body["components"].values():
            for key, value in component.items():
                if key in ("status", "reason"):
                    assert isinstance(value, str)
                    assert len(value) < 40
                else:
                    assert value is None or isinstance(value, int | float), (key, value)
        for secret in (participant.study_id, alert.subject, *alert.recipients, *leak_markers()):
            assert secret not in text
    # A signed-in (even unblinded) user is told nothing more than a stranger.
    assert anonymous.json()["components"].keys() == signed_in.json()["components"].keys()
    assert statuses(anonymous.json()) == statuses(signed_in.json())


def test_a_session_still_owing_its_second_factor_reaches_both_probes(client, settings, make_user):
    settings.TWO_FACTOR_ENFORCED = True
    client.force_login(make_user(Role.PHARMACIST))
    assert client.get("/").status_code == 302  # everything else sends to the set-up page
    assert client.get("/health/").status_code == 200
    assert client.get("/health/live/").status_code == 200


# --- Liveness -------------------------------------------------------------------------------


def test_liveness_answers_200_while_the_process_serves_even_with_everything_else_down(
    client, broker, monkeypatch
):
    broker(f"redis://127.0.0.1:{spare_port()}/0")
    monkeypatch.setattr(health, "database_check", lambda: 1 / 0)
    assert client.get("/health/").status_code == 503
    response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert client.head("/health/live/").status_code == 200
    assert client.head("/health/").status_code == 503
    assert client.post("/health/live/").status_code == 405


# --- Where the files are, and the replica (issue 25) -----------------------------------------


def test_a_media_folder_that_cannot_be_written_answers_503_with_the_file_store_down(
    client, settings, tmp_path
):
    settings.STORAGES = {  # this host's disk, even where the suite runs with an object store
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"  # not there yet: made at the first write
    response, body = get_health(client)
    assert (response.status_code, statuses(body)["file_store"]) == (200, "ok")

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder's parent should be")
    settings.MEDIA_ROOT = blocker / "media"
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["components"]["file_store"] == {"status": "down", "reason": "not writable"}
    assert str(tmp_path) not in response.content.decode()


@pytest.fixture
def object_store(settings):
    from .object_store import OwnObjectStore

    server = OwnObjectStore()
    store = server.start()
    settings.STORAGES = store.storages()
    try:
        yield store
    finally:
        server.stop()


def test_an_object_store_that_answers_is_ok_and_a_missing_bucket_is_down(
    client, settings, object_store
):
    response, body = get_health(client)
    assert (response.status_code, statuses(body)["file_store"]) == (200, "ok")
    assert isinstance(body["components"]["file_store"]["latency_ms"], float)

    storages = object_store.storages()
    storages["default"]["OPTIONS"]["bucket_name"] = "no-such-bucket"
    settings.STORAGES = storages
    response, body = get_health(client)
    assert response.status_code == 503
    assert body["components"]["file_store"] == {"status": "down", "reason": "ClientError"}
    assert "no-such-bucket" not in response.content.decode()


def test_an_object_store_that_never_answers_costs_the_probe_only_the_timeout(
    client, settings, silent_broker
):
    from .object_store import ObjectStore

    endpoint = silent_broker.replace("redis://", "http://").removesuffix("/0")
    settings.STORAGES = ObjectStore(endpoint=endpoint, bucket="edc-silent").storages()
    settings.HEALTH_STORE_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    response, body = get_health(client)
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert body["components"]["file_store"]["status"] == "down"


@pytest.mark.django_db(databases=["default", "replica"])
def test_a_replica_is_checked_when_configured_and_one_that_fails_is_degraded_not_down(
    client, settings, monkeypatch
):
    from django.db import connections

    settings.DATABASE_REPLICA_ROUTING = True
    response, body = get_health(client)
    # The tests' replica is a mirror of the test database, no standby: nothing to measure.
    assert response.status_code == 200
    assert body["components"]["replica"] == {
        "status": "ok",
        "lag_bytes": None,
        "replay_age_seconds": None,
        "limit_seconds": 120,
    }

    def refuse(*args, **kwargs):
        raise OperationalError('connection to server at "10.9.9.9", port 5432 failed')

    monkeypatch.setattr(connections["replica"], "cursor", refuse)
    response, body = get_health(client)
    # Reads go to the primary meanwhile (kernel/replica.py): the trial works, slower.
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["components"]["replica"] == {"status": "degraded", "reason": "OperationalError"}
    assert "10.9.9.9" not in response.content.decode()
    with pytest.raises(CommandError, match=r"^health: replica degraded \(see above\)$"):
        call_command("health", "--component", "replica")
    call_command("health", "--component", "database")


def test_a_standby_behind_and_replaying_nothing_past_the_limit_is_degraded():
    check = health.replica_check
    assert check(lag_bytes=0, replay_age=86_400, limit=120).status == "ok"  # idle primary
    assert check(lag_bytes=4096, replay_age=120, limit=120).status == "ok"
    assert check(lag_bytes=4096, replay_age=121, limit=120).status == "degraded"
    assert check(lag_bytes=4096, replay_age=None, limit=120).status == "degraded"
    assert check(lag_bytes=None, replay_age=None, limit=120).status == "ok"  # not a standby


# --- The command line -----------------------------------------------------------------------


def test_the_command_prints_one_line_and_fails_only_for_the_components_asked(
    broker, own_redis, capsys
):
    broker(own_redis.url)
    heartbeat_task.apply()  # the worker is fine; beat never ran
    with pytest.raises(CommandError, match=r"^health: beat down \(see above\)$"):
        call_command("health")
    line = capsys.readouterr().out.strip()
    assert line.startswith("down: database ok (latency_ms=")
    assert (
        "beat down (last_run_age_seconds=None, limit_seconds=600, reason=no run recorded)" in line
    )

    call_command("health", "--component", "worker", "--component", "broker")
    assert capsys.readouterr().out.startswith("down: ")

    with pytest.raises(CommandError):
        call_command("health", "--json", "--component", "beat")
    assert json.loads(capsys.readouterr().out)["components"]["beat"]["status"] == "down"


def test_the_command_counts_a_component_it_cannot_read_as_failing(broker, own_redis, monkeypatch):
    broker(own_redis.url)
    heartbeat_task.apply()
    beat_ran()
    call_command("health", "--component", "beat")
    monkeypatch.setattr(health, "database_check", lambda: 1 / 0)
    with pytest.raises(CommandError, match=r"^health: beat unknown \(see above\)$"):
        call_command("health", "--component", "beat")


# --- The rules themselves -------------------------------------------------------------------


def test_an_age_exactly_at_the_limit_is_still_ok_and_a_clock_ahead_is_age_zero():
    now = timezone.now()
    check = health.age_check
    at_limit = check(at=now - timedelta(seconds=300), now=now, limit=300, age="a", never="n")
    assert at_limit.status == "ok"
    over = check(at=now - timedelta(seconds=301), now=now, limit=300, age="a", never="n")
    assert over.status == "down"
    ahead = check(at=now + timedelta(seconds=5), now=now, limit=300, age="a", never="n")
    assert (ahead.status, ahead.facts["a"]) == ("ok", 0)
