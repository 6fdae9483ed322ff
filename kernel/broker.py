"""Handing a task to the broker from a request (decision 0016). The Celery app is the project's
(trialedc/celery.py); it is reached through the task handed in, so the kernel imports no project
module."""


class BrokerUnavailable(Exception):
    """The broker could not take the task; the row that asked for it stays for its sweep."""


def task_publish(task, /, **kwargs) -> None:
    """Hand `task(**kwargs)` to a worker from a request: one try, a short timeout (decision 0016).

    A fresh connection each time (these tasks are rare): no stale pooled connection to a broker
    that went away, no client-side retry loop, and a read timeout, so a dead or hung broker costs
    the request TASK_PUBLISH_TIMEOUT_SECONDS at most instead of kombu's retries, or forever.
    Raises BrokerUnavailable, after writing the outage once to the security log; without a broker
    (eager) the task runs here and its errors propagate as they are."""
    from django.conf import settings

    from . import outages

    app = task.app
    if app.conf.task_always_eager:
        task.delay(**kwargs)
        return
    timeout = settings.TASK_PUBLISH_TIMEOUT_SECONDS
    try:
        with app.connection_for_write(
            connect_timeout=timeout,
            transport_options={
                "max_retries": 0,
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
            },
        ) as connection:
            task.apply_async(kwargs=kwargs, connection=connection, retry=False)
    except Exception as error:  # broker down, hung, network: anything on the way to it
        outages.service_down(service=outages.BROKER, error=error)
        raise BrokerUnavailable(str(error)) from error
    outages.service_up(service=outages.BROKER)
