"""kernel.broker builds a task's message itself (issue 24, randomization fourth step): the message
must be the one Celery's apply_async publishes, in every field a worker reads, and a worker must
execute it. Outages, timeouts and the kept connections: tests/test_redis_down.py."""

import base64
import json

import pytest
from celery import signals
from celery.worker.request import Request
from django.core import mail
from kombu import Connection

from kernel import broker
from kernel.broker import kept_connections_close, task_publish
from kernel.models import Alert, AlertKind
from kernel.tasks import alert_deliver_task
from trialedc.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_of_our_own(own_redis):
    """Celery publishes to the test's redis-server for real, through kernel.broker."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    app.conf.task_always_eager = False
    app.conf.broker_url = own_redis.url
    app._pool = None
    app.amqp._producer_pool = None
    kept_connections_close()
    yield own_redis
    kept_connections_close()
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None


def _queued(server) -> list[dict]:
    """The raw messages waiting in Celery's default queue, oldest first."""
    return [json.loads(raw) for raw in reversed(server.client().lrange("celery", 0, -1))]


def _body(message: dict):
    return json.loads(base64.b64decode(message["body"]))


def _apply_async(**kwargs) -> None:
    """What kernel.broker published before issue 24's fourth step, on a connection of its own."""
    with app.connection_for_write() as connection:
        alert_deliver_task.apply_async(
            kwargs=kwargs, producer=app.amqp.Producer(connection, auto_declare=False), retry=False
        )


def _alert() -> Alert:
    return Alert.objects.create(
        kind=AlertKind.DOSE_TO_PREPARE,
        subject="Trial EDC: a dose to prepare at site 01",
        body="Participant 01-0001 was randomized at site 01: a dose to prepare.",
        recipients=["pharmacist@example.org"],
    )


def test_the_message_is_apply_asyncs_in_every_field_but_its_id(broker_of_our_own):
    task_publish(alert_deliver_task, alert_id=7)
    task_publish(alert_deliver_task, alert_id=8)  # the second one, from the message kept
    _apply_async(alert_id=8)
    first, ours, celerys = _queued(broker_of_our_own)
    assert _body(first)[1] == {"alert_id": 7}
    # The per-message fields: a new id (task id, root id, correlation id; kombu's delivery tag).
    for message in (ours, celerys):
        task_id = message["headers"]["id"]
        assert message["headers"]["root_id"] == message["properties"]["correlation_id"] == task_id
        assert message["properties"].pop("delivery_tag")
        for field in ("id", "root_id"):
            message["headers"].pop(field)
        message["properties"].pop("correlation_id")
    assert ours["headers"]["task"] == "safety.alert_deliver"
    assert ours["headers"]["kwargsrepr"] == "{'alert_id': 8}"
    assert ours["headers"]["argsrepr"] == "()"
    # Everything else, byte for byte once decoded: headers (task, origin, retries, time limits,
    # eta, expires, ignore_result, stamps...), properties (reply_to of this thread, delivery
    # mode, the exchange and routing key, priority), content type and encoding, the body.
    assert ours == celerys
    assert _body(ours) == [
        [],
        {"alert_id": 8},
        {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
    ]
    assert ours["properties"]["delivery_info"] == {"exchange": "", "routing_key": "celery"}
    assert ours["properties"]["delivery_mode"] == 2  # persistent, as Celery's default


def test_a_worker_executes_the_message_and_the_email_is_sent(broker_of_our_own):
    alert = _alert()
    task_publish(alert_deliver_task, alert_id=alert.pk)
    # The worker's side: the message as kombu hands it to a worker, run by Celery's Request
    # (the worker's code: it reads the headers, decodes the body, traces the task).
    with Connection(broker_of_our_own.url) as connection:
        message = connection.SimpleQueue("celery").get(timeout=5)
        name = message.headers["task"]
        request = Request(message, app=app, task=app.tasks[name])
        request.execute()
        message.ack()
    alert.refresh_from_db()
    assert alert.sent_at is not None
    assert [m.to for m in mail.outbox] == [["pharmacist@example.org"]]


def test_with_a_publish_signal_receiver_celerys_apply_async_publishes(broker_of_our_own):
    """A receiver of before_task_publish expects to be called: the message is then Celery's."""
    seen = []

    def receiver(sender=None, headers=None, **kwargs):
        seen.append((sender, headers["id"]))

    signals.before_task_publish.connect(receiver, weak=False)
    try:
        task_publish(alert_deliver_task, alert_id=3)
    finally:
        signals.before_task_publish.disconnect(receiver)
    (message,) = _queued(broker_of_our_own)
    assert seen == [("safety.alert_deliver", message["headers"]["id"])]
    assert _body(message)[1] == {"alert_id": 3}


def test_each_kept_connection_declares_the_queue_once(broker_of_our_own, monkeypatch):
    declared = []
    publish = broker._Message.publish

    def spy(self, producer, kwargs, *, declare):
        declared.append(declare)
        return publish(self, producer, kwargs, declare=declare)

    monkeypatch.setattr(broker._Message, "publish", spy)
    for alert_id in range(3):
        task_publish(alert_deliver_task, alert_id=alert_id)
    assert declared == [True, False, False]
    assert len(_queued(broker_of_our_own)) == 3


def test_an_argument_the_task_does_not_take_is_refused_as_apply_async_refuses_it(
    broker_of_our_own,
):
    task_publish(alert_deliver_task, alert_id=1)  # the message is kept from here on
    with pytest.raises(broker.BrokerUnavailable):
        task_publish(alert_deliver_task, alert=1)
    assert len(_queued(broker_of_our_own)) == 1


def test_a_kept_connection_publishes_through_one_redis_client(broker_of_our_own, monkeypatch):
    """kombu made a redis.Redis object per command; the kept connection's channel makes one."""
    import redis

    made = []
    init = redis.Redis.__init__

    def spy(self, *args, **kwargs):
        made.append(kwargs.get("connection_pool"))
        init(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", spy)
    task_publish(alert_deliver_task, alert_id=0)  # opens the kept connection (kombu's own too)
    opened = len(made)
    for alert_id in range(1, 6):
        task_publish(alert_deliver_task, alert_id=alert_id)
    assert len(made) == opened  # none per publish (a fresh redis.Redis each before)
    assert [_body(m)[1]["alert_id"] for m in _queued(broker_of_our_own)] == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alert_id": 8},
        {"alert_id": 10**40},
        {"report_id": -3, "run_id": 0},
        {"run_id": "8"},
        {"alert_id": True},
        {"alert_id": 8, "ids": [1, 2, {"a": [3]}]},
    ],
)
def test_the_kwargsrepr_header_is_celerys_saferepr_whatever_its_limit(kwargs):
    """Whole-number arguments written by repr (issue 24, sixth step): the same text as Celery's
    saferepr, cut the same way past the limit, for every limit around the text's length."""
    for maxsize in range(1, len(repr(kwargs)) + 3):
        app.amqp.kwargsrepr_maxsize, saved = maxsize, app.amqp.kwargsrepr_maxsize
        try:
            expected = broker.saferepr(kwargs, maxsize, maxlevels=app.conf.task_repr_maxlevels)
            assert broker._kwargsrepr(kwargs, app) == expected
        finally:
            app.amqp.kwargsrepr_maxsize = saved


def test_whole_number_arguments_are_written_without_celerys_saferepr(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("saferepr called")

    monkeypatch.setattr(broker, "saferepr", refused)
    assert broker._kwargsrepr({"alert_id": 8}, app) == "{'alert_id': 8}"
