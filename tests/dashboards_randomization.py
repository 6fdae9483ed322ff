"""Allocations for the dashboards' tests (while the randomization app has no models, the
dashboards take the randomized count from the visit schedule, which randomization creates)."""

from __future__ import annotations

from dashboards import allocation

from . import outcomes_factories


def randomize(participant, *, user, day0=None) -> None:
    """Randomize one participant the way the product does, with its visit schedule."""
    if allocation.randomization_model() is None:
        outcomes_factories.schedule(participant, day0=day0)
        return
    raise NotImplementedError  # filled in when the randomization app is merged


def bulk_randomize(participants, *, user, today) -> None:
    """Give each participant (with a visit schedule) a slot; arms alternate."""
    if allocation.randomization_model() is None:
        return
    raise NotImplementedError  # filled in when the randomization app is merged
