import re

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import twofactor
from kernel.access import get_in_scope_or_404, require, scope_to_sites
from kernel.exceptions import EditConflict, TrialEdcError
from kernel.trial import AE_ASSESSMENT, TRIAL
from participants.models import Participant

from . import pdf, selectors, services
from .exceptions import ReasonRequired, SignatureRefused
from .forms import (
    AdverseEventForm,
    CausalitySignForm,
    ExpeditedReportForm,
    SAEFollowUpForm,
    SusarCaseUnblindForm,
)
from .models import AdverseEvent

_AE_SITE = "participant__site"


def _ae_or_403(request, pk: int) -> AdverseEvent:
    return get_in_scope_or_404(
        AdverseEvent.objects.select_related("participant__site", "causality_signed_by"),
        request.user,
        site_path=_AE_SITE,
        pk=pk,
    )


def _participant_or_403(request, study_id: str) -> Participant:
    return get_in_scope_or_404(
        Participant.objects.select_related("site"), request.user, study_id=study_id
    )


def _term_context() -> dict:
    return {"preferred_terms": [term for term, _soc in TRIAL.ae_preferred_terms]}


@require("safety.view_safety_overview")
def overview(request):
    """The safety page: open clocks first, then every serious event and the recent AEs."""
    report_for = (request.GET.get("report_for") or "").strip()
    if re.fullmatch(r"[0-9A-Za-z-]{1,20}", report_for):  # a study ID, nothing else
        return redirect("safety:ae_report", study_id=report_for)
    can_report = request.user.has_perm("safety.add_adverseevent")
    return render(
        request,
        "safety/overview.html",
        {
            "clocks": selectors.open_clocks(user=request.user),
            "serious_events": selectors.serious_events_for(request.user),
            "adverse_events": selectors.adverse_events_for(request.user)[:200],
            "participants": (
                scope_to_sites(Participant.objects.all(), request.user) if can_report else []
            ),
        },
    )


@require("safety.view_adverseevent")
def participant_aes(request, study_id: str):
    participant = _participant_or_403(request, study_id)
    return render(
        request,
        "safety/participant_aes.html",
        {
            "participant": participant,
            "adverse_events": selectors.adverse_events_for(request.user).filter(
                participant=participant
            ),
        },
    )


