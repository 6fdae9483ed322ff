"""What the safety e-mails say and to whom they go; each writes one outbox row (kernel/alerts.py).

Blinding and privacy (SPEC §1, §5): an e-mail carries the study ID, the event, its grade and
seriousness, and a link; never the arm, a name, a national ID or a date of birth. The bodies are
templates under templates/safety/email/.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kernel.alerts import alert_create
from kernel.models import AlertKind
from kernel.trial import TRIAL

from . import selectors
from .models import AdverseEvent, SAEReport, SusarCase


def _link(path: str) -> str:
    base = getattr(settings, "EDC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return f"{base}{path}"


def _event_name(ae: AdverseEvent) -> str:
    return ae.preferred_term or ae.verbatim_term


def _render(template: str, context: dict) -> str:
    return render_to_string(f"safety/email/{template}", {"TRIAL": TRIAL, **context}).strip()


def _recipients(ae: AdverseEvent) -> list[str]:
    """A suspected SUSAR also goes to the sponsor's safety physicians, who unblind it; the
    list never depends on the outcome of that unblinding (blinded people are on it)."""
    if ae.is_susar:
        return selectors.susar_alert_recipients(site=ae.participant.site)
    return selectors.sae_alert_recipients(site=ae.participant.site)


def sae_report_alert(*, report: SAEReport) -> None:
    ae = report.adverse_event
    kind = AlertKind.SAE_INITIAL if report.number == 0 else AlertKind.SAE_FOLLOW_UP
    label = "SUSAR" if ae.is_susar else "SAE"
    which = (
        _("initial report") if report.number == 0 else _("follow-up %(n)s") % {"n": report.number}
    )
    subject = _(
        "[%(trial)s] %(label)s %(sid)s AE %(n)s: %(event)s, grade %(grade)s (%(which)s)"
    ) % {
        "trial": TRIAL.acronym,
        "label": label,
        "sid": ae.participant.study_id,
        "n": ae.number,
        "event": _event_name(ae),
        "grade": ae.ctcae_grade,
        "which": which,
    }
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
        recipients=_recipients(ae),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"sae-report:{report.pk}",
    )


def susar_identified_alert(*, ae: AdverseEvent) -> None:
    subject = _(
        "[%(trial)s] SUSAR %(sid)s AE %(n)s: %(event)s — expedited report due in %(days)s days"
    ) % {
        "trial": TRIAL.acronym,
        "sid": ae.participant.study_id,
        "n": ae.number,
        "event": _event_name(ae),
        "days": ae.susar_clock_days,
    }
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
        recipients=_recipients(ae),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"susar:{ae.pk}:{ae.aware_at.isoformat() if ae.aware_at else ''}",
    )


def follow_up_due_alert(*, ae: AdverseEvent, report: SAEReport) -> bool:
    subject = _(
        "[%(trial)s] Reminder: SAE %(sid)s AE %(n)s has had no follow-up for %(hours)s hours"
    ) % {
        "trial": TRIAL.acronym,
        "sid": ae.participant.study_id,
        "n": ae.number,
        "hours": TRIAL.sae_follow_up_reminder_hours,
    }
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
    subject = _(
        "[%(trial)s] SUSAR clock: %(days)s day(s) left for %(sid)s AE %(n)s (%(event)s)"
    ) % {
        "trial": TRIAL.acronym,
        "days": days_left,
        "sid": ae.participant.study_id,
        "n": ae.number,
        "event": _event_name(ae),
    }
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
        recipients=_recipients(ae),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"susar-clock:{ae.pk}:{deadline.isoformat()}:{days_left}d",
    )
    return created is not None


def susar_confirmed_alert(*, case: SusarCase) -> None:
    """To the safety physicians only (an unblinded kind): the case is a SUSAR, report it."""
    ae = case.adverse_event
    subject = _(
        "[%(trial)s] SUSAR confirmed %(sid)s AE %(n)s: expedited report due by %(deadline)s UTC"
    ) % {
        "trial": TRIAL.acronym,
        "sid": ae.participant.study_id,
        "n": ae.number,
        "deadline": f"{case.deadline:%Y-%m-%d %H:%M}" if case.deadline else "",
    }
    body = _render(
        "susar_confirmed.txt",
        {
            "case": case,
            "ae": ae,
            "event_name": _event_name(ae),
            "link": _link(reverse("safety:susar_case", args=[ae.pk])),
        },
    )
    alert_create(
        kind=AlertKind.SUSAR_CONFIRMED,
        subject=subject,
        body=body,
        recipients=selectors.safety_physician_emails(),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"susar-confirmed:{case.pk}",
    )


def susar_case_clock_alert(*, case: SusarCase, days_left: int, completion: bool) -> bool:
    """After the case unblinding: the expedited (or completing) report's clock, to the safety
    physicians only (an unblinded kind, hidden from blinded readers of the outbox)."""
    ae = case.adverse_event
    deadline = case.completion_deadline if completion else case.deadline
    what = _("completing report") if completion else _("expedited report")
    subject = _(
        "[%(trial)s] SUSAR %(what)s: %(days)s day(s) left for %(sid)s AE %(n)s (%(event)s)"
    ) % {
        "trial": TRIAL.acronym,
        "what": what,
        "days": days_left,
        "sid": ae.participant.study_id,
        "n": ae.number,
        "event": _event_name(ae),
    }
    body = _render(
        "susar_case_clock.txt",
        {
            "ae": ae,
            "what": what,
            "event_name": _event_name(ae),
            "deadline": deadline,
            "days_left": days_left,
            "link": _link(reverse("safety:susar_case", args=[ae.pk])),
        },
    )
    created = alert_create(
        kind=AlertKind.SUSAR_CLOCK_UNBLINDED,
        subject=subject,
        body=body,
        recipients=selectors.safety_physician_emails(),
        participant=ae.participant,
        adverse_event=ae,
        dedupe_key=f"susar-case-clock:{case.pk}:{'completion' if completion else 'report'}:"
        f"{deadline.isoformat() if deadline else ''}:{days_left}d",
    )
    return created is not None


def visit_digest_alert(*, site, today, digest: dict, recipients: list[str]) -> bool:
    subject = _("[%(trial)s] Site %(site)s visits for %(day)s") % {
        "trial": TRIAL.acronym,
        "site": site.code,
        "day": today.isoformat(),
    }
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
