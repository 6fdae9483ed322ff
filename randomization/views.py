"""Pages of the randomization app: thin, one service or selector call each.

Blinded pages (overview, participant status, randomize, emergency unblinding) render only
arm-free objects; the arm appears only on pages behind randomization.view_allocation and in the
one response that answers an emergency unblinding, to the investigator who asked.
"""

from django.contrib import messages
from django.contrib.auth import authenticate
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import twofactor
from accounts.ratelimit import rate_limit
from kernel.access import get_in_scope_or_404, require
from kernel.csv_download import csv_attachment
from kernel.exceptions import EditConflict
from kernel.models import SecurityEventKind
from kernel.services import security_event_record, sensitive_read_record
from kernel.trial import TRIAL
from participants.models import Participant, ParticipantStatus

from . import blocks, pdf, selectors, services
from .exceptions import PreparationError, RandomizationError, SecondFactorRefused
from .forms import (
    ConfirmRandomizeForm,
    EmergencyUnblindingForm,
    HandoverForm,
    ListGenerateForm,
    ListImportForm,
    PasswordConfirmForm,
    PhaseReviewForm,
    PreparationForm,
    RandomizeForm,
)
from .models import PhaseReview, Randomization, RandomizationList, Slot

_POST_OR_GET = require_http_methods(["GET", "POST"])


def _participant(request, study_id: str) -> Participant:
    return get_in_scope_or_404(
        Participant.objects.select_related("site"), request.user, study_id=study_id
    )


def _data(request):
    """A form's data: bound on POST even when empty, so an empty POST shows its errors."""
    return request.POST if request.method == "POST" else None


def _password_confirmed(request, password: str) -> bool:
    """Re-entry of the user's own password, through the login backends, so django-axes counts
    failures and locks a session that guesses (the service checks the password again)."""
    user = authenticate(request, username=request.user.get_username(), password=password)
    return user is not None and user.pk == request.user.pk


def _add_errors(form, error: RandomizationError) -> None:
    form.add_error(None, str(error))
    for detail in getattr(error, "errors", []):
        form.add_error(None, str(detail))


# -- blinded ------------------------------------------------------------------------------------


@require_GET
@require("randomization.view_randomization")
def overview(request):
    return render(
        request,
        "randomization/overview.html",
        {
            "enrollment": selectors.enrollment_by_phase_and_stratum(),
            "current_phase": selectors.current_phase(),
            "gated_phase_open": selectors.gated_phase_open(),
            "randomizations": selectors.randomizations_for(request.user),
            "awaiting": selectors.awaiting_randomization(request.user),
            "unblinded_ids": selectors.unblinded_participant_ids(),
        },
    )


@require_GET
@require("randomization.view_randomization")
def participant_status(request, study_id: str):
    participant = _participant(request, study_id)
    return render(
        request,
        "randomization/status.html",
        {
            "participant": participant,
            "randomization": selectors.randomization_of(participant),
            "unblindings": selectors.emergency_unblindings_of(participant),
            "day0_visit": next(v.code for v in TRIAL.visits if v.day == 0),
        },
    )


@_POST_OR_GET
@require("randomization.randomize_participant")
@rate_limit("randomization")
def randomize(request, study_id: str):
    """Two steps: choose the respiratory support, then confirm; the slot is taken on confirm."""
    participant = _participant(request, study_id)
    if selectors.randomization_of(participant) is not None:
        return redirect("randomization:status", study_id=study_id)
    confirming = request.method == "POST" and "confirm_step" in request.POST
    form = (ConfirmRandomizeForm if confirming else RandomizeForm)(_data(request))
    context = {"participant": participant, "form": form, "enrolled": _enrolled(participant)}
    if request.method == "POST" and form.is_valid():
        support = form.cleaned_data["respiratory_support"]
        if not confirming:
            context.update(
                confirm_form=ConfirmRandomizeForm(initial={"respiratory_support": support}),
                support_label=TRIAL.respiratory_support_labels[support],
                stratum=TRIAL.stratum(TRIAL.stratum_for_support(support)),
                phase=TRIAL.phase(selectors.current_phase()),
            )
            return render(request, "randomization/randomize_confirm.html", context)
        try:
            services.slot_assign(
                participant=participant, user=request.user, respiratory_support=support
            )
        except RandomizationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("Participant %(id)s is randomized.") % {"id": study_id})
            return redirect("randomization:status", study_id=study_id)
    if confirming and not form.is_valid():
        # Keep the choice and ask again for the tick, on the confirmation page.
        support = form.data.get("respiratory_support", "")
        if support in TRIAL.respiratory_support_labels:
            context.update(
                confirm_form=form,
                support_label=TRIAL.respiratory_support_labels[support],
                stratum=TRIAL.stratum(TRIAL.stratum_for_support(support)),
                phase=TRIAL.phase(selectors.current_phase()),
            )
            return render(request, "randomization/randomize_confirm.html", context)
    return render(request, "randomization/randomize.html", context)


