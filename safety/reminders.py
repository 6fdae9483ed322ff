"""Reminders (SPEC §5, §7): written to the outbox like every alert, once per occasion.

- an SAE with no follow-up 24 hours after its last report;
- a SUSAR clock with 2 days, then 1 day, left: while the case awaits the safety physician's
  unblinding to everyone the SAE alerts; after it, for a SUSAR in the product arm only, to the
  safety physicians only (expedited report, and the completing report of a 7-day one);
- each site's daily visit digest for its coordinators (outcomes.selectors.visit_digest).

Each reminder has a dedupe key, so running a sweep twice (or two beats at once) sends nothing
twice. "Missing CRFs become queries" waits for the data-management issue (docs/safety.md).
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from kernel.models import Site
from kernel.trial import TRIAL
from outcomes.selectors import visit_digest

from . import notifications, rules, selectors
from .models import AdverseEvent


def _open_serious_events():
    return AdverseEvent.objects.filter(serious=True).select_related(
        "participant__site", "susar_case"
    )


def reminders_send(*, now: datetime | None = None) -> dict[str, int]:
    """Queue the follow-up and SUSAR-clock reminders that are due at `now`."""
    now = now or timezone.now()
    follow_ups = susar = 0
    with transaction.atomic():
        for ae in _open_serious_events().prefetch_related("reports"):
            due = selectors.follow_up_due_at(ae)
            if due is not None and due <= now:
                report = selectors.last_report(ae)
                follow_ups += notifications.follow_up_due_alert(ae=ae, report=report)
            if ae.susar_clock_open and ae.susar_deadline is not None:
                days_left = rules.susar_reminder_due(
                    deadline=ae.susar_deadline, now=now, days_left=TRIAL.susar_reminder_days_left
                )
                if days_left:
                    susar += notifications.susar_clock_alert(ae=ae, days_left=days_left)
            case = ae.susar_case_or_none if ae.is_susar else None
            if case is not None:
                susar += _case_reminders(case, now=now)
    return {"follow_up_due": follow_ups, "susar_clock": susar}


def _case_reminders(case, *, now: datetime) -> int:
    """A case unblinded as a SUSAR: its expedited and completing reports' clocks, to the safety
    physicians only. A placebo case has no clock (not a SUSAR, ICH E2A III.C)."""
    sent = 0
    for completion, is_open, deadline in (
        (False, case.clock_open, case.deadline),
        (True, case.completion_open, case.completion_deadline),
    ):
        if not is_open or deadline is None:
            continue
        days_left = rules.susar_reminder_due(
            deadline=deadline, now=now, days_left=TRIAL.susar_reminder_days_left
        )
        if days_left:
            sent += notifications.susar_case_clock_alert(
                case=case, days_left=days_left, completion=completion
            )
    return sent


def site_today(site: Site, *, now: datetime | None = None) -> date:
    now = now or timezone.now()
    return now.astimezone(zoneinfo.ZoneInfo(site.time_zone)).date()


def visit_digests_send(*, now: datetime | None = None) -> dict[str, int]:
    """One digest per site with something to say, to the site's coordinators."""
    sent = 0
    with transaction.atomic():
        for site in Site.objects.order_by("code"):
            today = site_today(site, now=now)
            digest = visit_digest(site=site, today=today)
            if not any(digest.get(key) for key in ("opening_tomorrow", "due_today", "overdue")):
                continue
            recipients = selectors.site_coordinator_emails(site=site)
            if not recipients:
                continue
            sent += notifications.visit_digest_alert(
                site=site, today=today, digest=digest, recipients=recipients
            )
    return {"digests": sent}
