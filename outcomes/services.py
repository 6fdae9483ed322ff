"""Every write the outcomes app does (issue 6 fills this module)."""

from __future__ import annotations

from datetime import date


def visit_schedule_create(*, participant, day0: date) -> None:
    """Create the participant's scheduled visits from Day 0 (SPEC §4).

    Contract: randomization calls this inside its assignment transaction, with Day 0 = the day
    of randomization. Until the visit schedule exists (issue 6) it does nothing.
    """
    return None
