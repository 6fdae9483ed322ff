"""Celery tasks of the exports app: thin wrappers that take IDs and call the services."""

from __future__ import annotations

from celery import shared_task
from django.utils.translation import gettext as _

from kernel.broker import BrokerUnavailable, task_publish

from . import services


@shared_task(name="exports.build", acks_late=True)
def export_build_task(*, run_id: int) -> str:
    run = services.export_run_build(run_id=run_id)
    return run.status


@shared_task(name="exports.sweep")
def exports_sweep_task() -> dict:
    return services.exports_sweep()


def export_hand_over(*, run_id: int) -> str | None:
    """Hand a started run to the worker (or, without a broker, build it here): None when that
    went well, else what the user is told (the failure is recorded on the run). Shared by the
    export page and the API, so both start an export the same way."""
    try:
        task_publish(export_build_task, run_id=run_id)
    except BrokerUnavailable:
        services.export_run_fail(
            run_id=run_id,
            reason=_("The background worker could not be reached (broker unreachable)."),
        )
        return _(
            "The background worker could not be reached, so the export was not started. "
            "Start it again in a few minutes."
        )
    except Exception as error:  # noqa: BLE001 - the failure is recorded on the run and shown
        # A build that ran here recorded its own failure; anything else that stopped the
        # hand-over is recorded now (a no-op in the first case).
        services.export_run_fail(
            run_id=run_id,
            reason=_("The export could not be handed to a worker (%(kind)s).")
            % {"kind": type(error).__name__},
        )
        return _("The export could not be built; see its status page.")
    return None
