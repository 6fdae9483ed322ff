"""Reads of the outcomes app that pages, reminders and exports share (issue 6 fills it)."""

from __future__ import annotations

from datetime import date


def visit_digest(*, site, today: date) -> dict[str, list[dict]]:
    """The visits of `site` that need a coordinator's attention on `today` (SPEC §7).

    Contract (used by the safety app's daily digest): a dict with the keys "opening_tomorrow",
    "due_today" and "overdue", each a list of {"study_id", "visit", "target_date",
    "window_start", "window_end"} dicts, ordered by target date. No arm, no identifying data.
    Until the visit schedule exists (issue 6) every list is empty.
    """
    return {"opening_tomorrow": [], "due_today": [], "overdue": []}