def _enrolled(participant) -> bool:
    return participant.status == ParticipantStatus.ENROLLED


@_POST_OR_GET
@require("randomization.add_emergencyunblinding")
@rate_limit("unblinding")
def emergency_unblind(request, study_id: str):
    participant = _participant(request, study_id)
    events = list(participant.adverse_events.order_by("number"))
    form = EmergencyUnblindingForm(
        _data(request),
        user=request.user,
        events=[(ae.pk, services.emergency_event_label(ae)) for ae in events],
    )
    context = {
        "participant": participant,
        "randomization": selectors.randomization_of(participant),
        "unblindings": selectors.emergency_unblindings_of(participant),
        "form": form,
    }
    if request.method == "POST" and form.is_valid():
        if not _password_confirmed(request, form.cleaned_data["password"]):
            form.add_error("password", _("The password is not correct; nothing was unblinded."))
            return render(request, "randomization/emergency_unblind.html", context)
        if not twofactor.confirm(request, form, purpose="emergency unblinding"):
            return render(request, "randomization/emergency_unblind.html", context)
        try:
            event, arm = services.emergency_unblind(
                participant=participant,
                user=request.user,
                password=form.cleaned_data["password"],
                reason=form.cleaned_data["reason"],
                adverse_event=next((ae for ae in events if ae.pk == form.chosen_event_pk()), None),
                no_event_justification=form.cleaned_data["no_event_justification"],
            )
        except RandomizationError as error:
            _add_errors(form, error)
        else:
            # The one place a blinded user sees an arm: this response, to this user, once.
            response = render(
                request,
                "randomization/unblinded_result.html",
                {"participant": participant, "event": event, "arm": TRIAL.arm(arm)},
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "randomization/emergency_unblind.html", context)


# -- statistician -------------------------------------------------------------------------------


@require_GET
@require("randomization.view_randomizationlist")
def list_index(request):
    lists = []
    for rlist in RandomizationList.objects.select_related("created_by"):
        lists.append(
            {
                "list": rlist,
                "slots": rlist.slots.count(),
                "assigned": selectors.randomized_count(phase=rlist.phase, stratum=rlist.stratum),
                "intact": selectors.list_checksum(rlist) == rlist.checksum,
            }
        )
    return render(
        request,
        "randomization/list_index.html",
        {"lists": lists, "balance": selectors.assigned_by_arm(), "arms": TRIAL.arms},
    )


@require_GET
@require("randomization.view_randomizationlist", "randomization.view_allocation")
def list_detail(request, pk: int):
    rlist = get_object_or_404(RandomizationList, pk=pk)
    sensitive_read_record(request=request, what="randomization_list", list=rlist.pk)
    slots = Slot.objects.filter(randomization_list=rlist).select_related(
        "randomization__participant"
    )
    return render(
        request,
        "randomization/list_detail.html",
        {
            "rlist": rlist,
            "slots": slots.order_by("sequence"),
            "intact": selectors.list_checksum(rlist) == rlist.checksum,
        },
    )


@_POST_OR_GET
@require("randomization.view_randomizationlist", "randomization.view_allocation")
@rate_limit("export", methods=("GET", "POST"))
def list_csv(request, pk: int):
    """The stored list in the command-line format, to archive or to compare with a regeneration."""
    rlist = get_object_or_404(RandomizationList, pk=pk)
    security_event_record(
        kind=SecurityEventKind.LIST_DOWNLOADED,
        request=request,
        detail={"list": rlist.pk, "phase": rlist.phase, "stratum": rlist.stratum},
    )
    # The body is the list's canonical CSV, byte for byte the text its checksum is computed on
    # and the import reads back (blocks.to_csv): it is not passed through the spreadsheet rule.
    return csv_attachment(
        blocks.to_csv(selectors.list_rows(rlist)),
        filename=f"randomization-list-phase-{rlist.phase}-stratum-{rlist.stratum}.csv",
    )


