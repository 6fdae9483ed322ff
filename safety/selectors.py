"""Reads of the safety app that pages, PDFs and reminders share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.access import scope_to_sites
from kernel.models import UNBLINDED_ALERT_KINDS, Alert, Site, User
from kernel.roles import Role, is_blinded
from kernel.trial import TRIAL

from . import rules
from .models import AdverseEvent, SAEReport, SusarCase


def adverse_events_for(user) -> QuerySet[AdverseEvent]:
    """The AEs of the sites `user` may see (trial-wide for the trial-level roles)."""
    return scope_to_sites(
        AdverseEvent.objects.select_related("participant__site", "causality_signed_by"),
        user,
        site_path="participant__site",
    )


def serious_events_for(user) -> QuerySet[AdverseEvent]:
    return (
        adverse_events_for(user)
        .filter(serious=True)
        # The SUSAR case (issue 19) is read for each clock: with the event, not one by one.
        .select_related("susar_case")
        .prefetch_related(Prefetch("reports", queryset=SAEReport.objects.order_by("number")))
    )


def _emails(users) -> list[str]:
    return sorted({u.email for u in users if u.email})


def _site_users(site: Site, *roles: Role):
    return User.objects.filter(
        is_active=True, sites=site, groups__name__in=[r.value for r in roles]
    ).distinct()


def sae_alert_recipients(*, site: Site) -> list[str]:
    """The site's investigators (PI), the sponsor's safety contact and the medical monitor."""
    investigators = _emails(_site_users(site, Role.INVESTIGATOR))
    return sorted({*investigators, *TRIAL.sponsor_safety_contacts, *TRIAL.medical_monitors} - {""})


def safety_physician_emails() -> list[str]:
    """The sponsor's safety physicians (ICH E2A III.C); the sponsor's safety contacts if none
    has an e-mail, so that a suspected SUSAR always reaches someone who may unblind it."""
    physicians = _emails(
        User.objects.filter(is_active=True, groups__name=Role.SAFETY_PHYSICIAN.value).distinct()
    )
    return physicians or sorted(set(TRIAL.sponsor_safety_contacts) - {""})


def susar_alert_recipients(*, site: Site) -> list[str]:
    """A suspected SUSAR before its case unblinding: the SAE recipients and the physicians."""
    return sorted({*sae_alert_recipients(site=site), *safety_physician_emails()})


def suspected_susars() -> list[AdverseEvent]:
    """Every suspected SUSAR of the trial (serious, related, unexpected), for the sponsor's
    safety physician: the cases to unblind, then the ones unblinded. No identifying data."""
    events = (
        AdverseEvent.objects.filter(serious=True, expected=False)
        .filter(relationship__in=sorted(rules.SUSPECTED_RELATIONSHIPS))
        .select_related("participant__site", "susar_case__assessed_by")
        .order_by("aware_at", "pk")
    )
    return [ae for ae in events if ae.is_susar]


def susar_cases_to_act_on() -> int:
    """Cases awaiting unblinding, or a report, for the safety physician's home card."""
    return sum(
        1
        for ae in suspected_susars()
        if ae.susar_case_or_none is None
        or ae.susar_case.clock_open
        or ae.susar_case.completion_open
    )


def susar_case_of(ae: AdverseEvent) -> SusarCase | None:
    return SusarCase.objects.filter(adverse_event=ae).select_related("assessed_by").first()


def site_staff_emails(*, site: Site) -> list[str]:
    return _emails(_site_users(site, Role.INVESTIGATOR, Role.COORDINATOR))


def site_coordinator_emails(*, site: Site) -> list[str]:
    return _emails(_site_users(site, Role.COORDINATOR))


@dataclass(frozen=True)
class Clock:
    """One open safety deadline, as the safety page shows it."""

    ae: AdverseEvent
    kind: str  # "susar" or "follow_up"
    label: str
    deadline: datetime
    now: datetime

    @property
    def left(self) -> timedelta:
        return self.deadline - self.now

    @property
    def overdue(self) -> bool:
        return self.left <= timedelta(0)

    @property
    def colour(self) -> str:
        """Bootstrap colour: red when overdue or under a day, amber under two days."""
        if self.overdue or self.left <= timedelta(days=1):
            return "danger"
        if self.left <= timedelta(days=2):
            return "warning"
        return "success"

    @property
    def left_text(self) -> str:
        span = abs(self.left)
        days, hours = span.days, span.seconds // 3600
        minutes = (span.seconds % 3600) // 60
        text = (
            _("%(d)s d %(h)s h") % {"d": days, "h": hours}
            if days
            else _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
        )
        return (
            _("overdue by %(t)s") % {"t": text} if self.overdue else _("%(t)s left") % {"t": text}
        )


def last_report(ae: AdverseEvent) -> SAEReport | None:
    reports = list(ae.reports.all())
    return max(reports, key=lambda r: r.number) if reports else None


def follow_up_due_at(ae: AdverseEvent) -> datetime | None:
    """When the next follow-up of an open SAE is due: 24 h after its last report."""
    report = last_report(ae)
    if report is None or report.outcome_final or not ae.follow_up_open:
        return None
    return report.submitted_at + timedelta(hours=TRIAL.sae_follow_up_reminder_hours)


def open_clocks(*, user, now: datetime | None = None) -> list[Clock]:
    """Every open SUSAR clock and SAE follow-up the user may see, soonest deadline first."""
    now = now or timezone.now()
    clocks: list[Clock] = []
    for ae in serious_events_for(user):
        if ae.susar_clock_open and ae.susar_deadline is not None:
            clocks.append(
                Clock(
                    ae=ae,
                    kind="susar",
                    label=_("SUSAR expedited report (%(days)s-day clock)")
                    % {"days": ae.susar_clock_days},
                    deadline=ae.susar_deadline,
                    now=now,
                )
            )
        due = follow_up_due_at(ae)
        if due is not None:
            clocks.append(
                Clock(
                    ae=ae, kind="follow_up", label=_("SAE follow-up report"), deadline=due, now=now
                )
            )
    return sorted(clocks, key=lambda c: c.deadline)


def open_clock_count(user) -> int:
    return len(open_clocks(user=user))


def alerts_for(user) -> QuerySet[Alert]:
    """The outbox: trial-wide alerts for trial-level roles, own-site ones otherwise."""
    alerts = Alert.objects.select_related("participant__site")
    if is_blinded(user):
        # Whether these exist follows the arm of a SUSAR case: not for blinded eyes.
        alerts = alerts.exclude(kind__in=sorted(UNBLINDED_ALERT_KINDS))
    return alerts.filter(participant__isnull=True) | scope_to_sites(
        alerts, user, site_path="participant__site"
    )


def alerts_pending_count() -> int:
    pending = Alert.objects.filter(sent_at__isnull=True)
    return pending.exclude(kind__in=sorted(UNBLINDED_ALERT_KINDS)).count()


def participant_age(participant, *, on: date) -> int | None:
    """Age in whole years on `on`, if the date of birth is recorded; None otherwise.

    Only the age leaves this function (the CIOMS form asks for it); the date of birth is
    identifying and is printed nowhere.
    """
    born = getattr(getattr(participant, "identity", None), "date_of_birth", None)
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
