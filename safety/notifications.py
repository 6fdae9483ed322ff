"""What the safety e-mails say and to whom they go; each writes one outbox row (alerts.py).

Blinding and privacy (SPEC §1, §5): an e-mail carries the study ID, the event, its grade and
seriousness, and a link; never the arm, a name, a national ID or a date of birth. The bodies are
templates under templates/safety/email/.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from trialedc.trial import TRIAL

from . import selectors
from .alerts import alert_create
from .models import AdverseEvent, AlertKind, SAEReport


def _link(path: str) -> str:
    base = getattr(settings, "EDC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{path}"


def _event_name(ae: AdverseEvent) -> str:
    return ae.preferred_term or ae.verbatim_term


def _render(template: str, context: dict) -> str:
    return render_to_string(f"safety/email/{template}", {"TRIAL": TRIAL, **context}).strip()


def sae_report_alert(*, report: SAEReport) -> None:
    ae = report.adverse_event
    kind = AlertKind.SAE_INITIAL if report.number == 0 else AlertKind.SAE_FOLLOW_UP
    label = "SUSAR" if ae.is_susar else "SAE"
    which = "initial report" if report.number == 0 else f"follow-up {report.number}"
    subject = (
        f"[{TRIAL.acronym}] {label} {ae.participant.study_id} AE {ae.number}: "
        f"{_event_name(ae)}, grade {ae.ctcae_grade} ({which})"
    )
    body = _render(
        "sae_alert.txt",
        {
            "ae": ae,
            "report": report,
            "label": label,
            "event_name": _event_name(ae),
            "link": _link(reverse("safety:ae_detail", args=[ae.pk])),
        },
    )
    alert_create(
        kind=kind,
        subject=subject,
        body=body,
        recipients=selectors.sae_alert_recipients(site=ae.participant.site),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"sae-report:{report.pk}",
    )


def susar_identified_alert(*, ae: AdverseEvent) -> None:
    subject = (
        f"[{TRIAL.acronym}] SUSAR {ae.participant.study_id} AE {ae.number}: "
        f"{_event_name(ae)} — expedited report due in {ae.susar_clock_days} days"
    )
    body = _render(
        "susar_identified.txt",
        {
            "ae": ae,
            "event_name": _event_name(ae),
            "link": _link(reverse("safety:ae_detail", args=[ae.pk])),
        },
    )
    alert_create(
        kind=AlertKind.SUSAR_IDENTIFIED,
        subject=subject,
        body=body,
        recipients=selectors.sae_alert_recipients(site=ae.participant.site),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"susar:{ae.pk}:{ae.aware_at.isoformat() if ae.aware_at else ''}",
    )


def follow_up_due_alert(*, ae: AdverseEvent, report: SAEReport) -> bool:
    subject = (
        f"[{TRIAL.acronym}] Reminder: SAE {ae.participant.study_id} AE {ae.number} has had no "
        f"follow-up for {TRIAL.sae_follow_up_reminder_hours} hours"
    )
    body = _render(
        "follow_up_due.txt",
        {
            "ae": ae,
            "report": report,
            "event_name": _event_name(ae),
            "hours": TRIAL.sae_follow_up_reminder_hours,
            "link": _link(reverse("safety:sae_follow_up", args=[ae.pk])),
        },
    )
    created = alert_create(
        kind=AlertKind.SAE_FOLLOW_UP_DUE,
        subject=subject,
        body=body,
        recipients=selectors.site_staff_emails(site=ae.participant.site),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"follow-up-due:{ae.pk}:{report.number}",
    )
    return created is not None


def susar_clock_alert(*, ae: AdverseEvent, days_left: int) -> bool:
    deadline = ae.susar_deadline
    subject = (
        f"[{TRIAL.acronym}] SUSAR clock: {days_left} day(s) left for {ae.participant.study_id} "
        f"AE {ae.number} ({_event_name(ae)})"
    )
    body = _render(
        "susar_clock.txt",
        {
            "ae": ae,
            "event_name": _event_name(ae),
            "deadline": deadline,
            "days_left": days_left,
            "link": _link(reverse("safety:ae_detail", args=[ae.pk])),
        },
    )
    created = alert_create(
        kind=AlertKind.SUSAR_CLOCK,
        subject=subject,
        body=body,
        recipients=selectors.sae_alert_recipients(site=ae.participant.site),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"susar-clock:{ae.pk}:{deadline.isoformat()}:{days_left}d",
    )
    return created is not None


def visit_digest_alert(*, site, today, digest: dict, recipients: list[str]) -> bool:
    subject = f"[{TRIAL.acronym}] Site {site.code} visits for {today.isoformat()}"
    body = _render(
        "visit_digest.txt",
        {
            "site": site,
            "today": today,
            "digest": digest,
            "generated_at": timezone.now(),
        },
    )
    created = alert_create(
        kind=AlertKind.VISIT_DIGEST,
        subject=subject,
        body=body,
        recipients=recipients,
        dedupe_key=f"visit-digest:{site.code}:{today.isoformat()}",
    )
    return created is not None