@require("safety.add_adverseevent")
def ae_report(request, study_id: str):
    participant = _participant_or_403(request, study_id)
    # The AE-assessment CRF links here with ?visit=D2 (outcomes app); kept through the POST.
    visit = (request.GET.get("visit") or "").strip()
    if visit not in {v.code for v in TRIAL.visits_with_crf(AE_ASSESSMENT)}:
        visit = ""
    form = AdverseEventForm(
        request.POST or None,
        instance=AdverseEvent(participant=participant),
        edited_by=request.user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            ae = services.ae_report(
                participant=participant, user=request.user, data=form.cleaned_data, visit=visit
            )
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            if ae.serious:
                messages.warning(
                    request,
                    _(
                        "Serious adverse event saved as AE %(n)s; the initial report is filed "
                        "and the PI, the sponsor's safety contact and the medical monitor are "
                        "alerted."
                    )
                    % {"n": ae.number},
                )
            else:
                messages.success(request, _("Adverse event saved as AE %(n)s.") % {"n": ae.number})
            return redirect("safety:ae_detail", pk=ae.pk)
    return render(
        request,
        "safety/ae_form.html",
        {
            "form": form,
            "participant": participant,
            "visit": visit,
            "title": _("Report an adverse event"),
        }
        | _term_context(),
    )


@require("safety.view_adverseevent")
def ae_detail(request, pk: int):
    ae = _ae_or_403(request, pk)
    return render(
        request,
        "safety/ae_detail.html",
        {
            "ae": ae,
            "reports": ae.reports.select_related("submitted_by").order_by("number"),
            "follow_up_due_at": selectors.follow_up_due_at(ae),
            "alerts": selectors.alerts_for(request.user)
            .filter(adverse_event=ae)
            .order_by("created_at")
            if request.user.has_perm("trialedc.view_alert")
            else None,
        },
    )


@require("safety.view_adverseevent", "safety.change_adverseevent")
def ae_edit(request, pk: int):
    ae = _ae_or_403(request, pk)
    form = AdverseEventForm(request.POST or None, instance=ae, edited_by=request.user)
    if request.method == "POST" and form.is_valid():
        if not form.changed_values():
            messages.info(request, _("Nothing changed, so nothing was saved."))
            return redirect("safety:ae_detail", pk=ae.pk)
        try:
            services.ae_update(
                ae=ae,
                user=request.user,
                reason=form.reason_for_change,
                values=form.edited_values(),
                opened_version=form.opened_version(),
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Adverse event saved; the change is in the audit trail."))
            return redirect("safety:ae_detail", pk=ae.pk)
    return render(
        request,
        "safety/ae_form.html",
        {"form": form, "participant": ae.participant, "ae": ae, "title": _("Correct an AE")}
        | _term_context(),
    )


@require("safety.view_adverseevent", "safety.add_saereport")
def sae_follow_up(request, pk: int):
    ae = _ae_or_403(request, pk)
    form = SAEFollowUpForm(request.POST or None, instance=ae, edited_by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            report = services.sae_follow_up_submit(
                ae=ae,
                user=request.user,
                narrative=form.cleaned_data["narrative"],
                values=form.edited_values(),
                final=form.cleaned_data["final"],
                opened_version=form.opened_version(),
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Follow-up report %(n)s filed; the alert is on its way.") % {"n": report.number},
            )
            return redirect("safety:ae_detail", pk=ae.pk)
    return render(
        request,
        "safety/ae_form.html",
        {
            "form": form,
            "participant": ae.participant,
            "ae": ae,
            "title": _("SAE follow-up report"),
            "closed": not ae.follow_up_open and ae.reports.filter(outcome_final=True).exists(),
        }
        | _term_context(),
    )


@require("safety.view_adverseevent", "safety.sign_causality")
def ae_sign(request, pk: int):
    ae = _ae_or_403(request, pk)
    form = CausalitySignForm(
        request.POST or None,
        current_relationship=ae.relationship,
        edited_by=request.user,
        versioned=[ae],
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.ae_causality_sign(
                ae=ae,
                user=request.user,
                password=form.cleaned_data["password"],
                relationship=form.cleaned_data["relationship"],
                reason=form.cleaned_data["reason"],
                opened_version=form.opened_version(),
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except SignatureRefused as error:
            form.add_error("password", str(error))
        except ReasonRequired as error:
            form.add_error("reason", str(error))
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Causality assessed and signed."))
            return redirect("safety:ae_detail", pk=ae.pk)
    return render(
        request,
        "safety/ae_sign.html",
        {"form": form, "ae": ae, "meaning": services.SIGNATURE_MEANING},
    )


# -- the sponsor's safety physician (ICH E2A III.C) ------------------------------------------
# These pages show the arm of one case to the one role that is not blinded to it. They carry
# the event (study ID, term, grade, dates), never identifying data or other site data.


def _suspected_susar_or_404(pk: int) -> AdverseEvent:
    ae = get_object_or_404(
        AdverseEvent.objects.select_related("participant__site"), pk=pk, serious=True
    )
    if not ae.is_susar:
        raise Http404(_("This event is not a suspected SUSAR."))
    return ae


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@require("safety.assess_susar")
def susar_cases(request):
    return _no_store(
        render(request, "safety/susar_cases.html", {"events": selectors.suspected_susars()})
    )


@require("safety.assess_susar")
def susar_case(request, pk: int):
    """The case: the event as reported; unblinding (password and second factor); then its
    outcome, the clocks and the expedited reports."""
    ae = _suspected_susar_or_404(pk)
    case = selectors.susar_case_of(ae)
    form = SusarCaseUnblindForm(
        request.POST if request.method == "POST" and case is None else None, user=request.user
    )
    if form.is_bound and form.is_valid():
        try:
            case = services.susar_case_unblind(
                ae=ae,
                user=request.user,
                password=form.cleaned_data["password"],
                second_factor_code=form.cleaned_data.get("otp_code", ""),
                request=request,
            )
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The case is unblinded and its outcome recorded."))
            return redirect("safety:susar_case", pk=ae.pk)
    return _no_store(
        render(
            request,
            "safety/susar_case.html",
            {
                "ae": ae,
                "case": case,
                "arm": TRIAL.arm(arms_code(case)) if case is not None else None,
                "form": form,
                "has_second_factor": twofactor.is_set_up(request.user),
                "report": selectors.last_report(ae),
            },
        )
    )


def arms_code(case) -> str:
    """The arm code the outcome implies (the outcome is the only trace of the arm kept)."""
    return TRIAL.arms[0].code if case.reportable else TRIAL.arms[1].code


def _expedited(request, pk: int, *, completion: bool):
    ae = _suspected_susar_or_404(pk)
    case = selectors.susar_case_of(ae)
    form = ExpeditedReportForm(
        request.POST or None,
        initial={"submitted_at": timezone.now()},
        edited_by=request.user,
        versioned=[case] if case is not None else [],
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.susar_expedited_report_record(
                ae=ae,
                user=request.user,
                submitted_at=form.cleaned_data["submitted_at"],
                reference=form.cleaned_data["reference"],
                opened_version=form.opened_version(),
                completion=completion,
            )
        except EditConflict as conflict:
            form.show_conflict(conflict)
        except TrialEdcError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Report recorded; its clock is stopped."))
            return redirect("safety:susar_case", pk=ae.pk)
    return _no_store(
        render(
            request,
            "safety/susar_expedited.html",
            {"form": form, "ae": ae, "case": case, "completion": completion},
        )
    )


@require("safety.assess_susar", "safety.record_expedited_report")
def susar_expedited(request, pk: int):
    return _expedited(request, pk, completion=False)


@require("safety.assess_susar", "safety.record_expedited_report")
def susar_completion(request, pk: int):
    return _expedited(request, pk, completion=True)


@require("safety.assess_susar")
def susar_cioms_pdf(request, pk: int):
    """The expedited CIOMS I of a SUSAR in the product arm, suspect drug named."""
    ae = _suspected_susar_or_404(pk)
    case = selectors.susar_case_of(ae)
    report = selectors.last_report(ae)
    if case is None or not case.reportable or report is None:
        raise Http404(_("Only a case unblinded in the study-product arm has an expedited form."))
    content = pdf.cioms_pdf(report=report, user=request.user, case=case)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="CIOMS-expedited-{ae.participant.study_id}-AE{ae.number}.pdf"'
    )
    return _no_store(response)


@require("safety.view_adverseevent")
def cioms_pdf(request, pk: int, number: int):
    ae = _ae_or_403(request, pk)
    report = get_object_or_404(ae.reports, number=number)
    content = pdf.cioms_pdf(report=report, user=request.user)
    response = HttpResponse(content, content_type="application/pdf")
    # The file name carries the study ID and report number only.
    response["Content-Disposition"] = (
        f'inline; filename="CIOMS-{ae.participant.study_id}-AE{ae.number}-{report.number}.pdf"'
    )
    return response


@require("safety.view_adverseevent")
def ae_listing_pdf(request):
    content = pdf.ae_listing_pdf(
        adverse_events=selectors.adverse_events_for(request.user), user=request.user
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="AE-listing.pdf"'
    return response


@require("trialedc.view_alert")
def alerts(request):
    return render(
        request,
        "safety/alerts.html",
        {"alerts": selectors.alerts_for(request.user).order_by("-created_at", "-pk")[:300]},
    )
