"""Every write of the safety app about adverse events. One transaction each.

The alert for a serious event is written in the same transaction as the event (kernel/alerts.py),
so a saved SAE always has its alert, whatever happens to the broker or the mail server.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import twofactor
from accounts.models import BackupCodes
from kernel import arms, audit, concurrency
from kernel.access import sites_for
from kernel.models import SecurityEventKind
from kernel.roles import Role, roles_of
from kernel.services import security_event_record
from kernel.trial import AE_ASSESSMENT, TRIAL
from participants.models import Participant

from . import notifications, rules
from .exceptions import (
    CaseUnblindingRefused,
    FollowUpClosed,
    NotASusar,
    NotSerious,
    ReasonRequired,
    SafetyError,
    SignatureRefused,
)
from .models import (
    NOT_A_SUSAR_REASON,
    AdverseEvent,
    ReportKind,
    SAEReport,
    SusarCase,
    SusarOutcome,
)

# Fields a reporter enters; a change to any of them after signing voids the causality signature
# (SPEC §6: a later change to signed data voids the signature).
CLINICAL_FIELDS = (
    "verbatim_term",
    "preferred_term",
    "onset_date",
    "ongoing",
    "end_date",
    "ctcae_grade",
    "serious",
    "criterion_death",
    "criterion_life_threatening",
    "criterion_hospitalization",
    "criterion_disability",
    "criterion_congenital_anomaly",
    "criterion_important_medical_event",
    "aware_at",
    "relationship",
    "action_taken",
    "outcome",
    "death_date",
    "death_cause",
    "description",
    "concomitant_medications",
    "relevant_history",
)

# Fields a derived value or an edit check reads together (kernel.concurrency: a change to one
# is not merged silently with someone else's change to another): the consistency checks and
# the seriousness and reporting clocks (safety.rules.consistency_problems, the SAE and SUSAR
# clocks), and expectedness and SUSAR status (safety.rules.is_expected, is_susar).
AE_LINKED = (
    frozenset(
        {
            "ctcae_grade",
            "outcome",
            "serious",
            "criterion_death",
            "criterion_life_threatening",
            "criterion_hospitalization",
            "criterion_disability",
            "criterion_congenital_anomaly",
            "criterion_important_medical_event",
            "aware_at",
            "onset_date",
            "end_date",
            "ongoing",
            "death_date",
        }
    ),
    frozenset({"preferred_term", "ctcae_grade", "serious", "relationship"}),
)

SIGNATURE_MEANING = (
    "I, the investigator, have assessed the relationship of this adverse event to the study "
    "product and confirm it with my signature."
)


def _check_site(user, participant: Participant) -> None:
    if not sites_for(user).filter(pk=participant.site_id).exists():
        raise SafetyError(
            _("You are not assigned to site %(site)s.") % {"site": participant.site.code}
        )


def _code(ae: AdverseEvent) -> None:
    """Coded term, system organ class, 'to be coded' flag and expectedness from configuration.

    Also keeps the awareness time to the minute, as the form shows it: otherwise re-saving the
    form would "change" it by the hidden seconds, and move the clocks.
    """
    if ae.aware_at is not None:
        ae.aware_at = ae.aware_at.replace(second=0, microsecond=0)
    terms = dict(TRIAL.ae_preferred_terms)
    ae.preferred_term = (ae.preferred_term or "").strip()
    ae.system_organ_class = terms.get(ae.preferred_term, "")
    ae.needs_coding = ae.preferred_term not in terms
    ae.expected = rules.is_expected(
        ae.preferred_term, ae.ctcae_grade, TRIAL.reference_safety_information
    )


def _snapshot(ae: AdverseEvent) -> dict:
    """The event as reported, JSON-ready, for the SAE report (and its CIOMS form)."""
    values = {}
    for name in (*CLINICAL_FIELDS, "number", "system_organ_class", "expected", "needs_coding"):
        value = getattr(ae, name)
        if isinstance(value, datetime | date):
            value = value.isoformat()
        values[name] = value
    values["is_susar"] = ae.is_susar
    deadline = ae.susar_deadline
    values["susar_deadline"] = deadline.isoformat() if deadline else None
    return values


def _report_create(
    *, ae: AdverseEvent, user, narrative: str, final: bool, now: datetime
) -> SAEReport:
    last = ae.reports.aggregate(last=Max("number"))["last"]
    number = 0 if last is None else last + 1
    report = SAEReport(
        adverse_event=ae,
        number=number,
        kind=ReportKind.INITIAL if number == 0 else ReportKind.FOLLOW_UP,
        submitted_at=now,
        submitted_by=user,
        narrative=narrative,
        outcome_final=final,
        snapshot=_snapshot(ae),
    )
    report.full_clean()
    audit.save_with_reason(report, user=user)
    notifications.sae_report_alert(report=report)
    return report


def ae_report(*, participant: Participant, user, data: dict, visit: str = "") -> AdverseEvent:
    """Record a new adverse event; a serious one gets its initial SAE report and alert at once.

    `visit` is the AE-assessment visit (D0, D2, ...) the report came from, if any.
    """
    _check_site(user, participant)
    if visit and visit not in {v.code for v in TRIAL.visits_with_crf(AE_ASSESSMENT)}:
        raise SafetyError(_("%(visit)s has no AE assessment.") % {"visit": visit})
    now = timezone.now()
    with transaction.atomic():
        # The participant row lock numbers AEs without gaps or duplicates.
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        last = participant.adverse_events.aggregate(last=Max("number"))["last"] or 0
        ae = AdverseEvent(
            participant=participant,
            number=last + 1,
            visit=visit,
            reported_at=now,
            reported_by=user,
            **data,
        )
        _code(ae)
        ae.full_clean()
        audit.save_with_reason(ae, user=user)
        if ae.serious:
            _report_create(
                ae=ae,
                user=user,
                narrative=ae.description,
                final=ae.outcome in rules.FINAL_OUTCOMES,
                now=now,
            )
    return ae


def _apply_changes(*, ae: AdverseEvent, user, reason: str, changes: dict) -> tuple[bool, bool]:
    """Set `changes` on the locked `ae`, validate and save; (became serious, became SUSAR)."""
    was_serious, was_susar = ae.serious, ae.is_susar
    for name, value in changes.items():
        setattr(ae, name, value)
    _code(ae)
    if ae.causality_signed and any(name in CLINICAL_FIELDS for name in changes):
        ae.causality_signed_by = None
        ae.causality_signed_at = None
        ae.causality_signature_meaning = ""
    ae.full_clean()
    audit.save_with_reason(ae, user=user, reason=reason)
    return ae.serious and not was_serious, ae.is_susar and not was_susar


def _changes_on(ae: AdverseEvent, *, opened_version: int | None, values: dict) -> dict:
    """What a form of the AE changes, on the locked row: refused if the AE changed since the
    form was opened and the changes cannot merge (kernel.concurrency)."""
    written = concurrency.refuse_stale_edit(
        record=ae, opened_version=opened_version, values=values, linked=AE_LINKED
    )
    changes = concurrency.changed_values(ae, written)
    if any(name in CLINICAL_FIELDS for name in changes):
        # The change voids the causality signature: not one given after the form was opened,
        # which its author has not seen.
        concurrency.refuse_if_changed_since(
            record=ae,
            opened_version=opened_version,
            names=("causality_signed_by", "causality_signed_at"),
            action=_(
                "nothing was saved: your change would void the causality signature given since"
            ),
        )
    return changes


def ae_update(
    *, ae: AdverseEvent, user, reason: str, values: dict, opened_version: int | None
) -> AdverseEvent:
    """Correct an AE (a reason is required). An event that becomes serious is reported now.

    `values` are the form's fields as typed, `opened_version` the AE's version the form was
    opened on: a correction of a version changed since is refused or merged
    (kernel.concurrency)."""
    _check_site(user, ae.participant)
    now = timezone.now()
    with transaction.atomic():
        ae = (
            AdverseEvent.objects.select_for_update()
            .select_related("participant__site")
            .get(pk=ae.pk)
        )
        changes = _changes_on(ae, opened_version=opened_version, values=values)
        if not changes:  # someone else made the same correction meanwhile: nothing to write
            return ae
        became_serious, became_susar = _apply_changes(
            ae=ae, user=user, reason=reason, changes=changes
        )
        if became_serious:
            _report_create(
                ae=ae,
                user=user,
                narrative=ae.description,
                final=ae.outcome in rules.FINAL_OUTCOMES,
                now=now,
            )
        elif became_susar and ae.reports.exists():
            notifications.susar_identified_alert(ae=ae)
    return ae


def sae_follow_up_submit(
    *,
    ae: AdverseEvent,
    user,
    narrative: str,
    values: dict,
    final: bool,
    opened_version: int | None,
) -> SAEReport:
    """File follow-up report n+1 with the new information; alerts like the initial report.

    `values`: the event as the follow-up form states it now; refused or merged like a
    correction if the event changed since the form was opened (kernel.concurrency)."""
    _check_site(user, ae.participant)
    now = timezone.now()
    with transaction.atomic():
        ae = (
            AdverseEvent.objects.select_for_update()
            .select_related("participant__site")
            .get(pk=ae.pk)
        )
        if not ae.serious:
            raise NotSerious(_("Only a serious adverse event has follow-up reports."))
        if ae.reports.filter(outcome_final=True).exists():
            raise FollowUpClosed(
                _("The final report of this SAE is filed; correct the event instead.")
            )
        next_number = (ae.reports.aggregate(last=Max("number"))["last"] or 0) + 1
        changes = _changes_on(ae, opened_version=opened_version, values=values)
        if changes.get("serious") is False:
            raise NotSerious(
                _("A follow-up cannot make an SAE non-serious; correct the event, with a reason.")
            )
        if changes:
            _apply_changes(
                ae=ae,
                user=user,
                reason=_("SAE follow-up report %(n)s: %(text)s")
                % {"n": next_number, "text": narrative[:200]},
                changes=changes,
            )
        if final and ae.outcome not in rules.FINAL_OUTCOMES:
            raise FollowUpClosed(
                _(
                    "A final report needs a final outcome (recovered, recovered with sequelae "
                    "or fatal)."
                )
            )
        report = _report_create(ae=ae, user=user, narrative=narrative, final=final, now=now)
    return report


def ae_causality_sign(
    *,
    ae: AdverseEvent,
    user,
    password: str,
    relationship: str,
    opened_version: int | None,
    reason: str = "",
) -> AdverseEvent:
    """The investigator's causality assessment, e-signed with password re-entry (21 CFR 11.200).

    The signature applies to the version of the event the investigator was shown
    (`opened_version`): if it changed since, nothing is signed (kernel.concurrency)."""
    _check_site(user, ae.participant)
    if not user.has_perm("safety.sign_causality"):
        raise SignatureRefused(_("Only an investigator may sign the causality."))
    if not user.check_password(password):
        raise SignatureRefused(_("The password is not correct; nothing was signed."))
    now = timezone.now()
    with transaction.atomic():
        ae = (
            AdverseEvent.objects.select_for_update()
            .select_related("participant__site")
            .get(pk=ae.pk)
        )
        concurrency.refuse_changed_since(
            record=ae, opened_version=opened_version, action=_("nothing was signed")
        )
        was_susar = ae.is_susar
        changed = relationship != ae.relationship
        if changed and not reason.strip():
            raise ReasonRequired(
                _("You changed the relationship: give a reason for the change before signing.")
            )
        ae.relationship = relationship
        _code(ae)
        ae.causality_signed_by = user
        ae.causality_signed_at = now
        ae.causality_signature_meaning = SIGNATURE_MEANING
        ae.full_clean()
        audit.save_with_reason(
            ae,
            user=user,
            reason=_("Causality assessed and signed by the investigator: %(rel)s. %(why)s")
            % {"rel": ae.get_relationship_display(), "why": reason.strip()},
        )
        if ae.is_susar and not was_susar and ae.reports.exists():
            notifications.susar_identified_alert(ae=ae)
    return ae


def susar_case_unblind(
    *, ae: AdverseEvent, user, password: str, second_factor_code: str, request
) -> SusarCase:
    """The sponsor's safety physician breaks the blind of this one suspected SUSAR (ICH E2A
    III.C) after re-authenticating (password and a current second factor) and records what it
    means: the study product → a SUSAR, reported on the clock; placebo → not a SUSAR, closed
    with the reason, no expedited report. Idempotent: a second call returns the first case.

    The arm is read through kernel.arms (the randomization app is above this one) and is kept
    nowhere but in the case's outcome, which only the safety physician reads.
    """
    if not user.has_perm("safety.assess_susar") or Role.SAFETY_PHYSICIAN not in roles_of(user):
        raise CaseUnblindingRefused(
            _("Only the sponsor's safety physician unblinds a suspected SUSAR.")
        )
    if not user.check_password(password):
        raise CaseUnblindingRefused(_("The password is not correct; nothing was unblinded."))
    if not twofactor.is_set_up(user):
        raise CaseUnblindingRefused(
            _(
                "A case is unblinded with a second factor: set up two-factor sign-in (your "
                "account's two-factor page) first. Nothing was unblinded."
            )
        )
    # Outside the transaction below: a wrong code must stay counted (throttling) and logged.
    try:
        device = twofactor.check(
            request=request, code=second_factor_code, purpose="SUSAR case unblinding"
        )
    except twofactor.CodeRefused as refusal:
        raise CaseUnblindingRefused(str(refusal)) from refusal
    with transaction.atomic():
        ae = (
            AdverseEvent.objects.select_for_update()
            .select_related("participant__site")
            .get(pk=ae.pk)
        )
        existing = SusarCase.objects.filter(adverse_event=ae).first()
        if existing is not None:
            return existing
        if not ae.is_susar:
            raise NotASusar(
                _("This event is not a suspected SUSAR (serious, related, unexpected).")
            )
        arm = arms.arm_of(ae.participant)
        if arm is None:
            raise CaseUnblindingRefused(
                _("The participant is not randomized: there is no arm to unblind.")
            )
        active = arm == TRIAL.arms[0].code  # the first arm is the product, the second placebo
        now = timezone.now()
        case = SusarCase(
            adverse_event=ae,
            outcome=SusarOutcome.REPORTABLE if active else SusarOutcome.NOT_A_SUSAR,
            reason="" if active else NOT_A_SUSAR_REASON,
            assessed_at=now,
            assessed_by=user,
            second_factor="backup code" if isinstance(device, BackupCodes) else "app",
        )
        case.full_clean()
        audit.save_with_reason(case, user=user)
        security_event_record(
            kind=SecurityEventKind.SUSAR_CASE_UNBLINDING,
            user=user,
            detail={"participant": ae.participant.study_id, "adverse_event": ae.number},
        )
        if case.reportable:
            notifications.susar_confirmed_alert(case=case)
    return case


def _case_for_report(ae: AdverseEvent, user) -> SusarCase:
    if not user.has_perm("safety.record_expedited_report"):
        raise CaseUnblindingRefused(
            _("Only the sponsor's safety physician records the expedited report.")
        )
    case = SusarCase.objects.select_for_update().filter(adverse_event=ae).first()
    if case is None:
        raise NotASusar(
            _("Unblind this case first: only a case in the study-product arm is reported.")
        )
    if not case.reportable:
        raise NotASusar(
            _("This case is not a SUSAR (placebo): it is closed without an expedited report.")
        )
    return case


def susar_expedited_report_record(
    *,
    ae: AdverseEvent,
    user,
    submitted_at: datetime,
    reference: str,
    opened_version: int | None = None,
    completion: bool = False,
) -> SusarCase:
    """Stop a SUSAR clock: the expedited report (or, for a fatal or life-threatening SUSAR, its
    completing report) went to the regulator and the ethics committee. Only for a case the
    safety physician unblinded in the product arm; kept on the case, never on the event."""
    with transaction.atomic():
        ae = AdverseEvent.objects.select_related("participant__site").get(pk=ae.pk)
        case = _case_for_report(ae, user)
        concurrency.refuse_changed_since(
            record=case, opened_version=opened_version, action=_("nothing was recorded")
        )
        if submitted_at > timezone.now():
            raise SafetyError(_("The submission time is in the future."))
        if completion:
            if not case.needs_completion:
                raise NotASusar(
                    _("Only a fatal or life-threatening SUSAR has a completing report.")
                )
            if case.expedited_report_submitted_at is None:
                raise SafetyError(_("Record the 7-day report before its completing report."))
            case.completion_report_submitted_at = submitted_at
            case.completion_report_reference = reference
            why = _("Completing SUSAR report submitted (%(ref)s)") % {"ref": reference}
        else:
            case.expedited_report_submitted_at = submitted_at
            case.expedited_report_reference = reference
            why = _("Expedited SUSAR report submitted (%(ref)s)") % {"ref": reference}
        case.full_clean()
        audit.save_with_reason(case, user=user, reason=why)
    return case