@_POST_OR_GET
@require("randomization.add_randomizationlist")
def list_generate(request):
    form = ListGenerateForm(_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            rlist = services.list_generate(user=request.user, **form.cleaned_data)
        except RandomizationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("List stored: %(list)s.") % {"list": rlist})
            return redirect("randomization:list_detail", pk=rlist.pk)
    return render(request, "randomization/list_form.html", {"form": form, "importing": False})


@_POST_OR_GET
@require("randomization.add_randomizationlist")
def list_import(request):
    form = ListImportForm(_data(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            rlist = services.list_import(
                phase=form.cleaned_data["phase"],
                stratum=form.cleaned_data["stratum"],
                csv_text=form.cleaned_data["file"],
                user=request.user,
            )
        except RandomizationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, _("List imported: %(list)s.") % {"list": rlist})
            return redirect("randomization:list_detail", pk=rlist.pk)
    return render(request, "randomization/list_form.html", {"form": form, "importing": True})


@_POST_OR_GET
@require("randomization.view_phasereview")
def phase_gate(request):
    can_record = request.user.has_perm("randomization.add_phasereview")
    form = PhaseReviewForm(_data(request) if can_record else None, user=request.user)
    if form.is_bound and form.is_valid():
        if not _password_confirmed(request, form.cleaned_data["password"]):
            form.add_error("password", _("The password is not correct; nothing was recorded."))
        else:
            try:
                services.phase_review_record(
                    phase=TRIAL.gate_review_of_phase,
                    review_date=form.cleaned_data["review_date"],
                    decision=form.cleaned_data["decision"],
                    document_reference=form.cleaned_data["document_reference"],
                    user=request.user,
                    password=form.cleaned_data["password"],
                    second_factor_code=form.cleaned_data.get("otp_code", ""),
                    request=request,
                )
            except SecondFactorRefused as error:
                form.add_error("otp_code" if "otp_code" in form.fields else None, str(error))
            except RandomizationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The DSMB's decision is recorded."))
                return redirect("randomization:phase_gate")
    reviewed = TRIAL.gate_review_of_phase
    return render(
        request,
        "randomization/phase_gate.html",
        {
            "form": form,
            "can_record": can_record,
            "has_second_factor": twofactor.is_set_up(request.user),
            "reviews": PhaseReview.objects.select_related("recorded_by"),
            "open": selectors.gated_phase_open(),
            "reviewed_phase": TRIAL.phase(reviewed),
            "gated_phase": TRIAL.phase(TRIAL.gated_phase),
            "reviewed_count": selectors.randomized_count(phase=reviewed),
            "checklist": _gate_checklist(selectors.gate_readiness()),
        },
    )


def _gate_checklist(readiness: selectors.GateReadiness) -> dict:
    """The readiness for the template: each participant's window with what it still needs."""
    return {
        "ready": readiness.ready,
        "strata": [{"stratum": TRIAL.stratum(s.stratum), "row": s} for s in readiness.strata],
        "participants": [
            {
                "row": p,
                "missing": "" if p.window.complete else services.safety_window_missing(p.window),
            }
            for p in readiness.participants
        ],
    }


# -- pharmacist ---------------------------------------------------------------------------------


@require_GET
@require("randomization.view_pharmacy", "randomization.view_allocation")
def pharmacy(request):
    return render(
        request,
        "randomization/pharmacy.html",
        {"rows": selectors.pharmacy_rows(request.user)},
    )


@require_GET
@require("randomization.view_pharmacy")
def pharmacy_queue(request):
    """Randomized participants not yet prepared, most urgent first; no arm on this page."""
    return render(
        request,
        "randomization/pharmacy_queue.html",
        {"rows": selectors.pharmacy_queue(request.user), "now": timezone.now()},
    )


def _pharmacy_randomization(request, study_id):
    return get_in_scope_or_404(
        Randomization.objects.select_related("participant__site", "slot"),
        request.user,
        site_path="participant__site",
        participant__study_id=study_id,
    )


@_POST_OR_GET
@require("randomization.view_pharmacy", "randomization.view_allocation")
def pharmacy_prepare(request, study_id: str):
    randomization = _pharmacy_randomization(request, study_id)
    preparation = getattr(randomization, "preparation", None)
    can_prepare = request.user.has_perm("randomization.add_preparation")
    form = PreparationForm(request.POST if "prepare" in request.POST else None)
    handover = HandoverForm(
        request.POST if "handover" in request.POST else None,
        edited_by=request.user,
        versioned=[preparation],
    )
    dose = None
    # The weight the dose is computed from: the Baseline CRF's (issue 18), shown, not typed.
    weight_kg = services.dosing_weight(randomization.participant)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            if "calculate" in request.POST:
                if weight_kg is None:
                    raise PreparationError(services._weight_missing())
                dose = services.dose_for(
                    slot=randomization.slot,
                    weight_kg=weight_kg,
                    concentration_million_per_ml=data["concentration_million_per_ml"],
                )
            elif can_prepare:
                services.preparation_record(randomization=randomization, user=request.user, **data)
                messages.success(request, _("Preparation recorded."))
                return redirect("randomization:pharmacy_prepare", study_id=study_id)
        except RandomizationError as error:
            _add_errors(form, error)
    if handover.is_bound and handover.is_valid() and preparation and can_prepare:
        try:
            services.handover_record(
                preparation=preparation,
                user=request.user,
                handed_over_to=handover.cleaned_data["handed_over_to"],
                opened_version=handover.opened_version(),
            )
        except EditConflict as conflict:
            handover.show_conflict(conflict)
            preparation.refresh_from_db()
        except RandomizationError as error:
            _add_errors(handover, error)
        else:
            messages.success(request, _("Hand-over recorded."))
            return redirect("randomization:pharmacy_prepare", study_id=study_id)
    return render(
        request,
        "randomization/pharmacy_prepare.html",
        {
            "randomization": randomization,
            "arm": TRIAL.arm(randomization.slot.arm),
            "active": randomization.slot.arm == TRIAL.arms[0].code,
            "preparation": preparation,
            "form": form,
            "handover": handover,
            "dose": dose,
            "weight_kg": weight_kg,
            "can_prepare": can_prepare,
            "dose_per_kg_million": TRIAL.dose_exosomes_per_kg // 1_000_000,
            "total_volume": TRIAL.dose_volume_ml,
            "use_before": services.label_use_before(preparation) if preparation else None,
        },
    )


@require_GET
@require("randomization.view_pharmacy", "randomization.view_allocation")
def pharmacy_label(request, study_id: str):
    """The syringe label: identical for both arms (no arm, no lot, no volume of product)."""
    randomization = _pharmacy_randomization(request, study_id)
    preparation = getattr(randomization, "preparation", None)
    return render(
        request,
        "randomization/pharmacy_label.html",
        {
            "randomization": randomization,
            "preparation": preparation,
            "use_before": services.label_use_before(preparation) if preparation else None,
        },
    )


@require_GET
@require("randomization.view_pharmacy", "randomization.view_allocation")
def pharmacy_pdf(request):
    rows = list(selectors.pharmacy_rows(request.user))
    body = pdf.pharmacy_list(rows=rows, user=request.user)
    sensitive_read_record(request=request, what="pharmacy_pdf", rows=len(rows))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="pharmacy-list.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# -- database lock and trial-level unblinding ---------------------------------------------------


@_POST_OR_GET
@require("randomization.confirm_trial_unblinding")
@rate_limit("unblinding")
def trial_unblinding(request):
    form = PasswordConfirmForm(
        request.POST if "confirm" in request.POST else None, user=request.user
    )
    if form.is_bound and form.is_valid():
        if not _password_confirmed(request, form.cleaned_data["password"]):
            form.add_error("password", _("The password is not correct; nothing was confirmed."))
        elif twofactor.confirm(request, form, purpose="trial unblinding"):
            try:
                services.trial_unblinding_confirm(
                    user=request.user, password=form.cleaned_data["password"]
                )
            except RandomizationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("Your confirmation is recorded."))
                return redirect("randomization:trial_unblinding")
    return render(
        request,
        "randomization/trial_unblinding.html",
        {
            "form": form,
            "locked": selectors.database_locked(),
            "unblinding": selectors.trial_unblinding(),
            "can_lock": request.user.has_perm("datamanagement.lock_data"),
        },
    )
